"""Safety through the Python facade (test plant): target jump and NaN rejection counted in
the state, joint limits, the hold-then-stop watchdog, reset(), faults only cleared by
recover(), and the new state fields."""

from __future__ import annotations

import math

import numpy as np
import pytest

from silri_jax.bridge import Bridge, ControlFault, SafetyViolation
from silri_jax.bridge.state import FAULT_NAMES
from silri_jax.cpp_bridge import _bridge

IDENTITY = [1.0, 0.0, 0.0, 0.0]


def make(**kw) -> Bridge:
    kw.setdefault("plant", {"initial_position": [0.3, 0.0, 0.3]})
    return Bridge("test", **kw)


def test_new_state_fields_and_defaults() -> None:
    b = make()
    b.step(2)
    s = b.state()
    np.testing.assert_array_equal(s.wrench, np.zeros(6))  # the test plant measures none
    assert s.rejected_targets == 0 and not s.near_joint_limit
    assert {"joint_limit", "watchdog_stop"} <= set(FAULT_NAMES)
    lim, wd = _bridge.SafetyLimits(), _bridge.WatchdogConfig()
    assert lim.max_target_jump_m == 0.1 and lim.max_target_jump_rad == 0.5
    assert lim.joint_margin == 0.1 and len(lim.q_min) == 0
    assert wd.stop_timeout_s == 2.0
    assert "rejected_targets" in b.metrics() and "joint_limit_ticks" in b.metrics()


def test_jump_and_nan_targets_are_rejected_and_counted() -> None:
    b = make(watchdog={"policy_timeout_s": 100.0}, control_mode="policy")
    b.step(2)
    start = b.state().target_position.copy()
    b.set_policy_target([0.3, 0.2, 0.3], IDENTITY)  # 20 cm: rejected in the loop
    b.step(200)
    s = b.state()
    assert s.rejected_targets == 1
    np.testing.assert_array_equal(s.target_position, start)  # held
    with pytest.raises(SafetyViolation):
        b.set_policy_target([np.nan, 0.0, 0.3], IDENTITY)
    assert b.state().rejected_targets == 2
    assert b.metrics()["rejected_targets"] == 2
    b.set_policy_target([0.3, 0.05, 0.3], IDENTITY)
    b.step(300)
    assert b.state().target_position[1] == pytest.approx(0.05)
    b.set_safety_limits(max_target_jump_m=math.inf)  # inf: no check
    b.set_policy_target([0.3, 0.25, 0.3], IDENTITY)
    b.step(600)
    assert b.state().target_position[1] == pytest.approx(0.25)
    assert b.state().rejected_targets == 2
    with pytest.raises(SafetyViolation, match="max_target_jump"):
        b.set_safety_limits(max_target_jump_rad=0.0)


def test_joint_limits_repel_and_latch() -> None:
    limits = {"q_min": [-1.0] * 6, "q_max": [0.35, 1, 1, 1, 1, 1], "joint_margin": 0.05}
    b = make(limits=limits, plant={"initial_position": [0.32, 0.0, 0.3]})
    b.step(1)
    s = b.state()
    assert s.near_joint_limit and s.tau[0] < 0.0
    np.testing.assert_allclose(b._core.safety_limits.q_max, limits["q_max"])
    with pytest.raises(SafetyViolation, match="q_min"):
        b.set_safety_limits(q_min=[-1.0] * 6, q_max=[])
    with pytest.raises(SafetyViolation, match="one entry per joint"):
        b.set_safety_limits(q_min=[-1.0] * 3, q_max=[1.0] * 3)


def test_watchdog_holds_then_stops_and_only_recover_clears() -> None:
    b = make(watchdog={"policy_timeout_s": 0.1, "stop_timeout_s": 0.2})
    b.step(1)
    b.set_policy_target([0.31, 0.0, 0.3], IDENTITY)
    b.step(250)
    assert b.state().policy_stale and b.state().fault == "none"  # holding
    with pytest.raises(ControlFault) as info:
        b.step(100)
    assert info.value.fault == "watchdog_stop"
    b.set_mode("policy")
    b.set_teleop([0.05, 0, 0, 0, 0, 0], True)
    with pytest.raises(ControlFault):
        b.set_policy_target([0.3, 0.0, 0.3], IDENTITY)
    with pytest.raises(ControlFault):
        b.reset()
    with pytest.raises(ControlFault):
        b.step(10)
    assert b.state().fault == "watchdog_stop"
    assert b.recover()
    b.step(1000)  # the old set-point does not re-arm it
    assert b.state().fault == "none"


def test_reset_starts_the_target_over_at_the_measured_pose() -> None:
    b = make(watchdog={"policy_timeout_s": 100.0}, control_mode="policy")
    b.step(5)
    b.set_policy_target([0.32, 0.0, 0.3], IDENTITY)
    b.reset()  # the goal above is history
    b.step(200)
    np.testing.assert_allclose(b.state().target_position, [0.3, 0.0, 0.3], atol=1e-9)
    b.reset()
    b.set_policy_target([0.33, 0.0, 0.3], IDENTITY)
    b.step(300)
    assert b.state().target_position[0] == pytest.approx(0.33)


def test_model_and_command_choices_are_refused_by_name() -> None:
    if _bridge.HAVE_UR:
        with pytest.raises(ValueError, match=r"URConfig\.model.*'e-series', 'cb3'"):
            Bridge("ur", backend_options={"model": "cb2"})
        with pytest.raises(ValueError, match=r"URConfig\.command.*'servoL', 'servoJ'"):
            Bridge("ur", backend_options={"command": "movel"})
    if _bridge.HAVE_FRANKA:
        with pytest.raises(ValueError, match=r"FrankaConfig\.model.*'fr3', 'panda'"):
            Bridge("franka", backend_options={"model": "fr2"})
