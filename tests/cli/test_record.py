"""``python -m silri_jax.record``: demonstrations from a device, through the bridge, on disk.

Checked: the simulated operator (the device when ``teleop.device`` is empty) records
successful episodes into the project's demo file, which the trainer loads as
demonstrations; the device's ``failure`` / ``rerecord`` / ``quit`` events end, discard and
stop as documented; an interruption in the middle of an episode loses no finished one;
the command line prints one JSON line and refuses a bad ``record`` section by name.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from silri_jax import config_files, envs, record
from silri_jax.data.demos import load_demos
from silri_jax.envs.controllers import bridge_available
from silri_jax.operators import SimulatedOperator
from silri_jax.operators.device import OperatorDevice
from silri_jax.teleop.base import Sample
from silri_jax.training import build

pytestmark = pytest.mark.skipif(not bridge_available(),
                                reason="needs the compiled C++ bridge (pip install -e .)")
REPO = pathlib.Path(__file__).resolve().parents[2]


def _config(tmp_path: pathlib.Path, episodes: int = 2):
    c = config_files.train_config("silri_pick_cube_state")
    c.record.out = str(tmp_path / "demos.npz")
    c.record.episodes = episodes
    c.demos.profile = "expert"
    return c


class ScriptedEvents(OperatorDevice):
    """The expert operator, plus device events at given (episode, step) points; an
    exception instead of an event name is raised from the poll (an interrupt)."""

    def __init__(self, script: dict[tuple[int, int], object],
                 held: set[tuple[int, int]] = frozenset()) -> None:  # type: ignore[assignment]
        super().__init__(SimulatedOperator("expert", always=True, seed=0), "xyz")
        self.script, self.episode, self.step = script, -1, 0
        self.held = held  # (episode, step) during which label_hold is held
        self._fired = False

    def reset(self, seed: int | None) -> None:
        super().reset(seed)
        self.episode, self.step = self.episode + 1, 0

    def begin_step(self, state, proposed, now: float = 0.0) -> bool:
        self.step += 1
        self._fired = False
        return super().begin_step(state, proposed, now)

    def poll(self, now: float | None = None) -> Sample:
        s = super().poll(now)
        buttons = {**s.buttons, "label_hold": (self.episode, self.step) in self.held}
        what = self.script.get((self.episode, self.step))
        if what is None or self._fired:
            return Sample(twist=s.twist, gripper=s.gripper, buttons=buttons, events=(),
                          t_device=s.t_device, t_host=s.t_host, healthy=s.healthy,
                          device=s.device)
        self._fired = True
        if isinstance(what, BaseException):
            raise what
        return Sample(twist=s.twist, gripper=s.gripper, buttons=buttons, events=(what,),
                      t_device=s.t_device, t_host=s.t_host, healthy=True, device=s.device)


def test_the_operator_records_demos_that_the_trainer_loads(tmp_path) -> None:
    c = _config(tmp_path)
    out = record.record(c)
    assert out["episodes"] == 2 and out["stopped_by"] == "done"
    spec, episodes = load_demos(c.record.out)
    assert len(episodes) == 2 and out["frames"] == sum(len(e) for e in episodes)
    env = build.make_env(c)
    assert spec == envs.env_spec(env)
    for ep in episodes:
        assert ep.terminated[-1] == 1  # every kept episode ended in success
        assert np.all(np.abs(ep.actions) <= 1.0) and np.any(np.abs(ep.actions) > 0.2)
    # What the trainer does with config.demos.path: the transitions land in D_I.
    from silri_jax.data.demos import insert_demos
    from silri_jax.data.replay import ReplayBuffer

    buf = ReplayBuffer(spec, 10_000)
    assert insert_demos(buf, episodes) == out["frames"]


def test_events_end_discard_and_stop_and_failures_are_kept_apart(tmp_path, monkeypatch
                                                                 ) -> None:
    c = _config(tmp_path, episodes=5)
    dev = ScriptedEvents({(0, 3): "rerecord", (1, 4): "failure", (3, 2): "quit"})
    monkeypatch.setattr(build, "make_teleop_device", lambda *a, **k: dev)
    out = record.record(c)
    # episode 0: discarded at step 3; 1: failure; 2: success; 3: quit.
    assert out == {**out, "episodes": 1, "failures": 1, "attempts": 2,
                   "stopped_by": "quit"}
    _, kept = load_demos(c.record.out)
    _, failed = load_demos(record.failures_path(pathlib.Path(c.record.out)))
    assert len(kept) == 1 and len(failed) == 1
    assert len(failed[0]) == 4 and failed[0].terminated[-1] == 1


def test_an_interrupt_mid_episode_loses_no_finished_episode(tmp_path, monkeypatch) -> None:
    c = _config(tmp_path, episodes=5)
    dev = ScriptedEvents({(2, 5): KeyboardInterrupt()})
    monkeypatch.setattr(build, "make_teleop_device", lambda *a, **k: dev)
    out = record.record(c)
    assert out["stopped_by"] == "interrupted" and out["episodes"] == 2
    _, kept = load_demos(c.record.out)
    assert len(kept) == 2


def test_the_command_line_prints_one_json_line_and_refuses_bad_settings(tmp_path) -> None:
    out = tmp_path / "cli.npz"
    cmd = [sys.executable, "-m", "silri_jax.record", "--config=configs/train.py",
           f"--config.record.out={out}", "--config.record.episodes=1",
           "--config.demos.profile=expert"]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    line = json.loads(res.stdout.strip().splitlines()[-1])
    assert line["event"] == "record" and line["episodes"] == 1 and out.is_file()
    bad = subprocess.run([*cmd[:3], "--config.record.episodes=0"], cwd=REPO,
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2
    assert "config.record.episodes" in bad.stderr and "Traceback" not in bad.stderr


def test_record_writes_a_lerobot_dataset_that_survives_an_interrupt(tmp_path, monkeypatch
                                                                    ) -> None:
    """``record.out`` a directory: a LeRobotDataset v3.0 holding every finished episode,
    valid after Ctrl-C in the middle of the next one, loaded back with the per-step
    intervention flags and, when LeRobot 0.4.4's environment exists, loaded by LeRobot."""
    from silri_jax.datasets import load_episodes
    from silri_jax.datasets.lerobot_validate import validate

    c = _config(tmp_path, episodes=5)
    c.record.out = str(tmp_path / "demos_lerobot")
    c.record.task_text = "pick up the cube"
    dev = ScriptedEvents({(2, 5): KeyboardInterrupt()})
    monkeypatch.setattr(build, "make_teleop_device", lambda *a, **k: dev)
    out = record.record(c)
    assert out["stopped_by"] == "interrupted" and out["episodes"] == 2
    summary = validate(c.record.out)
    assert summary["episodes"] == 2
    # T transitions are T + 1 rows (the last holds the final observation).
    assert summary["frames"] == out["frames"] + 2
    spec, episodes = load_episodes(c.record.out)
    assert spec == envs.env_spec(build.make_env(c)) and len(episodes) == 2
    for ep in episodes:
        assert ep.task == "pick up the cube"
        assert ep.is_intervention is not None and ep.is_intervention.all()  # expert drove
        assert ep.terminated[-1] == 1
    # The failures folder: none failed, so no empty dataset is left behind.
    assert not record.failures_path(pathlib.Path(c.record.out)).exists()
    peer = pathlib.Path("/tmp/lerobot-peer/bin/python")
    if peer.is_file():
        script = REPO / "tests/datasets/lerobot_peer_script.py"
        res = subprocess.run([str(peer), str(script), "read", c.record.out,
                              str(tmp_path / "peer.npz")], capture_output=True, text=True,
                             timeout=600, env={"HF_HUB_OFFLINE": "1", "PATH": "/usr/bin:/bin",
                                               "HF_HOME": str(tmp_path / "hf")})
        assert res.returncode == 0, res.stderr[-2000:]
        with np.load(tmp_path / "peer.npz") as z:
            assert int(z["meta/num_episodes"]) == 2


