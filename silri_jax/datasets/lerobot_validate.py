"""Checks a LeRobotDataset v3.0 folder file by file, without decoding any image.

:func:`find_problems` lists every problem found, each naming its file and what is wrong;
:func:`validate` raises :class:`DatasetError` with them, or returns a summary. Checked:

- ``meta/info.json``: valid JSON, v3.x, required keys, features with dtype and shape;
- ``meta/tasks.parquet`` and ``meta/stats.json``: readable; the task count;
- ``meta/episodes``: readable footers, required columns, episodes numbered 0..N-1,
  ``length == dataset_to_index - dataset_from_index``, ranges that tile 0..total_frames;
- ``data/``: every file's footer; ``index`` contiguous from 0 across the files in (chunk,
  file) order; each episode's rows where its metadata says, with its ``episode_index``,
  ``frame_index`` 0..T-1 and timestamps ``frame_index / fps`` (within 1e-4 s, LeRobot's
  tolerance); the feature columns present;
- videos: every referenced file's packets (a truncated file loses them); each episode has
  exactly one frame per row in ``[from_timestamp, to_timestamp)``, each within half a frame
  period of ``from_timestamp + timestamp``, and ``to_timestamp`` within the file's duration.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq

from silri_jax.datasets.errors import DatasetError
from silri_jax.datasets.lerobot_format import (
    EPISODES_DIR,
    STATS_PATH,
    VISUAL_DTYPES,
    episode_files,
    parquet_rows,
    read_info,
    read_parquet,
    read_tasks,
)
from silri_jax.datasets.lerobot_video import probe

TIMESTAMP_TOLERANCE_S = 1e-4
_MAX_PER_KIND = 5


def _episodes(root: Path, info: dict[str, Any], problems: list[str]) -> list[dict[str, Any]]:
    files = episode_files(root)
    if not files:
        problems.append(f"{root / EPISODES_DIR}: holds no episode parquet files")
        return []
    cameras = [k for k, ft in info["features"].items() if ft["dtype"] == "video"]
    need = ["episode_index", "length", "data/chunk_index", "data/file_index",
            "dataset_from_index", "dataset_to_index"]
    for key in cameras:
        need += [f"videos/{key}/{c}" for c in ("chunk_index", "file_index", "from_timestamp",
                                               "to_timestamp")]
    rows: list[dict[str, Any]] = []
    for path in files:
        try:
            parquet_rows(path)
            table = read_parquet(path)
        except DatasetError as e:
            problems.append(str(e))
            continue
        missing = [c for c in need if c not in table.column_names]
        if missing:
            problems.append(f"{path}: lacks the columns {missing}")
            continue
        for row in table.select(need).to_pylist():
            row["_file"] = path
            rows.append(row)
    rows.sort(key=lambda r: r["episode_index"])
    expect_from = 0
    for i, row in enumerate(rows):
        src = row["_file"]
        if row["episode_index"] != i:
            problems.append(f"{src}: episode_index {row['episode_index']} where {i} was "
                            "expected (episodes must be numbered 0..N-1 without gaps)")
            return []
        lo, hi = row["dataset_from_index"], row["dataset_to_index"]
        if row["length"] != hi - lo or row["length"] < 1:
            problems.append(f"{src}: episode {i} has length {row['length']} but frames "
                            f"{lo}..{hi}")
        if lo != expect_from:
            problems.append(f"{src}: episode {i} starts at frame {lo}, expected {expect_from} "
                            "(episode ranges must follow each other)")
        expect_from = hi
    if len(rows) != info["total_episodes"]:
        problems.append(f"{root / 'meta/info.json'}: total_episodes is "
                        f"{info['total_episodes']} but meta/episodes holds {len(rows)}")
    if rows and expect_from != info["total_frames"]:
        problems.append(f"{root / 'meta/info.json'}: total_frames is {info['total_frames']} "
                        f"but the episodes end at frame {expect_from}")
    return rows


def _data(root: Path, info: dict[str, Any], episodes: list[dict[str, Any]],
          problems: list[str]) -> None:
    fps = float(info["fps"])
    files = sorted((root / "data").glob("chunk-*/file-*.parquet"))
    if not files:
        problems.append(f"{root / 'data'}: holds no data parquet files")
        return
    columns = [k for k, ft in info["features"].items() if ft["dtype"] not in VISUAL_DTYPES]
    tables: dict[Path, Any] = {}
    next_index = 0
    for path in files:
        try:
            parquet_rows(path)
            table = read_parquet(path, ["index", "episode_index", "frame_index", "timestamp"])
        except DatasetError as e:
            problems.append(str(e))
            continue
        names = pq.read_schema(path).names
        missing = [c for c in columns if c not in names]
        if missing:
            problems.append(f"{path}: lacks the feature columns {missing}")
        index = table.column("index").to_numpy()
        if len(index) and (index[0] != next_index or np.any(np.diff(index) != 1)):
            problems.append(f"{path}: 'index' is not contiguous (expected to start at "
                            f"{next_index} and count up by one)")
        next_index += len(index)
        tables[path] = table
    if next_index != info["total_frames"]:
        problems.append(f"{root / 'data'}: the data files hold {next_index} rows, info.json "
                        f"says total_frames is {info['total_frames']}")
    bad = 0
    for ep in episodes:
        path = root / info["data_path"].format(chunk_index=ep["data/chunk_index"],
                                               file_index=ep["data/file_index"])
        if path not in tables:
            if not path.is_file():
                problems.append(f"{path}: missing (episode {ep['episode_index']} is in it)")
            continue
        table = tables[path]
        index = table.column("index").to_numpy()
        lo, hi = ep["dataset_from_index"], ep["dataset_to_index"]
        sel = (index >= lo) & (index < hi)
        problem = None
        if int(sel.sum()) != hi - lo:
            problem = f"holds {int(sel.sum())} rows of episode {ep['episode_index']}, " \
                      f"its metadata says {hi - lo}"
        else:
            epi = table.column("episode_index").to_numpy()[sel]
            fi = table.column("frame_index").to_numpy()[sel]
            ts = table.column("timestamp").to_numpy()[sel].astype(np.float64)
            if np.any(epi != ep["episode_index"]):
                problem = f"rows {lo}..{hi - 1} carry episode_index values other than " \
                          f"{ep['episode_index']}"
            elif np.any(fi != np.arange(hi - lo)):
                problem = f"episode {ep['episode_index']}: frame_index is not 0..{hi - lo - 1}"
            elif np.any(np.abs(np.diff(ts) - 1.0 / fps) > TIMESTAMP_TOLERANCE_S):
                problem = f"episode {ep['episode_index']}: timestamps are not 1/fps apart"
        if problem:
            bad += 1
            if bad <= _MAX_PER_KIND:
                problems.append(f"{path}: {problem}")
        ep["_timestamps"] = (table.column("timestamp").to_numpy()[sel].astype(np.float64)
                             if not problem else None)


def _videos(root: Path, info: dict[str, Any], episodes: list[dict[str, Any]],
            problems: list[str]) -> None:
    fps = float(info["fps"])
    half = 0.5 / fps
    for key, ft in info["features"].items():
        if ft["dtype"] != "video":
            continue
        probes: dict[Path, Any] = {}
        bad = 0
        for ep in episodes:
            path = root / info["video_path"].format(
                video_key=key, chunk_index=ep[f"videos/{key}/chunk_index"],
                file_index=ep[f"videos/{key}/file_index"])
            if path not in probes:
                try:
                    probes[path] = probe(path)
                except DatasetError as e:
                    probes[path] = None
                    problems.append(str(e))
            facts = probes[path]
            if facts is None:
                continue
            t0 = float(ep[f"videos/{key}/from_timestamp"])
            t1 = float(ep[f"videos/{key}/to_timestamp"])
            n = ep["dataset_to_index"] - ep["dataset_from_index"]
            times = facts["times"]
            inside = times[(times >= t0 - half) & (times < t1 - half)]
            problem = None
            if len(inside) != n:
                problem = (f"episode {ep['episode_index']} has {len(inside)} frames in "
                           f"[{t0:.4f}, {t1:.4f}) s, its data has {n} rows (truncated file or "
                           "wrong timestamps)")
            elif t1 > facts["duration"] + half:
                problem = (f"episode {ep['episode_index']} ends at {t1:.4f} s, after the "
                           f"video's {facts['duration']:.4f} s")
            elif ep.get("_timestamps") is not None:
                want = t0 + ep["_timestamps"]
                near = np.abs(inside - want).max() if n else 0.0
                if near > half:
                    problem = (f"episode {ep['episode_index']}: a frame is {near * 1000:.1f} ms "
                               "from its row's timestamp")
            if problem:
                bad += 1
                if bad <= _MAX_PER_KIND:
                    problems.append(f"{path}: {problem}")
        shape = ft["shape"]
        for path, facts in probes.items():
            if facts is not None and (facts["height"], facts["width"]) not in (
                    (shape[0], shape[1]), (shape[1], shape[2])):
                problems.append(f"{path}: frames are {facts['height']}x{facts['width']}, "
                                f"info.json gives {key} the shape {list(shape)}")


def find_problems(root: str | Path) -> list[str]:
    """Every problem found in the dataset at ``root`` (empty when it is valid)."""
    root = Path(root)
    problems: list[str] = []
    try:
        info = read_info(root)
    except DatasetError as e:
        return [str(e)]
    try:
        tasks = read_tasks(root)
        if len(tasks) != info["total_tasks"]:
            problems.append(f"{root / 'meta/tasks.parquet'}: holds {len(tasks)} tasks, "
                            f"info.json says total_tasks is {info['total_tasks']}")
    except DatasetError as e:
        problems.append(str(e))
    stats = root / STATS_PATH
    if stats.is_file():
        try:
            json.loads(stats.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            problems.append(f"{stats}: not valid JSON: {e}")
    episodes = _episodes(root, info, problems)
    if not episodes:
        if not problems:
            problems.append(f"{root}: the dataset holds no episodes")
        return problems
    _data(root, info, episodes, problems)
    _videos(root, info, episodes, problems)
    return problems


def validate(root: str | Path) -> dict[str, Any]:
    """Raises :class:`DatasetError` listing every problem; else a summary dict."""
    problems = find_problems(root)
    if problems:
        more = f" (and {len(problems) - 1} more: " + "; ".join(problems[1:]) + ")" \
            if len(problems) > 1 else ""
        raise DatasetError(problems[0] + more)
    info = read_info(Path(root))
    return {
        "episodes": int(info["total_episodes"]),
        "frames": int(info["total_frames"]),
        "cameras": [k for k, ft in info["features"].items() if ft["dtype"] in VISUAL_DTYPES],
        "format": "lerobot_v3",
    }


__all__ = ["find_problems", "validate"]
