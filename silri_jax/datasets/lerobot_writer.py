"""Writes LeRobotDataset v3.0 folders that LeRobot 0.4 loads (no torch, no pandas).

Usage::

    features = {"observation.state": {"dtype": "float32", "shape": (18,), "names": None},
                "observation.images.front": {"dtype": "video", "shape": (128, 128, 3),
                                             "names": ["height", "width", "channels"]},
                "action": {"dtype": "float32", "shape": (7,), "names": None}}
    with LeRobotWriter(root, fps=30, features=features) as w:
        for frame in frames:
            w.add_frame(frame, task="pick the cube")
        w.save_episode()
        w.add_episode(columns, task="pick the cube")   # or a whole episode at once

Files are size-capped like LeRobot's: a data or video file takes episodes until the next
one would pass ``data_files_size_in_mb`` / ``video_files_size_in_mb``, then the next file
index starts (a new chunk directory every ``chunks_size`` files). The next episode's size
is estimated from the bytes per row or per frame so far, as LeRobot does for data files; a
video encoder still holding frames back counts them at that rate, and a file stays open
until its encoder has output something (so the caps are approximate, as LeRobot's are).

Interruption. An episode is held in memory until ``save_episode``; only then are its rows,
frames and metadata written (with Ctrl-C held back until all of them are, see
``interrupts.py``), and ``meta/episodes``, ``meta/info.json``, ``meta/stats.json``
and ``meta/tasks.parquet`` are rewritten (atomically) after every episode. The open data
and video files get their footer and index in :meth:`finalize`, which the context manager
runs on any exit, including an exception or KeyboardInterrupt in the middle of an episode,
and which an ``atexit`` hook runs for every writer still open when the interpreter exits.
The unfinished episode is dropped; every saved one stays readable. A process killed
outright (SIGKILL, power loss) cannot finalize: its open files are then unreadable, as
LeRobot's would be.
"""

from __future__ import annotations

import atexit
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np
import pyarrow as pa

from silri_jax.datasets import lerobot_stats as stats_lib
from silri_jax.datasets.interrupts import deferred_sigint
from silri_jax.datasets.lerobot_columns import DataFile, arrow_table, episode_column, frame_value
from silri_jax.datasets.lerobot_format import (
    DATA_PATH,
    DEFAULT_CHUNK_SIZE,
    DEFAULT_DATA_FILE_SIZE_IN_MB,
    DEFAULT_FEATURES,
    DEFAULT_VIDEO_FILE_SIZE_IN_MB,
    EPISODES_PATH,
    INFO_PATH,
    STATS_PATH,
    TASKS_PATH,
    VIDEO_PATH,
    data_schema,
    image_hwc,
    new_info,
    next_chunk_file,
    tasks_table,
    with_default_features,
    write_json_atomic,
    write_parquet_atomic,
)
from silri_jax.datasets.lerobot_video import (
    DEFAULT_CRF,
    DEFAULT_GOP,
    VideoFileEncoder,
    can_encode,
    codec_options,
    default_codec,
    encodable_codecs,
    video_info,
)

_MB = 1024 * 1024
_OPEN_WRITERS: set[LeRobotWriter] = set()
_OPEN_LOCK = threading.Lock()


def _finalize_open_writers() -> None:
    """``atexit``: finalizes every writer the program left open."""
    with _OPEN_LOCK:
        writers = list(_OPEN_WRITERS)
    for writer in writers:
        try:
            writer.finalize()
        except Exception as e:  # keep finalizing the others
            print(f"silri_jax.datasets: could not finalize {writer.root}: {e}")


atexit.register(_finalize_open_writers)


