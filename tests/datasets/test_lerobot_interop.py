"""Interoperability with LeRobot 0.4.4 itself, run in its own interpreter.

Needs the peer environment (``SILRI_LEROBOT_PYTHON``, default
``/tmp/lerobot-peer/bin/python``); without it these tests skip and say how to build it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import dataset_helpers as h
import numpy as np
import pytest

from silri_jax.datasets.lerobot_episodes import write_episodes
from silri_jax.datasets.lerobot_reader import LeRobotReader
from silri_jax.datasets.lerobot_validate import validate

PEER = Path(os.environ.get("SILRI_LEROBOT_PYTHON", "/tmp/lerobot-peer/bin/python"))
SCRIPT = Path(__file__).with_name("lerobot_peer_script.py")
Peer = tuple[Path, dict[str, np.ndarray]]

pytestmark = pytest.mark.skipif(
    not PEER.is_file(),
    reason="LeRobot peer environment not installed: run ../shared/peers/setup-lerobot.sh "
           "/tmp/lerobot-peer",
)


def _peer(mode: str, root: Path, out: Path) -> dict[str, np.ndarray]:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(out.parent / "hf-home"), "PYTHONPATH": ""}
    proc = subprocess.run([str(PEER), str(SCRIPT), mode, str(root), str(out)], env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    with np.load(out) as z:
        return {k: z[k] for k in z.files}


@pytest.fixture(scope="module")
def peer_written(tmp_path_factory: pytest.TempPathFactory) -> Peer:
    """A dataset LeRobot recorded (and what it read back), shared by the tests below."""
    base = tmp_path_factory.mktemp("peer")
    return base / "peer", _peer("write", base / "peer", base / "peer.npz")


def _max_diff(a: np.ndarray, b: np.ndarray) -> int:
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


def test_dataset_written_here_loads_in_lerobot(tmp_path: Path) -> None:
    spec = h.spec(gripper=True)
    eps = h.episodes(spec, [9, 5, 12])
    root = tmp_path / "ds"
    write_episodes(root, spec, eps, fps=10, task="pick the cube")
    peer = _peer("read", root, tmp_path / "peer.npz")
    assert int(peer["meta/num_episodes"]) == 3 and int(peer["meta/fps"]) == 10
    with LeRobotReader(root) as r:
        ours = [r.episode(i) for i in range(r.num_episodes)]
        keys = [k for k in r.features if k not in r.camera_keys]
        cams = list(r.camera_keys)
    for key in keys:
        mine = np.concatenate([e[key] for e in ours])
        theirs = peer[key].reshape(mine.shape)
        np.testing.assert_array_equal(mine, theirs.astype(mine.dtype), err_msg=key)
    for key in cams:
        mine = np.concatenate([e[key] for e in ours])
        assert peer[key].shape == mine.shape
        # Same AV1 stream decoded by two FFmpeg builds (identical with PyAV 18.1 and 15.1;
        # a little slack for other builds' colour conversion).
        assert _max_diff(mine, peer[key]) <= 3, key
        cam = "images/" + key.rsplit(".", 1)[1]
        original = np.concatenate([ep.observations[cam] for ep in eps])
        assert h.psnr(original, peer[key]) >= 35
    assert list(peer["task"][:2]) == ["pick the cube"] * 2
    np.testing.assert_allclose(peer["stats/observation.state/mean"],
                               np.concatenate([e["observation.state"] for e in ours]).mean(0),
                               rtol=1e-5, atol=1e-6)


def test_dataset_written_by_lerobot_loads_here(peer_written: Peer) -> None:
    root, peer = peer_written
    assert validate(root)["episodes"] == 3
    with LeRobotReader(root) as r:
        ours = [r.episode(i) for i in range(r.num_episodes)]
        assert r.camera_keys == ["observation.images.front"]
        for i in (0, 8, 20):
            f = r.frame(i)
            np.testing.assert_array_equal(f["observation.images.front"],
                                          ours[int(f["episode_index"])]
                                          ["observation.images.front"][int(f["frame_index"])])
    for key in ("observation.state", "action", "next.reward", "next.done",
                "complementary_info.is_intervention", "index", "episode_index",
                "frame_index", "timestamp", "task_index"):
        mine = np.concatenate([e[key] for e in ours])
        np.testing.assert_array_equal(mine, peer[key].reshape(mine.shape).astype(mine.dtype),
                                      err_msg=key)
        if f"raw/{key}" in peer:
            np.testing.assert_array_equal(mine, peer[f"raw/{key}"].reshape(mine.shape))
    images = np.concatenate([e["observation.images.front"] for e in ours])
    assert _max_diff(images, peer["observation.images.front"]) <= 3
    assert h.psnr(images, peer["raw/observation.images.front"]) >= 35
    assert [str(t) for t in ours[1]["task"][:1]] == ["task 1"]


def test_lerobot_dataset_converts_to_project_episodes(peer_written: Peer) -> None:
    from silri_jax.datasets import load_episodes

    root, peer = peer_written
    spec, eps = load_episodes(root)
    assert spec.action.dim == 3 and spec.action.has_gripper
    # LeRobot's recorder writes one row per transition: T = rows, the final observation
    # repeats the last row's.
    assert [len(e) for e in eps] == [7, 5, 9]
    raw_grip = peer["raw/action"][:7, -1]
    np.testing.assert_array_equal(eps[0].gripper_actions, 2 - raw_grip)
    assert eps[0].terminated.tolist() == [0] * 6 + [1]
    np.testing.assert_array_equal(eps[0].is_intervention,
                                  peer["raw/complementary_info.is_intervention"][:7, 0])


def test_statistics_match_lerobots(peer_written: Peer) -> None:
    """LeRobot's stats.json for its own recording equals what lerobot_stats computes from
    the same frames, except the image std that LeRobot 0.4.4 computes in wrapped uint8."""
    from silri_jax.datasets import lerobot_stats

    root, peer = peer_written
    with LeRobotReader(root) as r:
        features = r.features
        per_episode = []
        start = 0
        for i in range(r.num_episodes):
            cols = r.episode(i)
            n = len(cols["index"])
            cols["timestamp"] = cols["frame_index"] / r.fps  # LeRobot's float64 buffer
            cols["observation.images.front"] = peer["raw/observation.images.front"][
                start:start + n]
            start += n
            per_episode.append(lerobot_stats.episode_stats(cols, features))
    total = per_episode[0]
    for s in per_episode[1:]:
        total = lerobot_stats.aggregate([total, s])
    for key, stats in total.items():
        for name, value in stats.items():
            theirs = peer[f"stats/{key}/{name}"]
            if key == "observation.images.front" and name == "std":
                continue
            np.testing.assert_allclose(np.asarray(value, np.float64),
                                       theirs.astype(np.float64), rtol=1e-9, atol=1e-12,
                                       err_msg=f"{key}/{name}")
