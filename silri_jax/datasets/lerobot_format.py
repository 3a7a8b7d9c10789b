"""LeRobotDataset v3.0 layout: paths, ``info.json``, feature specs and metadata files.

What LeRobot 0.4.x writes and reads (``lerobot/datasets/utils.py``), in one place so the
writer, the reader and the validator agree on it:

- ``meta/info.json``: codebase version, totals, file caps, fps, path templates, features;
- ``meta/stats.json``: dataset statistics (``lerobot_stats.py``);
- ``meta/tasks.parquet``: one row per task; the task text is the pandas index;
- ``meta/episodes/chunk-XXX/file-XXX.parquet``: one row per episode;
- ``data/chunk-XXX/file-XXX.parquet``: one row per frame, several episodes per file;
- ``videos/<key>/chunk-XXX/file-XXX.mp4``: one stream per camera, episodes concatenated.

A file index counts up to ``chunks_size - 1`` and then the chunk index moves on
(``update_chunk_file_indices`` in LeRobot).
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from silri_jax.datasets.errors import DatasetError, where

CODEBASE_VERSION = "v3.0"
DEFAULT_CHUNK_SIZE = 1000
DEFAULT_DATA_FILE_SIZE_IN_MB = 100
DEFAULT_VIDEO_FILE_SIZE_IN_MB = 200

INFO_PATH = "meta/info.json"
STATS_PATH = "meta/stats.json"
TASKS_PATH = "meta/tasks.parquet"
EPISODES_DIR = "meta/episodes"
CHUNK_FILE_PATTERN = "chunk-{chunk_index:03d}/file-{file_index:03d}"
EPISODES_PATH = EPISODES_DIR + "/" + CHUNK_FILE_PATTERN + ".parquet"
DATA_PATH = "data/" + CHUNK_FILE_PATTERN + ".parquet"
VIDEO_PATH = "videos/{video_key}/" + CHUNK_FILE_PATTERN + ".mp4"

# Every LeRobot dataset carries these per-frame columns, after the user's features.
DEFAULT_FEATURES: dict[str, dict[str, Any]] = {
    "timestamp": {"dtype": "float32", "shape": (1,), "names": None},
    "frame_index": {"dtype": "int64", "shape": (1,), "names": None},
    "episode_index": {"dtype": "int64", "shape": (1,), "names": None},
    "index": {"dtype": "int64", "shape": (1,), "names": None},
    "task_index": {"dtype": "int64", "shape": (1,), "names": None},
}
VISUAL_DTYPES = ("video", "image")
IMAGE_NAMES_HWC = ["height", "width", "channels"]
IMAGE_NAMES_CHW = ["channels", "height", "width"]

INFO_REQUIRED = (
    "codebase_version", "total_episodes", "total_frames", "total_tasks", "chunks_size", "fps",
    "data_path", "features",
)


def next_chunk_file(chunk_index: int, file_index: int, chunks_size: int) -> tuple[int, int]:
    """The (chunk, file) after this one: ``chunks_size`` files per chunk directory."""
    if file_index >= chunks_size - 1:
        return chunk_index + 1, 0
    return chunk_index, file_index + 1


# ----------------------------------------------------------------------------- features


def image_hwc(key: str, feature: Mapping[str, Any]) -> tuple[int, int, int]:
    """(height, width, channels) of a camera feature, read through its ``names``.

    LeRobot stores either ``["height", "width", "channels"]`` (its recorders) or
    ``["channels", "height", "width"]`` (its HIL-SERL recorder); ``names`` says which. A
    feature without names is taken as channel-last unless its first axis is 1 or 3 and the
    last is not.
    """
    shape = tuple(int(s) for s in feature["shape"])
    if len(shape) != 3:
        raise DatasetError(f"feature {key!r}: camera shape {list(shape)} is not 3-D")
    names = feature.get("names")
    if isinstance(names, Sequence) and not isinstance(names, str) and len(names) == 3:
        first = str(names[0]).lower()
        if first in ("channel", "channels", "c"):
            return shape[1], shape[2], shape[0]
        if str(names[2]).lower() in ("channel", "channels", "c"):
            return shape
    if shape[0] in (1, 3) and shape[2] not in (1, 3):
        return shape[1], shape[2], shape[0]
    return shape


def with_default_features(features: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """The user's features followed by LeRobot's default columns, shapes as tuples."""
    out: dict[str, dict[str, Any]] = {}
    for key, ft in features.items():
        if "/" in key:
            raise ValueError(f"feature name {key!r} must not contain '/' (LeRobot forbids it)")
        if key in DEFAULT_FEATURES:
            continue
        if "dtype" not in ft or "shape" not in ft:
            raise ValueError(f"feature {key!r} needs 'dtype' and 'shape', got {dict(ft)}")
        spec = {"dtype": str(ft["dtype"]), "shape": tuple(int(s) for s in ft["shape"]),
                "names": ft.get("names")}
        if spec["dtype"] not in VISUAL_DTYPES and spec["dtype"] != "string":
            np.dtype(spec["dtype"])  # raises TypeError on a dtype numpy does not know
        if "info" in ft:
            spec["info"] = dict(ft["info"])
        out[key] = spec
    out.update({k: dict(v) for k, v in DEFAULT_FEATURES.items()})
    return out


def arrow_type(feature: Mapping[str, Any]) -> pa.DataType:
    """The parquet column type LeRobot (through HF ``datasets``) writes for a feature."""
    shape = tuple(feature["shape"])
    value = pa.from_numpy_dtype(np.dtype(feature["dtype"]))
    if shape == (1,):
        return value
    if len(shape) == 1:
        return pa.list_(value, shape[0])
    inner: pa.DataType = value
    for n in reversed(shape):
        inner = pa.list_(inner, n)
    return inner


def hf_feature(feature: Mapping[str, Any]) -> dict[str, Any]:
    """The HF ``datasets`` feature JSON stored in the parquet schema metadata."""
    shape = tuple(feature["shape"])
    value = {"dtype": feature["dtype"], "_type": "Value"}
    if shape == (1,):
        return value
    if len(shape) == 1:
        return {"feature": value, "length": shape[0], "_type": "List"}
    kind = {2: "Array2D", 3: "Array3D", 4: "Array4D", 5: "Array5D"}.get(len(shape))
    if kind is None:
        raise ValueError(f"feature shape {list(shape)} has more than 5 axes")
    return {"shape": list(shape), "dtype": feature["dtype"], "_type": kind}


def data_schema(features: Mapping[str, Mapping[str, Any]]) -> pa.Schema:
    """Schema of the ``data/`` parquet files: every non-visual feature, in feature order."""
    fields, hf = [], {}
    for key, ft in features.items():
        if ft["dtype"] in VISUAL_DTYPES:
            continue
        if ft["dtype"] == "string":
            fields.append(pa.field(key, pa.string()))
            hf[key] = {"dtype": "string", "_type": "Value"}
            continue
        fields.append(pa.field(key, arrow_type(ft)))
        hf[key] = hf_feature(ft)
    meta = {b"huggingface": json.dumps({"info": {"features": hf}}).encode()}
    return pa.schema(fields, metadata=meta)


def column_to_numpy(column: pa.ChunkedArray | pa.Array, feature: Mapping[str, Any]) -> np.ndarray:
    """A data column as ``[rows, *shape]`` (``[rows]`` for shape ``(1,)``) of its dtype."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    shape = tuple(feature["shape"])
    dtype = np.dtype(feature["dtype"])
    n = len(arr)
    if shape == (1,):
        if pa.types.is_list(arr.type) or pa.types.is_fixed_size_list(arr.type):
            arr = arr.flatten()
        return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=dtype).reshape(n)
    flat = arr
    for _ in shape:
        flat = flat.flatten()
    values = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=dtype)
    return values.reshape((n, *shape))


