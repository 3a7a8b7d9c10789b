"""Reads LeRobotDataset v3.0 folders (written here or by LeRobot) into numpy.

``LeRobotReader(root)`` reads the metadata at once and the data lazily: a data file's
table is read (memory-mapped) when one of its episodes is first asked for, and video files
stay open in a small cache, so random frame access decodes only from the nearest keyframe.

Cameras always come back as uint8 ``[H, W, 3]`` (one frame) or ``[T, H, W, 3]`` (an
episode); a feature's ``names`` say whether its stored shape is channel-first or -last.
A frame is looked up at ``from_timestamp + timestamp`` of its row, and any decoded frame
within half a frame period of that time is accepted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from silri_jax.datasets import lerobot_stats as stats_lib
from silri_jax.datasets.errors import DatasetError, where
from silri_jax.datasets.lerobot_format import (
    STATS_PATH,
    VISUAL_DTYPES,
    column_to_numpy,
    image_hwc,
    read_episodes,
    read_info,
    read_tasks,
)
from silri_jax.datasets.lerobot_video import DecoderCache

EPISODE_COLUMNS = ("episode_index", "length", "data/chunk_index", "data/file_index",
                   "dataset_from_index", "dataset_to_index")


class _DataFile:
    """One data parquet file's table and its sorted ``index`` column."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if not path.is_file():
            raise where(path, "missing data file")
        try:
            self.table = pq.read_table(path, memory_map=True)
        except (pa.ArrowException, OSError, ValueError) as e:
            raise where(path, f"unreadable parquet ({str(e).splitlines()[0]}); the file is "
                              "truncated or corrupt, or the writer was not finalized") from None
        if "index" not in self.table.column_names:
            raise where(path, "has no 'index' column")
        self.index = self.table.column("index").to_numpy()
        if len(self.index) and np.any(np.diff(self.index) != 1):
            raise where(path, "its 'index' column is not contiguous and increasing")

    def rows(self, first: int, count: int) -> pa.Table:
        if not len(self.index):
            raise where(self.path, "holds no rows")
        offset = int(first - self.index[0])
        if offset < 0 or offset + count > len(self.index):
            raise where(self.path, f"rows with index {first}..{first + count - 1} are not "
                                   f"in it (it holds {self.index[0]}..{self.index[-1]})")
        return self.table.slice(offset, count)


