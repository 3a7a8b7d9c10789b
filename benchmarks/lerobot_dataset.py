"""LeRobotDataset v3.0 writing and random frame reads, against LeRobot's own writer.

``python benchmarks/lerobot_dataset.py [--episodes 10] [--frames 100] [--peer_python PATH]``

Writes the same episodes (two 128x128 cameras, state 18, action 7, reward and done, 30 fps)
with ``silri_jax.datasets.LeRobotWriter`` (frame by frame: ``add_frame`` then
``save_episode``, as a recorder does) and, with ``--peer_python`` (a LeRobot 0.4.4
interpreter, see ``../shared/peers/setup-lerobot.sh``), with LeRobot's
``LeRobotDataset.create``/``add_frame``/``save_episode``/``finalize`` in that interpreter,
timed there from ``create`` to ``finalize`` (its start-up and imports excluded). Both use
their default codec settings (SVT-AV1, crf 30, g 2); LeRobot writes PNG frames with 4
threads per camera, as ``lerobot-record`` does. Then times ``LeRobotReader.frame`` at
random global indices (decoding both cameras). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

CAMERAS = ("front", "wrist")
STATE_DIM, ACTION_DIM = 18, 7


def features(size: int) -> dict[str, dict[str, Any]]:
    feats: dict[str, dict[str, Any]] = {
        "observation.state": {"dtype": "float32", "shape": (STATE_DIM,), "names": None}}
    for cam in CAMERAS:
        feats[f"observation.images.{cam}"] = {"dtype": "video", "shape": (size, size, 3),
                                              "names": ["height", "width", "channels"]}
    feats["action"] = {"dtype": "float32", "shape": (ACTION_DIM,), "names": None}
    feats["next.reward"] = {"dtype": "float32", "shape": (1,), "names": None}
    feats["next.done"] = {"dtype": "bool", "shape": (1,), "names": None}
    return feats


def episode(index: int, frames: int, size: int) -> list[dict[str, Any]]:
    """One episode's frames: smooth moving colour patterns, random state and action."""
    rng = np.random.default_rng(index)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
    out = []
    for t in range(frames):
        frame: dict[str, Any] = {
            "observation.state": rng.standard_normal(STATE_DIM).astype(np.float32),
            "action": rng.uniform(-1, 1, ACTION_DIM).astype(np.float32),
            "next.reward": np.array([float(t == frames - 1)], np.float32),
            "next.done": np.array([t == frames - 1]),
        }
        for c, cam in enumerate(CAMERAS):
            p = 0.1 * t + index + 2.0 * c
            img = np.stack([128 + 90 * np.sin(xx / 9 + p), 128 + 90 * np.cos(yy / 11 - p),
                            128 + 60 * np.sin((xx + yy) / 14 + p / 2)], -1)
            frame[f"observation.images.{cam}"] = img.astype(np.uint8)
        out.append(frame)
    return out


def _size_mb(root: Path) -> float:
    return sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) / 2**20


def write_ours(root: Path, data: list[list[dict[str, Any]]], size: int, fps: int,
               vcodec: str | None) -> float:
    from silri_jax.datasets import LeRobotWriter

    t0 = time.perf_counter()
    with LeRobotWriter(root, fps, features(size), vcodec=vcodec) as writer:
        for frames in data:
            for frame in frames:
                writer.add_frame(frame, task="pick the cube")
            writer.save_episode()
    return time.perf_counter() - t0


def read_ours(root: Path, reads: int) -> list[float]:
    from silri_jax.datasets import LeRobotReader

    rng = np.random.default_rng(1)
    times = []
    with LeRobotReader(root) as reader:
        for i in rng.integers(0, reader.num_frames, 5):  # open files, warm caches
            reader.frame(int(i))
        for i in rng.integers(0, reader.num_frames, reads):
            t0 = time.perf_counter()
            reader.frame(int(i))
            times.append(time.perf_counter() - t0)
    return times


