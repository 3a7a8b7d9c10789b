"""A teleop device drives the MuJoCo arm through the C++ bridge's mixer.

Checked on ``pick_cube`` with the bridge controller: the human's twist moves the arm only
while the clutch is held; the step is flagged exactly then; the action recorded for it is
the target the bridge's mixer ended on, as the policy's normalised action (read here
independently from the bridge); a gripper press is an intervention of its own and closes
the gripper; takeovers get increasing segment ids; an unhealthy device holds the arm and
says why; the simulated operator behind the device interface drives the same path.
"""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax import envs, specs
from silri_jax.envs.controllers import bridge_available
from silri_jax.envs.teleop_intervention import TeleopIntervention
from silri_jax.teleop.base import HOLD_ROLES, Device, Sample
from silri_jax.teleop.intervention import InterventionGate

pytestmark = pytest.mark.skipif(not bridge_available(),
                                reason="needs the compiled C++ bridge (pip install -e .)")


class ManualDevice(Device):
    """A device whose state the test sets between steps."""

    name = "manual"

    def __init__(self) -> None:
        self.twist = np.zeros(6)
        self.clutch = False
        self.gripper = specs.GRIPPER_STAY
        self.healthy = True
        self.polls = 0
        self.held_at: set[int] = set()  # polls (counted from 1) with label_hold held

    def poll(self, now: float | None = None) -> Sample:
        self.polls += 1
        buttons = {role: False for role in HOLD_ROLES}
        buttons["clutch"] = self.clutch
        buttons["label_hold"] = self.polls in self.held_at
        t = 0.0 if now is None else now
        return Sample(twist=self.twist if self.healthy else np.zeros(6),
                      gripper=self.gripper if self.healthy else specs.GRIPPER_STAY,
                      buttons=buttons, events=(), t_device=t, t_host=t,
                      healthy=self.healthy, device=self.name,
                      problem="" if self.healthy else "manual device unplugged")


def _env(device: Device) -> TeleopIntervention:
    inner = envs.make("pick_cube", {"controller": "cpp"})
    return TeleopIntervention(inner, device, InterventionGate(mode="clutch"))


def _hold(env) -> dict:
    return {"action": np.zeros(3, np.float32), "gripper": specs.GRIPPER_STAY}


def test_the_human_drives_through_the_mixer_and_the_applied_action_is_recorded() -> None:
    dev = ManualDevice()
    env = _env(dev)
    bridge = env.get_wrapper_attr("controller").bridge
    scale = float(np.max(env.get_wrapper_attr("scale_pos")))
    env.reset(seed=3)
    plan = [False, False, True, True, True, False, False, True, True, False]
    flags, segments, xs = [], [], []
    for step, clutch in enumerate(plan):
        dev.clutch = clutch
        dev.twist = np.array([1.0, 0.0, 0, 0, 0, 0]) if clutch else np.zeros(6)
        pos0, _ = env.get_wrapper_attr("current_pose")()
        _, _, _, _, info = env.step(_hold(env))
        flags.append(info["is_intervention"])
        segments.append(info["teleop_segment"])
        xs.append(env.get_wrapper_attr("current_pose")()[0][0])
        if clutch:
            # Independent read of what the bridge applied: its commanded target.
            target = bridge.state().target_position
            expect = np.clip((target - pos0) / scale, -1, 1)
            np.testing.assert_allclose(info["executed_action"], expect, atol=1e-5)
            assert info["executed_action"][0] > 0.3, f"step {step}: the target barely moved"
    assert flags == plan
    assert dev.polls >= 10 * len(plan)  # a 100 Hz device under a 10 Hz env step
    assert segments[2] == segments[3] == segments[4] >= 0
    assert segments[7] == segments[8] == segments[4] + 1
    assert segments[0] == segments[5] == -1
    assert xs[4] - xs[1] > scale  # three steps of full deflection moved the arm in +x
    env.close()


def test_a_gripper_press_is_an_intervention_and_closes_the_gripper() -> None:
    dev = ManualDevice()
    env = _env(dev)
    env.reset(seed=4)
    width0 = env.get_wrapper_attr("gripper_width")()
    env.step(_hold(env))
    dev.gripper = specs.GRIPPER_CLOSE
    _, _, _, _, info = env.step(_hold(env))
    assert info["is_intervention"]
    assert info["executed_gripper_action"] == specs.GRIPPER_CLOSE
    dev.gripper = specs.GRIPPER_STAY
    for _ in range(5):
        _, _, _, _, info = env.step(_hold(env))
    assert not info["is_intervention"]
    assert env.get_wrapper_attr("gripper_width")() < width0 - 0.02
    env.close()


def test_an_unplugged_device_holds_the_arm_and_says_which_device() -> None:
    dev = ManualDevice()
    env = _env(dev)
    env.reset(seed=5)
    dev.clutch, dev.twist = True, np.array([0.0, 1.0, 0, 0, 0, 0])
    env.step(_hold(env))
    dev.healthy = False
    pos0, _ = env.get_wrapper_attr("current_pose")()
    _, _, _, _, info = env.step(_hold(env))
    assert not info["is_intervention"]
    assert "manual device unplugged" in info["teleop_problem"]
    pos1, _ = env.get_wrapper_attr("current_pose")()
    for _ in range(3):
        env.step(_hold(env))
    pos2, _ = env.get_wrapper_attr("current_pose")()
    # The arm reaches the target the human left (it leads by at most the error clip)
    # and stays: the stale twist moves nothing.
    assert abs(pos1[1] - pos0[1]) < 0.025
    assert abs(pos2[1] - pos1[1]) < 0.005
    env.close()


def test_the_simulated_operator_as_a_device_drives_the_same_path() -> None:
    from silri_jax.operators import SimulatedOperator
    from silri_jax.operators.device import OperatorDevice

    dev = OperatorDevice(SimulatedOperator("expert", always=True, seed=0), "xyz")
    env = _env(dev)
    env.reset(seed=6)
    done, steps, info = False, 0, {}
    while not done:
        _, _, term, trunc, info = env.step(_hold(env))
        assert info["is_intervention"]
        done, steps = term or trunc, steps + 1
    assert info["success"], f"the expert failed through the mixer in {steps} steps"
    env.close()


def test_a_role_held_for_one_poll_of_a_step_is_reported_for_that_step() -> None:
    """``label_hold`` pressed for 10 ms of a 100 ms step still labels the step; the next
    step, without it, does not carry it."""
    dev = ManualDevice()
    env = _env(dev)
    env.reset(seed=0)
    dev.held_at = {dev.polls + 4}  # one poll in the middle of the next step
    _, _, _, _, info = env.step(_hold(env))
    assert info["teleop_held"] == ("label_hold",)
    _, _, _, _, info = env.step(_hold(env))
    assert info["teleop_held"] == ()
    env.close()