class LeRobotWriter:
    """Creates a LeRobotDataset v3.0 under ``root`` (which must not exist or be empty).

    Args:
        root: dataset folder.
        fps: frames per second of every episode (LeRobot's ``fps``, an integer).
        features: LeRobot feature specs (``dtype``, ``shape``, ``names``) of the per-frame
            columns; cameras have dtype ``"video"``. ``timestamp``, ``frame_index``,
            ``episode_index``, ``index`` and ``task_index`` are added.
        robot_type: stored in ``info.json``.
        chunks_size: files per chunk directory.
        data_files_size_in_mb, video_files_size_in_mb: caps that start a new file.
        vcodec: video encoder (default :func:`lerobot_video.default_codec`).
        crf: encoder quality (lower is better; LeRobot's default 30).
        gop: frames between keyframes (LeRobot's ``g``, 2).
        preset: SVT-AV1 or x264 speed preset (None: LeRobot's 12 for SVT-AV1).
    """

    def __init__(
        self,
        root: str | Path,
        fps: int,
        features: Mapping[str, Mapping[str, Any]],
        *,
        robot_type: str | None = None,
        chunks_size: int = DEFAULT_CHUNK_SIZE,
        data_files_size_in_mb: float = DEFAULT_DATA_FILE_SIZE_IN_MB,
        video_files_size_in_mb: float = DEFAULT_VIDEO_FILE_SIZE_IN_MB,
        vcodec: str | None = None,
        crf: int | None = DEFAULT_CRF,
        gop: int = DEFAULT_GOP,
        preset: int | None = None,
    ) -> None:
        if isinstance(fps, bool) or int(fps) != fps or fps <= 0:
            raise ValueError(f"fps must be a positive integer, got {fps!r}")
        if chunks_size < 1 or data_files_size_in_mb <= 0 or video_files_size_in_mb <= 0:
            raise ValueError("chunks_size and the file size caps must be positive")
        if gop < 1:
            raise ValueError(f"gop must be >= 1, got {gop}")
        self.root = Path(root)
        if self.root.exists() and (not self.root.is_dir() or any(self.root.iterdir())):
            raise FileExistsError(f"{self.root}: exists and is not an empty directory")
        self.fps = int(fps)
        self.features = with_default_features(features)
        for key, ft in self.features.items():
            if ft["dtype"] == "image":
                raise ValueError(f"feature {key!r}: dtype 'image' (PNG frames in parquet) is "
                                 "not written here; use 'video'")
            if ft["dtype"] == "string":
                raise ValueError(f"feature {key!r}: string columns are not written here (the "
                                 "task text goes in 'task')")
            if ft["dtype"] != "video" and len(ft["shape"]) != 1:
                raise ValueError(f"feature {key!r}: shape {list(ft['shape'])}; only scalar "
                                 "(1,) and vector (d,) columns are written here")
        self.camera_keys = [k for k, ft in self.features.items() if ft["dtype"] == "video"]
        self._hwc = {k: image_hwc(k, self.features[k]) for k in self.camera_keys}
        for key, (h, w, c) in self._hwc.items():
            if c != 3:
                raise ValueError(f"camera {key!r} has {c} channels; only RGB (3) is supported")
            if h % 2 or w % 2:
                raise ValueError(f"camera {key!r} is {h}x{w}; yuv420p video needs even sides")
        self.vcodec = vcodec or (default_codec() if self.camera_keys else "none")
        if self.camera_keys and not can_encode(self.vcodec):
            raise ValueError(f"video codec {self.vcodec!r} is not one this PyAV can encode "
                             f"(try one of {encodable_codecs()})")
        self._codec_options = codec_options(self.vcodec, gop, crf, preset)
        self.chunks_size = int(chunks_size)
        self.data_cap = float(data_files_size_in_mb) * _MB
        self.video_cap = float(video_files_size_in_mb) * _MB
        self.info = new_info(self.fps, self.features, robot_type, self.chunks_size,
                             data_files_size_in_mb, video_files_size_in_mb)
        self.tasks: list[str] = []
        self.stats: stats_lib.Stats | None = None
        self._schema = data_schema(self.features)
        self._buffer: dict[str, list[Any]] = {}
        self._buffer_tasks: list[str] = []
        self._data: DataFile | None = None
        self._data_loc = (0, 0)
        self._videos: dict[str, VideoFileEncoder] = {}
        self._video_loc = dict.fromkeys(self.camera_keys, (0, 0))
        self._meta_rows: list[dict[str, Any]] = []
        self._meta_loc = (0, 0)
        self._finalized = False
        self.root.mkdir(parents=True, exist_ok=True)
        write_json_atomic(self.root / INFO_PATH, self.info)
        with _OPEN_LOCK:
            _OPEN_WRITERS.add(self)

    # ------------------------------------------------------------------ properties
    @property
    def num_episodes(self) -> int:
        return int(self.info["total_episodes"])

    @property
    def num_frames(self) -> int:
        return int(self.info["total_frames"])

    @property
    def pending_frames(self) -> int:
        """Frames added to the episode in progress (not on disk until ``save_episode``)."""
        return len(self._buffer_tasks)

    # ------------------------------------------------------------------ adding data
    def _user_keys(self) -> list[str]:
        return [k for k in self.features if k not in DEFAULT_FEATURES]

    def add_frame(self, frame: Mapping[str, Any], task: str | None = None) -> None:
        """Buffers one frame of the current episode (``task`` here or as ``frame["task"]``)."""
        self._check_open()
        task = task if task is not None else frame.get("task")
        if not isinstance(task, str):
            raise ValueError("add_frame needs the task text (task=... or frame['task'])")
        keys = set(frame) - {"task", "timestamp"}
        expected = set(self._user_keys())
        if keys != expected:
            raise ValueError(f"frame keys differ from the features: missing "
                             f"{sorted(expected - keys)}, unexpected {sorted(keys - expected)}")
        for key in self._user_keys():
            value = frame_value(key, self.features[key], self._hwc.get(key), frame[key])
            self._buffer.setdefault(key, []).append(value)
        if "timestamp" in frame:
            self._buffer.setdefault("timestamp", []).append(float(frame["timestamp"]))
        elif "timestamp" in self._buffer:
            raise ValueError("give 'timestamp' in every frame of an episode or in none")
        self._buffer_tasks.append(task)

    def discard_episode(self) -> None:
        """Drops the frames of the episode in progress."""
        self._buffer.clear()
        self._buffer_tasks.clear()

    def save_episode(self) -> int:
        """Writes the buffered episode; returns its ``episode_index``."""
        self._check_open()
        if not self._buffer_tasks:
            raise ValueError("save_episode: no frames were added")
        columns = {k: np.stack(v) for k, v in self._buffer.items()}
        tasks = list(self._buffer_tasks)
        self.discard_episode()
        return self._write_episode(columns, tasks)

    def add_episode(self, columns: Mapping[str, Any], task: str | Sequence[str]) -> int:
        """Writes a whole episode given as arrays with a leading time axis.

        ``columns`` holds every feature (cameras ``[T, H, W, 3]`` or ``[T, 3, H, W]``
        uint8; scalars ``[T]`` or ``[T, 1]``) and optionally ``timestamp``; ``task`` is one
        text or one per frame. Returns the new ``episode_index``.
        """
        self._check_open()
        if self._buffer_tasks:
            raise ValueError("add_episode: an episode is in progress (save or discard it)")
        keys = set(columns) - {"timestamp"}
        expected = set(self._user_keys())
        if keys != expected:
            raise ValueError(f"episode columns differ from the features: missing "
                             f"{sorted(expected - keys)}, unexpected {sorted(keys - expected)}")
        lengths = {k: len(columns[k]) for k in columns}
        n = next(iter(lengths.values()))
        if n < 1 or any(v != n for v in lengths.values()):
            raise ValueError(f"episode columns need one equal, positive length: {lengths}")
        out: dict[str, np.ndarray] = {}
        for key in self._user_keys():
            out[key] = episode_column(key, self.features[key], self._hwc.get(key),
                                      columns[key], n)
        if "timestamp" in columns:
            out["timestamp"] = np.asarray(columns["timestamp"], np.float64).reshape(n)
        tasks = [task] * n if isinstance(task, str) else [str(t) for t in task]
        if len(tasks) != n:
            raise ValueError(f"{len(tasks)} tasks for an episode of {n} frames")
        return self._write_episode(out, tasks)

    # ------------------------------------------------------------------ writing
    def _write_episode(self, columns: dict[str, np.ndarray], tasks: list[str]) -> int:
        n = len(tasks)
        ep = self.num_episodes
        start = self.num_frames
        # Everything that can fail on bad input happens before the first write.
        for key in self._user_keys():
            ft = self.features[key]
            if ft["dtype"] != "video" and tuple(ft["shape"]) == (1,):
                columns[key] = columns[key].reshape(n)
            if ft["dtype"] in ("float32", "float64") and not np.all(np.isfinite(columns[key])):
                raise ValueError(f"episode {ep}: feature {key!r} holds NaN or infinite values")
        new_tasks = [t for t in dict.fromkeys(tasks) if t not in self.tasks]
        task_ids = {t: i for i, t in enumerate(self.tasks + new_tasks)}
        stamps = columns.pop("timestamp", None)
        # float64 like LeRobot's buffer (its statistics see these), float32 in the file.
        columns["timestamp"] = (np.asarray(stamps, np.float64) if stamps is not None
                                else np.arange(n) / self.fps)
        columns["frame_index"] = np.arange(n, dtype=np.int64)
        columns["episode_index"] = np.full(n, ep, np.int64)
        columns["index"] = np.arange(start, start + n, dtype=np.int64)
        columns["task_index"] = np.array([task_ids[t] for t in tasks], np.int64)
        ep_stats = stats_lib.episode_stats(columns, self.features)
        table = arrow_table(columns, self.features, self._schema)

        with deferred_sigint():
            self._commit_episode(ep, start, n, tasks, new_tasks, columns, table, ep_stats)
        return ep

    def _commit_episode(self, ep: int, start: int, n: int, tasks: list[str],
                        new_tasks: list[str], columns: dict[str, np.ndarray], table: pa.Table,
                        ep_stats: stats_lib.Stats) -> None:
        """Writes a prepared episode to every file; the only stretch that touches disk."""
        if new_tasks:
            self.tasks.extend(new_tasks)
            write_parquet_atomic(self.root / TASKS_PATH, tasks_table(self.tasks))
        row: dict[str, Any] = {"episode_index": ep, "tasks": list(dict.fromkeys(tasks)),
                               "length": n}
        row.update(self._write_data(table, start, n))
        for key in self.camera_keys:
            row.update(self._write_video(key, columns[key]))
        row.update(stats_lib.flat_columns(ep_stats))
        self._write_meta(row)

        info = self.info
        info["total_episodes"] = ep + 1
        info["total_frames"] = start + n
        info["total_tasks"] = len(self.tasks)
        info["splits"] = {"train": f"0:{ep + 1}"}
        write_json_atomic(self.root / INFO_PATH, info)
        self.stats = ep_stats if self.stats is None else stats_lib.aggregate(
            [self.stats, ep_stats])
        write_json_atomic(self.root / STATS_PATH, stats_lib.to_json(self.stats))

    def _write_data(self, table: pa.Table, start: int, n: int) -> dict[str, Any]:
        data = self._data
        if data is not None and data.rows:
            per_row = data.nbytes / data.rows
            if data.nbytes + per_row * n >= self.data_cap:
                data.close()
                self._data = data = None
                self._data_loc = next_chunk_file(*self._data_loc, self.chunks_size)
        if data is None:
            chunk, file = self._data_loc
            path = self.root / DATA_PATH.format(chunk_index=chunk, file_index=file)
            self._data = data = DataFile(path, self._schema)
        data.write(table)
        chunk, file = self._data_loc
        return {"data/chunk_index": chunk, "data/file_index": file,
                "dataset_from_index": start, "dataset_to_index": start + n}

    def _write_video(self, key: str, frames: np.ndarray) -> dict[str, Any]:
        enc = self._videos.get(key)
        if enc is not None and enc.frames_written:
            if enc.estimated_size(len(frames)) >= self.video_cap:
                enc.close()
                del self._videos[key]
                enc = None
                self._video_loc[key] = next_chunk_file(*self._video_loc[key], self.chunks_size)
        chunk, file = self._video_loc[key]
        if enc is None:
            h, w, _ = self._hwc[key]
            path = self.root / VIDEO_PATH.format(video_key=key, chunk_index=chunk,
                                                 file_index=file)
            enc = self._videos[key] = VideoFileEncoder(path, self.fps, h, w, self.vcodec,
                                                       self._codec_options)
            feature = self.info["features"][key]
            if "info" not in feature:
                feature["info"] = video_info(self.vcodec, h, w, self.fps)
        t0, t1 = enc.append(frames)
        return {f"videos/{key}/chunk_index": chunk, f"videos/{key}/file_index": file,
                f"videos/{key}/from_timestamp": t0, f"videos/{key}/to_timestamp": t1}

    def _write_meta(self, row: dict[str, Any]) -> None:
        rows = self._meta_rows
        path = self.root / EPISODES_PATH.format(chunk_index=self._meta_loc[0],
                                                file_index=self._meta_loc[1])
        if rows and path.is_file() and path.stat().st_size >= self.data_cap:
            self._meta_rows = rows = []
            self._meta_loc = next_chunk_file(*self._meta_loc, self.chunks_size)
            path = self.root / EPISODES_PATH.format(chunk_index=self._meta_loc[0],
                                                    file_index=self._meta_loc[1])
        row["meta/episodes/chunk_index"], row["meta/episodes/file_index"] = self._meta_loc
        rows.append(row)
        write_parquet_atomic(path, pa.Table.from_pylist(rows))

    # ------------------------------------------------------------------ lifetime
    def _check_open(self) -> None:
        if self._finalized:
            raise RuntimeError(f"{self.root}: the writer is finalized")

    def finalize(self) -> None:
        """Drops an unfinished episode and closes the open data and video files.

        Without it the newest data and video files have no footer or index and LeRobot
        cannot load the dataset. Idempotent; the context manager and an ``atexit`` hook
        call it.
        """
        if self._finalized:
            return
        self._finalized = True
        with _OPEN_LOCK:
            _OPEN_WRITERS.discard(self)
        self.discard_episode()
        errors: list[str] = []
        if self._data is not None:
            try:
                self._data.close()
            except Exception as e:  # close every file, then report
                errors.append(f"{self._data.path}: {e}")
            self._data = None
        for enc in self._videos.values():
            try:
                enc.close()
            except Exception as e:
                errors.append(f"{enc.path}: {e}")
        self._videos.clear()
        write_json_atomic(self.root / INFO_PATH, self.info)
        if errors:
            raise RuntimeError("finalize could not close: " + "; ".join(errors))

    def __enter__(self) -> LeRobotWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.finalize()

    def __repr__(self) -> str:
        return (f"LeRobotWriter({str(self.root)!r}, fps={self.fps}, episodes="
                f"{self.num_episodes}, frames={self.num_frames}, cameras={self.camera_keys})")