# Episode 0, steps counted from 1 (step k produces frame k): label_hold held during steps
# 2 and 3, label_failure at step 5, label_undo at step 7 (frames 5 and 6 go back to
# unlabelled), label_success at step 9 (frame 9 onward positive).
LABEL_SCRIPT = {(0, 5): "label_failure", (0, 7): "label_undo", (0, 9): "label_success"}
LABEL_HELD = {(0, 2), (0, 3)}


def _expected_labels(length: int) -> tuple[list[int], list[int]]:
    labels = [-1, -1, 1, 1, -1, -1, -1, -1, -1] + [1] * (length + 1 - 9)
    sources = [0, 0, 1, 1, 0, 0, 0, 0, 0] + [1] * (length + 1 - 9)
    return labels, sources


@pytest.mark.parametrize("fmt", ["npz", "lerobot"])
def test_labels_pressed_while_recording_land_on_the_frame_after_the_step(
        tmp_path, monkeypatch, fmt) -> None:
    c = _config(tmp_path, episodes=1)
    if fmt == "lerobot":
        c.record.out = str(tmp_path / "demos_lerobot")
    dev = ScriptedEvents(LABEL_SCRIPT, LABEL_HELD)
    monkeypatch.setattr(build, "make_teleop_device", lambda *a, **k: dev)
    out = record.record(c)
    assert out["episodes"] == 1 and out["attempts"] == 1  # no label event ended a take
    if fmt == "npz":
        _, episodes = load_demos(c.record.out)
    else:
        from silri_jax.datasets import load_episodes

        _, episodes = load_episodes(c.record.out)
    (ep,) = episodes
    assert len(ep) > 12 and ep.terminated[-1] == 1  # ended by the task's own success
    want_labels, want_sources = _expected_labels(len(ep))
    assert ep.frame_labels.tolist() == want_labels
    assert ep.label_sources.tolist() == want_sources



def test_the_held_label_role_comes_from_info_when_the_env_says_it_else_from_the_pump(
) -> None:
    import types

    pump = types.SimpleNamespace(last=types.SimpleNamespace(buttons={"label_hold": True}))
    assert record.label_held({}, pump)
    assert not record.label_held({"teleop_held": ("clutch",)}, pump)  # info wins
    assert record.label_held({"teleop_held": ("label_hold",)}, None)
    assert not record.label_held({}, None)
    assert not record.label_held({}, types.SimpleNamespace(last=None))
