"""Training with a teleop device at the controls: the device path end to end.

``sync_train`` with ``config.teleop.device="operator"`` (the simulated operator behind the
device interface) on ``pick_cube``: every takeover goes device -> intervention gate -> the
C++ bridge's mixer, and the transitions the mixer flagged reach ``D_I`` as interventions.
The same run with a replay file of a human who never presses the clutch has no
intervention at all: only the device decides.
"""

from __future__ import annotations

import json

import pytest

from silri_jax import config_files, sync_train
from silri_jax.envs.controllers import bridge_available

pytestmark = pytest.mark.skipif(not bridge_available(),
                                reason="needs the compiled C++ bridge (pip install -e .)")


def _config(tmp_path, device: str, path: str = ""):
    c = config_files.sync_train_config()
    c.runtime.run_dir = str(tmp_path / device)
    c.runtime.env_steps = 300
    c.runtime.start_training_after = 100
    c.runtime.eval_every_steps = 0
    c.runtime.eval_episodes = 2
    c.demos.num = 2
    c.demos.profile = "expert"
    c.agent.pretrain_steps = 20
    c.agent.hidden_dims = (32, 32)
    c.agent.batch_size = 32
    c.task.operator_profile = "unskilled"
    c.teleop.device = device
    c.teleop.path = path
    return c


def test_the_operator_as_a_device_intervenes_through_the_bridge(tmp_path) -> None:
    res = sync_train.train(_config(tmp_path, "operator"), quiet=True)
    assert res["env_steps"] == 300
    assert res["d_i_interventions"] > 0, "no takeover reached D_I through the device path"
    assert 0.0 < res["intervention_rate"] < 1.0


@pytest.mark.parametrize("clutch", [False, True])
def test_a_replayed_human_decides_alone(tmp_path, clutch: bool) -> None:
    """A replay file of a hand pushing +x, the clutch held or never pressed."""
    replay = tmp_path / "hand.jsonl"
    replay.write_text(json.dumps({"t": 0.0, "twist": [0.3, 0, 0, 0, 0, 0], "gripper": 1,
                                  "buttons": {"clutch": clutch}}) + "\n")
    res = sync_train.train(_config(tmp_path, "replay", str(replay)), quiet=True)
    assert res["env_steps"] == 300
    if clutch:
        assert res["intervention_rate"] == 1.0 and res["d_i_interventions"] == 300
    else:
        assert res["d_i_interventions"] == 0 and res["intervention_rate"] == 0.0


def test_the_buffers_store_what_the_bridge_applied(tmp_path, monkeypatch) -> None:
    """A replayed human drives the MuJoCo bridge through a whole training run; each
    transition handed to the trainer holds the motion the bridge's mixer commanded (read
    independently from the bridge's target after the step), not the device's twist."""
    import numpy as np

    from silri_jax.envs.teleop_intervention import TeleopIntervention

    applied, stored = [], []
    step = TeleopIntervention.step

    def spy_step(self, action):
        pos0, _ = self.env.get_wrapper_attr("current_pose")()
        out = step(self, action)
        target = self._bridge.state().target_position
        scale = np.asarray(self.env.get_wrapper_attr("scale_pos"), np.float64)
        applied.append(np.clip((target - pos0) / scale, -1.0, 1.0))
        return out

    columns = sync_train.chunk_from_columns

    def spy_columns(spec, cols):
        stored.append(np.asarray(cols["actions"])[0].copy())
        return columns(spec, cols)

    monkeypatch.setattr(TeleopIntervention, "step", spy_step)
    monkeypatch.setattr(sync_train, "chunk_from_columns", spy_columns)
    replay = tmp_path / "hand.jsonl"
    replay.write_text(json.dumps({"t": 0.0, "twist": [0.3, -0.2, 0.1, 0, 0, 0],
                                  "gripper": 1, "buttons": {"clutch": True}}) + "\n")
    c = _config(tmp_path, "replay", str(replay))
    c.runtime.env_steps = 60
    c.runtime.start_training_after = 40
    res = sync_train.train(c, quiet=True)
    assert res["intervention_rate"] == 1.0
    # one spied step and one stored row per online env step (demonstrations and
    # evaluations run on the env without a device)
    assert len(stored) == len(applied) == 60
    online = stored
    for a, b in zip(online, applied, strict=True):
        np.testing.assert_allclose(a[:3], b, atol=1e-5)
    assert np.mean([a[0] for a in online]) > 0.1  # the hand's +x reached the buffers