class LeRobotReader:
    """A LeRobotDataset v3.0 folder, read-only. Use as a context manager or ``close()``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        if not self.root.is_dir():
            raise where(self.root, "not a directory")
        self.info = read_info(self.root)
        self.features: dict[str, dict[str, Any]] = self.info["features"]
        self.fps = int(self.info["fps"])
        self.tasks = read_tasks(self.root)
        self.camera_keys = [k for k, ft in self.features.items() if ft["dtype"] == "video"]
        self.image_keys = [k for k, ft in self.features.items() if ft["dtype"] == "image"]
        cols = list(EPISODE_COLUMNS)
        for key in self.camera_keys:
            cols += [f"videos/{key}/{c}" for c in ("chunk_index", "file_index",
                                                   "from_timestamp", "to_timestamp")]
        self.episodes = read_episodes(self.root, cols)
        for i, ep in enumerate(self.episodes):
            if ep["episode_index"] != i:
                raise where(self.root / "meta/episodes",
                            f"episode_index {ep['episode_index']} where {i} was expected "
                            "(episodes must be numbered 0..N-1)")
        self._starts = np.array([ep["dataset_from_index"] for ep in self.episodes], np.int64)
        self._data: dict[Path, _DataFile] = {}
        self._videos = DecoderCache()
        self.tolerance_s = 0.5 / self.fps
        self._stats: stats_lib.Stats | None = None

    # ------------------------------------------------------------------ facts
    @property
    def num_episodes(self) -> int:
        return len(self.episodes)

    @property
    def num_frames(self) -> int:
        return int(self.episodes[-1]["dataset_to_index"]) if self.episodes else 0

    @property
    def stats(self) -> stats_lib.Stats | None:
        """``meta/stats.json`` as arrays (None when the file is absent)."""
        if self._stats is None:
            path = self.root / STATS_PATH
            if not path.is_file():
                return None
            try:
                self._stats = stats_lib.from_json(json.loads(path.read_text()))
            except (OSError, ValueError) as e:
                raise where(path, f"not valid JSON: {e}") from None
        return self._stats

    def episode_length(self, i: int) -> int:
        return int(self.episodes[self._check_episode(i)]["length"])

    def camera_shape(self, key: str) -> tuple[int, int, int]:
        """(height, width, channels) of a camera, read through the feature's names."""
        return image_hwc(key, self.features[key])

    # ------------------------------------------------------------------ data
    def _check_episode(self, i: int) -> int:
        if not 0 <= int(i) < self.num_episodes:
            raise IndexError(f"episode {i} out of range 0..{self.num_episodes - 1}")
        return int(i)

    def _data_file(self, ep: Mapping[str, Any]) -> _DataFile:
        path = self.root / self.info["data_path"].format(
            chunk_index=int(ep["data/chunk_index"]), file_index=int(ep["data/file_index"]))
        if path not in self._data:
            if len(self._data) >= 8:
                self._data.pop(next(iter(self._data)))
            self._data[path] = _DataFile(path)
        return self._data[path]

    def _video_path(self, ep: Mapping[str, Any], key: str) -> Path:
        return self.root / self.info["video_path"].format(
            video_key=key, chunk_index=int(ep[f"videos/{key}/chunk_index"]),
            file_index=int(ep[f"videos/{key}/file_index"]))

    def _columns(self, table: pa.Table, source: Path) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for key, ft in self.features.items():
            if ft["dtype"] in VISUAL_DTYPES:
                continue
            if key not in table.column_names:
                raise where(source, f"has no column {key!r} (a feature in info.json)")
            if ft["dtype"] == "string":
                out[key] = np.array(table.column(key).to_pylist(), dtype=np.str_)
                continue
            try:
                out[key] = column_to_numpy(table.column(key), ft)
            except (pa.ArrowException, ValueError) as e:
                raise where(source, f"column {key!r} does not match its feature "
                                    f"{ft['dtype']} {list(ft['shape'])}: {e}") from None
        return out

    def _images(self, ep: Mapping[str, Any], key: str, stamps: np.ndarray) -> np.ndarray:
        if key in self.image_keys:
            raise DatasetError(f"{self.root}: camera {key!r} is stored as PNG images in "
                               "parquet (dtype 'image'), which this reader does not decode")
        path = self._video_path(ep, key)
        t0 = float(ep[f"videos/{key}/from_timestamp"])
        frames = self._videos.get(path).frames_at(t0 + stamps.astype(np.float64),
                                                  self.tolerance_s)
        h, w, _ = self.camera_shape(key)
        if frames.shape[1:] != (h, w, 3):
            raise where(path, f"frames are {frames.shape[1:3]}, info.json says {(h, w)}")
        return frames

    def episode(self, i: int, cameras: bool = True) -> dict[str, np.ndarray]:
        """Every column of episode ``i`` (``[T]`` or ``[T, ...]``), its cameras decoded as
        ``[T, H, W, 3]`` uint8 unless ``cameras=False``, and ``task`` (text per frame)."""
        ep = self.episodes[self._check_episode(i)]
        data = self._data_file(ep)
        n = int(ep["dataset_to_index"]) - int(ep["dataset_from_index"])
        out = self._columns(data.rows(int(ep["dataset_from_index"]), n), data.path)
        if np.any(out["episode_index"] != i):
            raise where(data.path, f"rows of episode {i} carry other episode indices")
        out["task"] = np.array([self.task(t) for t in out["task_index"]], dtype=np.str_)
        if cameras:
            for key in self.camera_keys:
                out[key] = self._images(ep, key, out["timestamp"])
        return out

    def task(self, task_index: int) -> str:
        if not 0 <= int(task_index) < len(self.tasks):
            raise DatasetError(f"{self.root}: task_index {task_index} has no task in "
                               "meta/tasks.parquet")
        return self.tasks[int(task_index)]

    def frame(self, index: int) -> dict[str, Any]:
        """Row ``index`` of the dataset (0..num_frames-1) with its camera frames decoded."""
        if not 0 <= int(index) < self.num_frames:
            raise IndexError(f"frame {index} out of range 0..{self.num_frames - 1}")
        i = int(np.searchsorted(self._starts, index, side="right")) - 1
        ep = self.episodes[i]
        data = self._data_file(ep)
        cols = self._columns(data.rows(int(index), 1), data.path)
        out: dict[str, Any] = {k: v[0] for k, v in cols.items()}
        out["task"] = self.task(out["task_index"])
        for key in self.camera_keys:
            out[key] = self._images(ep, key, cols["timestamp"])[0]
        return out

    # ------------------------------------------------------------------ lifetime
    def close(self) -> None:
        self._videos.close()
        self._data.clear()

    def __enter__(self) -> LeRobotReader:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"LeRobotReader({str(self.root)!r}, episodes={self.num_episodes}, "
                f"frames={self.num_frames}, fps={self.fps}, cameras={self.camera_keys})")