# ----------------------------------------------------------------------------- info.json


def new_info(
    fps: int,
    features: Mapping[str, Mapping[str, Any]],
    robot_type: str | None,
    chunks_size: int,
    data_files_size_in_mb: float,
    video_files_size_in_mb: float,
) -> dict[str, Any]:
    """An empty dataset's ``info.json`` with LeRobot's keys, in LeRobot's order."""
    has_video = any(ft["dtype"] == "video" for ft in features.values())
    return {
        "codebase_version": CODEBASE_VERSION,
        "robot_type": robot_type,
        "total_episodes": 0,
        "total_frames": 0,
        "total_tasks": 0,
        "chunks_size": int(chunks_size),
        "data_files_size_in_mb": data_files_size_in_mb,
        "video_files_size_in_mb": video_files_size_in_mb,
        "fps": int(fps),
        "splits": {},
        "data_path": DATA_PATH,
        "video_path": VIDEO_PATH if has_video else None,
        "features": {k: {**v, "shape": list(v["shape"])} for k, v in features.items()},
    }


def read_info(root: Path) -> dict[str, Any]:
    """``meta/info.json``, checked for the keys and version this package understands."""
    path = root / INFO_PATH
    if not path.is_file():
        raise where(path, "missing (not a LeRobot v3 dataset, or an unfinished one)")
    try:
        info = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise where(path, f"not valid JSON: {e}") from None
    if not isinstance(info, dict):
        raise where(path, f"holds a {type(info).__name__}, expected a JSON object")
    missing = [k for k in INFO_REQUIRED if k not in info]
    if missing:
        raise where(path, f"lacks the keys {missing}")
    version = str(info["codebase_version"])
    if not version.startswith("v3."):
        raise where(path, f"codebase_version is {version!r}; only LeRobot v3.x datasets are read "
                          "(convert older ones with LeRobot's convert_dataset_v21_to_v30)")
    feats = info["features"]
    if not isinstance(feats, dict) or not feats:
        raise where(path, "'features' is not a non-empty object")
    for key, ft in feats.items():
        if not isinstance(ft, dict) or "dtype" not in ft or "shape" not in ft:
            raise where(path, f"feature {key!r} lacks 'dtype' or 'shape'")
        ft["shape"] = tuple(int(s) for s in ft["shape"])
    for key in ("total_episodes", "total_frames", "total_tasks", "chunks_size", "fps"):
        if not isinstance(info[key], int | float) or info[key] < 0:
            raise where(path, f"{key} is {info[key]!r}, expected a non-negative number")
    if any(ft["dtype"] == "video" for ft in feats.values()) and not info.get("video_path"):
        raise where(path, "has video features but no 'video_path'")
    return info


