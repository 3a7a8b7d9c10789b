"""Conversion between the project's formats and LeRobot v3, HIL-SERL pickles, replay
checkpoints, and the ``python -m silri_jax.datasets`` command line."""

from __future__ import annotations

import io
import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import dataset_helpers as h
import numpy as np
import pytest

from silri_jax.data import ReplayBuffer, insert_demos, load_demos, save_demos
from silri_jax.datasets import DatasetError, convert, detect_format, load_episodes
from silri_jax.datasets.__main__ import main
from silri_jax.datasets.hilserl import SafeUnpickler, load_hilserl

REPO = Path(__file__).resolve().parents[2]


def test_demos_npz_to_lerobot_and_back(tmp_path: Path) -> None:
    spec = h.spec(gripper=True)
    eps = h.episodes(spec, [8, 5])
    save_demos(tmp_path / "demos.npz", spec, eps)
    summary = convert(tmp_path / "demos.npz", tmp_path / "ds", task="pick", fps=15)
    assert summary["episodes"] == 2 and summary["frames"] == 15
    assert detect_format(tmp_path / "ds") == "lerobot_v3"
    spec2, back = load_episodes(tmp_path / "ds")
    assert spec2 == spec
    for a, b in zip(eps, back, strict=True):
        for name in ("actions", "rewards", "terminated", "truncated", "gripper_actions"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        np.testing.assert_array_equal(a.observations["state"], b.observations["state"])
        assert h.psnr(a.observations["images/front"], b.observations["images/front"]) >= 35
        # A demo file holds no flags: demonstrations are human-driven throughout.
        assert b.is_intervention.tolist() == [1] * len(a)
        assert b.task == "pick"
    summary = convert(tmp_path / "ds", tmp_path / "back.npz")
    assert summary["format"] == "demos"
    spec3, again = load_demos(tmp_path / "back.npz")
    assert spec3 == spec and [len(e) for e in again] == [8, 5]


def test_loaded_episodes_go_into_the_learner_buffer(tmp_path: Path) -> None:
    spec = h.spec(gripper=True)
    save_demos(tmp_path / "demos.npz", spec, h.episodes(spec, [6, 4]))
    convert(tmp_path / "demos.npz", tmp_path / "ds")
    spec2, eps = load_episodes(tmp_path / "ds")
    buf = ReplayBuffer(spec2, 64)
    assert insert_demos(buf, eps) == 10


def test_gripper_uses_lerobot_hil_serl_values(tmp_path: Path) -> None:
    from silri_jax.datasets.lerobot_reader import LeRobotReader

    spec = h.spec(gripper=True, cameras=("front",))
    ep = h.episode(spec, 0, 3)
    ep.gripper_actions = np.array([0, 1, 2], np.int32)  # project: open, stay, close
    save_demos(tmp_path / "d.npz", spec, [ep])
    convert(tmp_path / "d.npz", tmp_path / "ds")
    with LeRobotReader(tmp_path / "ds") as r:
        assert r.features["action"]["names"][-1] == "gripper"
        col = r.episode(0, cameras=False)["action"][:, -1]
    assert col.tolist() == [2.0, 1.0, 0.0, 0.0]  # LeRobot: open 2, stay 1, close 0; padded


def _hilserl_transitions(n_eps: int = 2, length: int = 4, gripper: bool = True) -> list:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n_eps):
        obs = {"state": rng.standard_normal((1, 6)).astype(np.float32),
               "wrist": rng.integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)}
        for t in range(length):
            nxt = {"state": rng.standard_normal((1, 6)).astype(np.float32),
                   "wrist": rng.integers(0, 255, (1, 32, 32, 3), dtype=np.uint8)}
            action = rng.uniform(-1, 1, 4).astype(np.float32)
            if gripper:
                action[-1] = [-1.0, 0.0, 1.0][t % 3]
            done = t == length - 1
            out.append({"observations": obs, "actions": action, "next_observations": nxt,
                        "rewards": float(done), "masks": 1.0 - done, "dones": done,
                        "infos": {"intervene_action": action} if t % 2 == 0 else {"x": 1}})
            obs = nxt
    return out


def test_hilserl_pickle_loads(tmp_path: Path) -> None:
    transitions = _hilserl_transitions()
    path = tmp_path / "demos.pkl"
    path.write_bytes(pickle.dumps(transitions))
    assert detect_format(path) == "hilserl"
    spec, eps = load_hilserl(path)
    assert spec.action.dim == 3 and spec.action.has_gripper
    assert spec.observation.entries["images/wrist"].shape == (32, 32, 3)
    assert [len(e) for e in eps] == [4, 4]
    ep = eps[0]
    np.testing.assert_array_equal(ep.observations["state"][0], transitions[0]["observations"]
                                  ["state"][0])
    np.testing.assert_array_equal(ep.observations["images/wrist"][-1],
                                  transitions[3]["next_observations"]["wrist"][0])
    assert ep.gripper_actions.tolist() == [2, 1, 0, 2]  # HIL-SERL -1 close, 0 stay, 1 open
    np.testing.assert_array_equal(ep.actions, np.stack([t["actions"][:3]
                                                        for t in transitions[:4]]))
    assert ep.terminated.tolist() == [0, 0, 0, 1] and ep.rewards.tolist() == [0, 0, 0, 1]
    assert ep.is_intervention.tolist() == [1, 0, 1, 0]
    summary = convert(path, tmp_path / "ds", task="insert")
    assert summary["episodes"] == 2
    _, back = load_episodes(tmp_path / "ds")
    assert back[1].is_intervention.tolist() == [1, 0, 1, 0]


