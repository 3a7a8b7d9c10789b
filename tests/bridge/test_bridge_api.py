"""The Python facade: lifecycle, typed errors, settings, state and intervention counts."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.bridge import Bridge, ConnectionLost, ControlFault, SafetyViolation

IDENTITY = [1.0, 0.0, 0.0, 0.0]


def make(**kw) -> Bridge:
    kw.setdefault("plant", {"initial_position": [0.3, 0.0, 0.3]})
    return Bridge("test", **kw)


def test_lockstep_converges_to_policy_target() -> None:
    with make(watchdog={"policy_timeout_s": 10.0}) as b:
        b.step(1)
        b.set_policy_target([0.34, -0.02, 0.31], IDENTITY)
        b.step(3000)
        s = b.state()
    np.testing.assert_allclose(s.ee_position, [0.34, -0.02, 0.31], atol=1e-3)
    assert s.tick == 3001
    assert s.time == pytest.approx(3.001)
    assert s.fault == "none"
    assert b.metrics()["torque_violations"] == 0


def test_target_is_clipped_to_the_box() -> None:
    with make(limits={"box_min": [-0.5, -0.5, 0.2], "box_max": [0.32, 0.5, 0.8]}) as b:
        b.step(1)
        b.set_policy_target([0.39, 0.0, 0.3], IDENTITY)  # within max_target_jump_m
        b.step(2000)
        s = b.state()
    assert s.target_position[0] == pytest.approx(0.32)
    assert s.ee_position[0] < 0.33


def test_non_finite_inputs_raise_safety_violation() -> None:
    with make() as b:
        with pytest.raises(SafetyViolation, match="finite"):
            b.set_policy_target([np.nan, 0.0, 0.0], IDENTITY)
        with pytest.raises(SafetyViolation):
            b.set_teleop([0, 0, np.inf, 0, 0, 0], True)
        with pytest.raises(SafetyViolation, match="box_min"):
            b.set_safety_limits(box_min=[1.0, 1.0, 1.0], box_max=[0.0, 0.0, 0.0])
        with pytest.raises(SafetyViolation, match="filter"):
            b.set_gains(target_filter=0.0)
        with pytest.raises(TypeError, match="stifness"):
            b.set_gains(stifness=[1] * 6)
        with pytest.raises(ValueError, match="shape"):
            b.set_gains(stiffness=[1, 2, 3])
        with pytest.raises(ValueError, match="control mode"):
            b.set_mode("autopilot")


def test_disconnect_raises_connection_lost_and_recover_needs_the_link() -> None:
    b = make()
    b.step(10)
    assert not b.recover()  # nothing to clear
    b.test_plant.set_connected(False)
    with pytest.raises(ConnectionLost) as info:
        b.step(5)
    assert info.value.fault == "disconnected"
    assert info.value.tick == 10
    assert isinstance(info.value, ControlFault)
    assert b.state().fault == "disconnected"
    with pytest.raises(ConnectionLost):
        b.step(1)  # latched
    assert not b.recover()  # still disconnected
    b.test_plant.set_connected(True)
    assert b.recover()
    b.step(5)
    assert b.state().fault == "none"


def test_sdk_error_raises_control_fault_with_the_message() -> None:
    b = make()
    b.step(3)
    b.test_plant.inject_error()
    with pytest.raises(ControlFault, match="injected SDK error") as info:
        b.step(3)
    assert not isinstance(info.value, ConnectionLost)
    assert info.value.fault == "backend_error"
    with pytest.raises(ControlFault):
        b.set_policy_target([0.3, 0.0, 0.3], IDENTITY)
    assert b.recover()
    assert b.test_plant.recover_calls == 1


def test_intervention_counts_cover_the_window_between_reads() -> None:
    b = make(control_mode="shared")
    b.step(5)
    b.state()
    b.set_teleop([0.05, 0, 0, 0, 0, 0], True)
    b.step(37)
    b.set_teleop([0.05, 0, 0, 0, 0, 0], False)
    b.step(63)
    s = b.state()
    assert not s.intervention
    assert s.intervened_ticks == 37
    assert s.ticks_since_last_read == 100
    b.step(1)
    assert b.state().intervened_ticks == 0


def test_gains_change_at_run_time() -> None:
    b = make(gains={"gain_filter": 1.0, "target_filter": 1.0, "nullspace_stiffness": 0.0,
                    "nullspace_damping": 0.0})
    b.step(1)
    b.set_policy_target([0.305, 0.0, 0.3], IDENTITY)
    b.set_gains(stiffness=[100.0, 100, 100, 10, 10, 10], damping=[0.0] * 6,
                gain_filter=1.0)
    b.step(1)
    s = b.state()
    # tick 1 of a 100 ms interpolation toward +5 mm: target moved 0.05 mm; spring 100 N/m.
    assert s.tau[0] == pytest.approx(100 * 0.005 / 100, rel=1e-6)


def test_realtime_context_manager_runs_and_stops() -> None:
    with make(run="realtime", watchdog={"policy_timeout_s": 5.0}) as b:
        assert b.running
        b.set_policy_target([0.32, 0.0, 0.3], IDENTITY)
        b.wait(0.4)
        s = b.state()
        with pytest.raises(RuntimeError, match="lockstep"):
            b.step(1)
    assert not b.running
    assert s.tick > 100
    assert s.ee_position[0] > 0.31
    t = b.timings()
    assert len(t["compute_us"]) == s.tick or len(t["compute_us"]) >= s.tick


def test_bad_backend_and_run_names() -> None:
    with pytest.raises(ValueError, match="backend"):
        Bridge("kuka")
    with pytest.raises(ValueError, match="lockstep"):
        Bridge("test", run="fast")
    with pytest.raises(ValueError, match="model"):
        Bridge("mujoco")


def test_injected_read_delay_shows_as_overruns_in_realtime() -> None:
    with make(run="realtime") as b:
        b.wait_ticks(20)
        before = b.metrics()["overruns"]
        b.test_plant.delay(0.005, 3)  # three reads take 5 ms each: past the 1 ms deadline
        b.wait_ticks(50)
        assert b.metrics()["overruns"] >= before + 3
        assert b.state().fault == "none"  # late, but the state kept advancing


def test_realtime_fault_interrupts_wait_and_recover_resumes() -> None:
    with make(run="realtime") as b:
        b.wait_ticks(10)
        b.test_plant.inject_error()
        with pytest.raises(ControlFault, match="injected SDK error"):
            b.wait(5.0)
        assert b.state().fault == "backend_error"
        assert b.recover()
        b.wait(0.05)
        tick = b.state().tick
        b.wait(0.05)
        assert b.state().tick > tick
        assert b.state().fault == "none"