# ----------------------------------------------------------------------------- files


def write_json_atomic(path: Path, data: Any) -> None:
    """Writes JSON as LeRobot does (indent 4, UTF-8) through a temp file and a rename, so a
    crash leaves the old or the new file, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(data, indent=4, ensure_ascii=False)
    _write_atomic(path, text.encode("utf-8"))


def _write_atomic(path: Path, payload: bytes) -> None:
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    """A whole (small) parquet file written to a temp name and renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix="." + path.name + ".", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        pq.write_table(table, tmp, compression="snappy", use_dictionary=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_parquet(path: Path, columns: Sequence[str] | None = None) -> pa.Table:
    """A parquet file, or a :class:`DatasetError` naming it (missing, no footer, corrupt)."""
    if not path.is_file():
        raise where(path, "missing")
    try:
        return pq.read_table(path, columns=list(columns) if columns is not None else None)
    except (pa.ArrowException, OSError, ValueError) as e:
        raise where(path, f"unreadable parquet ({_short(e)}); the file is truncated or corrupt, "
                          "or the writer was not finalized") from None


def parquet_rows(path: Path) -> int:
    """Row count from the footer alone (the cheap readability check)."""
    try:
        return pq.read_metadata(path).num_rows
    except (pa.ArrowException, OSError, ValueError) as e:
        raise where(path, f"unreadable parquet footer ({_short(e)}); the file is truncated or "
                          "corrupt, or the writer was not finalized") from None


def _short(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def tasks_table(tasks: Sequence[str]) -> pa.Table:
    """``meta/tasks.parquet`` as pandas writes LeRobot's DataFrame: ``task_index`` plus the
    task text as the (unnamed) index, so ``pd.read_parquet`` gives back the same frame."""
    pandas_meta = {
        "index_columns": ["__index_level_0__"],
        "column_indexes": [{"name": None, "field_name": None, "pandas_type": "unicode",
                            "numpy_type": "object", "metadata": {"encoding": "UTF-8"}}],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64",
             "numpy_type": "int64", "metadata": None},
            {"name": None, "field_name": "__index_level_0__", "pandas_type": "unicode",
             "numpy_type": "object", "metadata": None},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": "2.2.3",
    }
    schema = pa.schema(
        [pa.field("task_index", pa.int64()), pa.field("__index_level_0__", pa.string())],
        metadata={b"pandas": json.dumps(pandas_meta).encode()},
    )
    return pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()),
                     "__index_level_0__": pa.array(list(tasks), pa.string())}, schema=schema)


def read_tasks(root: Path) -> list[str]:
    """Task texts ordered by ``task_index`` (index 0 first)."""
    path = root / TASKS_PATH
    table = read_parquet(path)
    names = table.column_names
    text_col = next((c for c in ("__index_level_0__", "task") if c in names), None)
    if "task_index" not in names or text_col is None:
        raise where(path, f"columns {names} lack 'task_index' and the task text")
    idx = table.column("task_index").to_pylist()
    text = table.column(text_col).to_pylist()
    out = [""] * len(idx)
    for i, t in zip(idx, text, strict=True):
        if not isinstance(i, int) or not 0 <= i < len(idx):
            raise where(path, f"task_index {i!r} is not in 0..{len(idx) - 1}")
        out[i] = str(t)
    return out


def episode_files(root: Path) -> list[Path]:
    """The episode-metadata parquet files in (chunk, file) order."""
    return sorted((root / EPISODES_DIR).glob("chunk-*/file-*.parquet"))


def read_episodes(root: Path, columns: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """All rows of ``meta/episodes``, sorted by ``episode_index``."""
    files = episode_files(root)
    if not files:
        raise where(root / EPISODES_DIR, "holds no episode parquet files")
    rows: list[dict[str, Any]] = []
    for path in files:
        table = read_parquet(path)
        if columns is not None:
            missing = [c for c in columns if c not in table.column_names]
            if missing:
                raise where(path, f"lacks the columns {missing}")
            table = table.select(list(columns))
        else:
            keep = [c for c in table.column_names if not c.startswith("stats/")]
            table = table.select(keep)
        rows.extend(table.to_pylist())
    rows.sort(key=lambda r: r.get("episode_index", -1))
    return rows