def test_hilserl_without_gripper_and_protocol_2(tmp_path: Path) -> None:
    path = tmp_path / "demos.pkl"
    path.write_bytes(pickle.dumps(_hilserl_transitions(1, 5, gripper=False), protocol=2))
    spec, eps = load_hilserl(path)
    assert spec.action.dim == 4 and not spec.action.has_gripper and len(eps[0]) == 5


class _Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


def test_pickle_with_disallowed_global_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "evil.pkl"
    path.write_bytes(pickle.dumps([{"observations": _Evil()}]))
    with pytest.raises(DatasetError, match=r"evil\.pkl: refusing to load the global "
                                           r"(posix|os|nt)\.system"):
        load_hilserl(path)
    with pytest.raises(pickle.UnpicklingError, match=r"builtins\.eval"):
        SafeUnpickler(io.BytesIO(b"cbuiltins\neval\n(S'1+1'\ntR.")).load()


def test_truncated_pickle_is_an_error_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "cut.pkl"
    path.write_bytes(pickle.dumps(_hilserl_transitions())[:500])
    with pytest.raises(DatasetError, match=r"cut\.pkl: not a readable pickle"):
        load_hilserl(path)


def _replay_checkpoint(root: Path, spec) -> list:
    eps = h.episodes(spec, [5, 3, 6])
    buf = ReplayBuffer(spec, 100, image_codec="rgb")
    for i, ep in enumerate(eps):
        t = len(ep)
        buf.insert_many(
            obs={k: v[:-1] for k, v in ep.observations.items()}, action=ep.actions,
            reward=ep.rewards, terminated=ep.terminated, truncated=ep.truncated,
            next_obs={k: v[1:] for k, v in ep.observations.items()},
            is_intervention=ep.is_intervention, episode_id=np.full(t, i),
            step=np.arange(t), gripper_action=ep.gripper_actions)
    step = root / "checkpoints" / "7"
    buf.save(step / "replay_r")
    ReplayBuffer(spec, 10).save(step / "replay_i")
    (step / "commit_success.txt").write_text("ok")
    return eps


def test_replay_checkpoint_loads_episodes(tmp_path: Path) -> None:
    spec = h.spec(gripper=True)
    eps = _replay_checkpoint(tmp_path, spec)
    assert detect_format(tmp_path / "checkpoints") == "replay"
    spec2, back = load_episodes(tmp_path / "checkpoints")
    assert spec2 == spec and [len(e) for e in back] == [5, 3, 6]
    for a, b in zip(eps, back, strict=True):
        for name in ("actions", "rewards", "terminated", "truncated", "gripper_actions",
                     "is_intervention"):
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
        for key in a.observations:
            np.testing.assert_array_equal(a.observations[key], b.observations[key])
    with pytest.raises(DatasetError, match="the replay buffer is empty"):
        load_episodes(tmp_path / "checkpoints" / "7", buffer="replay_i")
    summary = convert(tmp_path / "checkpoints", tmp_path / "ds")
    assert summary["episodes"] == 3


def test_state_only_checkpoint_says_it_cannot_be_converted(tmp_path: Path) -> None:
    step = tmp_path / "checkpoints" / "3"
    (step / "state").mkdir(parents=True)
    (step / "commit_success.txt").write_text("ok")
    (step / "replay_x").mkdir()
    with pytest.raises(DatasetError, match="no replay_r/ replay artefact"):
        from silri_jax.datasets.replay_source import load_replay

        load_replay(tmp_path / "checkpoints")


def test_unknown_paths_are_errors_naming_them(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        load_episodes(tmp_path / "nope.npz")
    (tmp_path / "x.txt").write_text("")
    with pytest.raises(DatasetError, match=r"x\.txt: unknown file type"):
        load_episodes(tmp_path / "x.txt")
    with pytest.raises(DatasetError, match=r"out\.csv: cannot write"):
        convert(tmp_path / "x.txt", tmp_path / "out.csv")


def test_cli_prints_one_json_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    spec = h.spec(gripper=True, cameras=("front",))
    save_demos(tmp_path / "d.npz", spec, h.episodes(spec, [4, 3]))
    assert main(["convert", str(tmp_path / "d.npz"), str(tmp_path / "ds"), "--task", "t",
                 "--fps", "20"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and json.loads(out[0]) == {
        "episodes": 2, "frames": 9, "cameras": ["observation.images.front"],
        "format": "lerobot_v3"}
    for command in ("validate", "info"):
        assert main([command, str(tmp_path / "ds")]) == 0
        lines = capsys.readouterr().out.strip().splitlines()
        assert len(lines) == 1
        got = json.loads(lines[0])
        assert (got["episodes"], got["frames"], got["format"]) == (2, 9, "lerobot_v3")
    main(["info", str(tmp_path / "d.npz")])
    assert json.loads(capsys.readouterr().out)["format"] == "demos"


def test_cli_errors_are_one_line_and_exit_2(tmp_path: Path,
                                            capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad/meta").mkdir()
    (tmp_path / "bad/meta/info.json").write_text("{")
    for argv in (["validate", str(tmp_path / "bad")], ["info", str(tmp_path / "missing")],
                 ["convert", "a"], ["frobnicate"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("silri_jax.datasets: error: "), err


def test_cli_as_module_help_and_subprocess(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    out = subprocess.run([sys.executable, "-m", "silri_jax.datasets", "--help"], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "convert" in out.stdout and "validate" in out.stdout
    out = subprocess.run([sys.executable, "-m", "silri_jax.datasets", "validate",
                          str(tmp_path)], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("silri_jax.datasets: error: ")
    assert len(out.stderr.strip().splitlines()) == 1
