"""Per-frame values -> checked columns -> the open ``data/`` parquet file.

The writer takes values as a recorder has them (one frame, or a whole episode of arrays;
cameras channel-last or channel-first) and must refuse a wrong one before anything is
written. These functions check a value against its feature and bring it to the stored
form: cameras uint8 ``[H, W, 3]``, other features their dtype and shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def frame_value(key: str, ft: Mapping[str, Any], hwc: tuple[int, int, int] | None,
                value: Any) -> np.ndarray:
    """One frame's value of feature ``key`` in its stored form, or a ``ValueError``."""
    if ft["dtype"] == "video":
        assert hwc is not None
        img = np.asarray(value)
        h, w, c = hwc
        if img.shape == (c, h, w) and img.shape != (h, w, c):
            img = np.transpose(img, (1, 2, 0))
        if img.shape != (h, w, c) or img.dtype != np.uint8:
            raise ValueError(f"camera {key!r}: frame {img.dtype} {img.shape}, expected "
                             f"uint8 {(h, w, c)} or {(c, h, w)}")
        return img
    arr = np.asarray(value, dtype=ft["dtype"])
    shape = tuple(ft["shape"])
    if arr.shape != shape and not (shape == (1,) and arr.shape == ()):
        raise ValueError(f"feature {key!r}: value of shape {arr.shape}, expected {shape}")
    return arr.reshape(shape)


def episode_column(key: str, ft: Mapping[str, Any], hwc: tuple[int, int, int] | None,
                   value: Any, n: int) -> np.ndarray:
    """A whole episode's column ``[n, ...]`` of feature ``key`` in its stored form."""
    if ft["dtype"] == "video":
        assert hwc is not None
        arr = np.asarray(value)
        h, w, c = hwc
        if arr.shape[1:] == (c, h, w) and arr.shape[1:] != (h, w, c):
            arr = np.transpose(arr, (0, 2, 3, 1))
        if arr.shape != (n, h, w, c) or arr.dtype != np.uint8:
            raise ValueError(f"camera {key!r}: frames {arr.dtype} {arr.shape}, expected "
                             f"uint8 {(n, h, w, c)}")
        return arr
    arr = np.asarray(value)
    shape = tuple(ft["shape"])
    if arr.shape == (n,) and shape == (1,):
        arr = arr.reshape(n, 1)
    if arr.shape != (n, *shape):
        raise ValueError(f"feature {key!r}: column of shape {arr.shape}, expected "
                         f"{(n, *shape)}")
    if not np.can_cast(arr.dtype, ft["dtype"], casting="same_kind") and not (
            ft["dtype"] == "bool" and np.issubdtype(arr.dtype, np.integer)):
        raise ValueError(f"feature {key!r}: dtype {arr.dtype} does not fit {ft['dtype']}")
    return arr.astype(ft["dtype"], copy=False)


def arrow_table(columns: Mapping[str, np.ndarray], features: Mapping[str, Mapping[str, Any]],
                schema: pa.Schema) -> pa.Table:
    """The data rows of one episode as an arrow table of ``schema`` (fixed-size lists for
    vectors, built from the flat buffer without a Python loop)."""
    arrays = []
    for field in schema:
        ft = features[field.name]
        values = np.ascontiguousarray(columns[field.name], dtype=ft["dtype"])
        if pa.types.is_fixed_size_list(field.type) and len(ft["shape"]) == 1:
            flat = pa.array(values.reshape(-1), type=field.type.value_type)
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, ft["shape"][0]))
        else:
            arrays.append(pa.array(values, type=field.type))
    return pa.Table.from_arrays(arrays, schema=schema)


class DataFile:
    """The open ``data/`` parquet file: one row group per episode; the footer on close."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.sink = pa.OSFile(str(path), "wb")
        self.writer = pq.ParquetWriter(self.sink, schema, compression="snappy",
                                       use_dictionary=True)
        self.rows = 0

    @property
    def nbytes(self) -> int:
        """Bytes written so far (what the size cap is checked against)."""
        return int(self.sink.tell())

    def write(self, table: pa.Table) -> None:
        self.writer.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        try:
            self.writer.close()
        finally:
            self.sink.close()