def peer_worker(root: Path, episodes: int, frames: int, size: int, fps: int,
                reads: int) -> dict[str, Any]:
    """Runs in LeRobot's interpreter: LeRobot writes the same episodes, then reads."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    data = [episode(i, frames, size) for i in range(episodes)]
    scalars = ("next.reward", "next.done")
    t0 = time.perf_counter()
    ds = LeRobotDataset.create("bench/lerobot", fps=fps, features=features(size), root=root,
                               use_videos=True, image_writer_threads=4 * len(CAMERAS))
    for frames_ in data:
        for frame in frames_:
            ds.add_frame({**frame, "task": "pick the cube"})
            # LeRobot 0.4.4 with numpy >= 2.4 cannot store (1,)-shaped values in scalar
            # columns: unwrap them in its episode buffer (same values).
            for key in scalars:
                ds.episode_buffer[key][-1] = ds.episode_buffer[key][-1].reshape(())
        ds.save_episode()
    ds.finalize()
    write_s = time.perf_counter() - t0
    ds = LeRobotDataset("bench/lerobot", root=root, video_backend="pyav")
    rng = np.random.default_rng(1)
    for i in rng.integers(0, len(ds), 5):
        ds[int(i)]
    times = []
    for i in rng.integers(0, len(ds), reads):
        t = time.perf_counter()
        ds[int(i)]
        times.append(time.perf_counter() - t)
    return {"write_s": write_s, "read_ms": [1000 * t for t in times],
            "dataset_mb": _size_mb(root)}


def run_peer(python: str, root: Path, a: argparse.Namespace) -> dict[str, Any]:
    cmd = [python, str(Path(__file__).resolve()), "--peer_worker", str(root), "--episodes",
           str(a.episodes), "--frames", str(a.frames), "--size", str(a.size), "--fps",
           str(a.fps), "--reads", str(a.reads)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": ""}
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=3600)
    if proc.returncode != 0:
        raise SystemExit(f"lerobot_dataset: the LeRobot writer failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 3)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--episodes", type=int, default=10)
    p.add_argument("--frames", type=int, default=100, help="frames per episode")
    p.add_argument("--size", type=int, default=128, help="camera height and width")
    p.add_argument("--fps", type=int, default=30)
    p.add_argument("--reads", type=int, default=200, help="random frame reads to time")
    p.add_argument("--vcodec", default=None, help="our encoder (default: libsvtav1 if any)")
    p.add_argument("--peer_python", default=None,
                   help="LeRobot 0.4.4 interpreter to time its writer with")
    p.add_argument("--peer_worker", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.peer_worker:
        result = peer_worker(Path(a.peer_worker), a.episodes, a.frames, a.size, a.fps, a.reads)
        print(json.dumps(result))
        return result
    work = Path(tempfile.mkdtemp(prefix="lerobot-bench-"))
    try:
        data = [episode(i, a.frames, a.size) for i in range(a.episodes)]
        write_s = write_ours(work / "ours", data, a.size, a.fps, a.vcodec)
        times = [1000 * t for t in read_ours(work / "ours", a.reads)]
        from silri_jax.datasets import LeRobotReader

        with LeRobotReader(work / "ours") as reader:
            vcodec = reader.features["observation.images.front"]["info"]["video.codec"]
        total = a.episodes * a.frames
        result: dict[str, Any] = {
            "bench": "lerobot_dataset",
            "episodes": a.episodes,
            "frames_per_episode": a.frames,
            "cameras": len(CAMERAS),
            "image_size": a.size,
            "fps": a.fps,
            "video_codec": vcodec,
            "write_s": round(write_s, 3),
            "write_frames_per_s": round(total / write_s, 1),
            "dataset_mb": round(_size_mb(work / "ours"), 3),
            "random_frame_read_ms_p50": _pct(times, 50),
            "random_frame_read_ms_p99": _pct(times, 99),
        }
        if a.peer_python:
            peer = run_peer(a.peer_python, work / "peer", a)
            result.update({
                "peer_write_s": round(peer["write_s"], 3),
                "write_speedup": round(peer["write_s"] / write_s, 2),
                "peer_dataset_mb": round(peer["dataset_mb"], 3),
                "peer_random_frame_read_ms_p50": _pct(peer["read_ms"], 50),
                "peer_random_frame_read_ms_p99": _pct(peer["read_ms"], 99),
            })
        result["targets"] = {"write_speedup": ">= 2", "random_frame_read_ms_p99": "< 20"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main(sys.argv[1:])
