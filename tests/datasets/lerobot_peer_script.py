"""Run by LeRobot 0.4.4's own interpreter (not this project's) for the interop tests.

    python lerobot_peer_script.py read ROOT OUT.npz    # LeRobotDataset(root) -> every item
    python lerobot_peer_script.py write ROOT OUT.npz   # LeRobot writes a dataset, then reads it

Items are saved as ``<key>`` arrays stacked over the dataset's rows; cameras as uint8
``[N, H, W, 3]`` (LeRobot returns float CHW in [0, 1]). ``write`` also saves the raw
values it recorded under ``raw/<key>``. Nothing is fetched from the network: the dataset
is opened from its local root.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

import numpy as np


def _frame(ep: int, t: int, size: int) -> np.ndarray:
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    r = 128 + 90 * np.sin(xx / 9.0 + 0.2 * t + ep)
    g = 128 + 90 * np.cos(yy / 11.0 - 0.2 * t)
    b = 128 + 60 * np.sin((xx + yy) / 14.0 + 0.1 * t)
    return np.stack([r, g, b], -1).round().clip(0, 255).astype(np.uint8)


def dump(root: str, repo_id: str = "local/interop") -> dict[str, np.ndarray]:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    ds = LeRobotDataset(repo_id, root=root, video_backend="pyav")
    out: dict[str, list] = {}
    cams = set(ds.meta.camera_keys)
    for i in range(len(ds)):
        item = ds[i]
        for key, value in item.items():
            if key == "task":
                continue
            arr = value.numpy() if hasattr(value, "numpy") else np.asarray(value)
            if key in cams:
                arr = np.round(np.transpose(arr, (1, 2, 0)) * 255).astype(np.uint8)
            out.setdefault(key, []).append(arr)
        out.setdefault("task", []).append(item["task"])
    result = {k: np.stack(v) if k != "task" else np.array(v) for k, v in out.items()}
    result["meta/num_episodes"] = np.array(ds.num_episodes)
    result["meta/fps"] = np.array(ds.fps)
    if ds.meta.stats is not None:
        for key, stats in ds.meta.stats.items():
            for name, value in stats.items():
                result[f"stats/{key}/{name}"] = np.asarray(value)
    return result


def write(root: str) -> dict[str, np.ndarray]:
    from lerobot.datasets.lerobot_dataset import LeRobotDataset

    size = 64
    features = {
        "observation.state": {"dtype": "float32", "shape": (4,), "names": None},
        "observation.images.front": {"dtype": "video", "shape": (size, size, 3),
                                     "names": ["height", "width", "channels"]},
        "action": {"dtype": "float32", "shape": (4,),
                   "names": ["delta_x", "delta_y", "delta_z", "gripper"]},
        "next.reward": {"dtype": "float32", "shape": (1,), "names": None},
        "next.done": {"dtype": "bool", "shape": (1,), "names": None},
        "complementary_info.is_intervention": {"dtype": "float32", "shape": (1,),
                                               "names": None},
    }
    ds = LeRobotDataset.create("local/peer", fps=10, features=features, root=root,
                               use_videos=True)
    rng = np.random.default_rng(0)
    raw: dict[str, list] = {}
    scalars = ("next.reward", "next.done", "complementary_info.is_intervention")
    for ep, length in enumerate((7, 5, 9)):
        for t in range(length):
            frame = {
                "observation.state": rng.standard_normal(4).astype(np.float32),
                "observation.images.front": _frame(ep, t, size),
                "action": np.concatenate([rng.uniform(-1, 1, 3), [t % 3]]).astype(np.float32),
                "next.reward": np.array([float(t == length - 1)], np.float32),
                "next.done": np.array([t == length - 1]),
                "complementary_info.is_intervention": np.array([float(t % 2)], np.float32),
            }
            for key, value in frame.items():
                raw.setdefault(key, []).append(value)
            ds.add_frame({**frame, "task": f"task {ep % 2}"})
            # LeRobot 0.4.4 with numpy >= 2.4 cannot store (1,)-shaped values in its scalar
            # columns: unwrap them in the episode buffer (the stored values are the same).
            for key in scalars:
                ds.episode_buffer[key][-1] = ds.episode_buffer[key][-1].reshape(())
        ds.save_episode()
    ds.finalize()
    return {f"raw/{k}": np.stack(v) for k, v in raw.items()}


def main() -> None:
    mode, root, out = sys.argv[1:4]
    if mode == "write":
        arrays = write(root)
        arrays.update(dump(root, "local/peer"))
    elif mode == "read":
        arrays = dump(root)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    np.savez(out, **arrays)
    print("peer ok")


if __name__ == "__main__":
    main()
