"""The Python facade on the Franka and UR backends, against the fake SDKs: models and
their defaults, a link dropped mid-run, SDK error states, servoJ, the external wrench, and
``_bridge.FrankaGripper`` (also as ``FrankaHandDriver``'s client)."""

from __future__ import annotations

import time

import numpy as np
import pytest

from silri_jax import specs
from silri_jax.bridge import Bridge, ConnectionLost, ControlFault, SdkConnectionError, SdkError
from silri_jax.cpp_bridge import _bridge

fake = _bridge._fake_sdk
HOME_UR = [0.4, 0.1, 0.3, 0.0, 3.14159, 0.0]


def franka(**kw) -> Bridge:
    fake.franka_reset()
    opts = {"enforce_realtime": False, **kw.pop("backend_options", {})}
    return Bridge("franka", robot_ip="172.16.0.2", backend_options=opts, **kw)


def ur(**kw) -> Bridge:
    fake.ur_reset(HOME_UR)
    kw.setdefault("limits", {"orientation_ref": [0.0, 0.0, 1.0, 0.0],
                             "max_orientation_error": 0.5})
    return Bridge("ur", robot_ip="192.168.1.10", **kw)


def test_build_has_both_fake_backends() -> None:
    assert _bridge.HAVE_FRANKA and _bridge.HAVE_UR


def test_franka_models_choose_joint_limits() -> None:
    b = franka()
    np.testing.assert_allclose(b._core.safety_limits.q_max[3], -0.1518)
    b = franka(backend_options={"model": "panda"})
    np.testing.assert_allclose(b._core.safety_limits.q_min[5], -0.0175)
    with pytest.raises(ValueError, match=r"FrankaConfig\.model: unknown model 'fr2'"):
        franka(backend_options={"model": "fr2"})


def test_franka_link_dropped_mid_run_latches_disconnected() -> None:
    b = franka(watchdog={"policy_timeout_s": 100.0})
    fake.franka_set_external_wrench([0, 0, 5.0, 0, 0, 0])
    b.step(5)
    assert b.state().wrench[2] == pytest.approx(5.0)
    fake.franka_drop_network_after(10)
    with pytest.raises(ConnectionLost) as info:
        b.step(50)
    assert info.value.fault == "disconnected"
    writes = fake.franka_write_count()
    with pytest.raises(ConnectionLost):
        b.step(20)
    assert fake.franka_write_count() == writes  # the arm holds itself; nothing is sent
    assert not b.recover()
    fake.franka_set_network_down(False)
    assert b.recover()
    b.step(5)
    assert b.state().fault == "none"


def test_franka_reflex_is_a_backend_error() -> None:
    b = franka()
    b.step(5)
    fake.franka_inject_reflex_after(2, "joint_position_limits_violation")
    with pytest.raises(ControlFault, match="joint_position_limits_violation") as info:
        b.step(10)
    assert info.value.fault == "backend_error"
    assert not isinstance(info.value, ConnectionLost)
    assert b.recover()


def test_ur_models_commands_and_errors() -> None:
    assert ur(backend_options={"model": "cb3"}).period == pytest.approx(0.008)
    with pytest.raises(ValueError, match=r"URConfig\.command: unknown command 'movel'"):
        ur(backend_options={"command": "movel"})
    b = ur(backend_options={"command": "servoJ"}, watchdog={"policy_timeout_s": 100.0})
    assert b.period == pytest.approx(0.002)
    b.step(5)
    s = b.state()
    b.set_policy_target(s.ee_position + np.array([0.02, 0.0, 0.0]), s.ee_quat)
    b.step(500)
    assert fake.ur_tcp_pose()[0] == pytest.approx(0.42, abs=1e-3)
    assert fake.ur_servoj_count() == 505 and fake.ur_servo_count() == 0
    fake.ur_set_tcp_force([0, 0, 4.0, 0, 0, 0])
    b.step(1)
    assert b.state().wrench[2] == pytest.approx(4.0)
    fake.ur_set_protective_stop(True)
    with pytest.raises(ControlFault, match="protective") as info:
        b.step(2)
    assert info.value.fault == "backend_error"
    assert not b.recover()
    fake.ur_set_protective_stop(False)
    assert b.recover()
    b.step(2)
    fake.ur_set_connected(False)
    before = fake.ur_tcp_pose()
    with pytest.raises(ConnectionLost):
        b.step(10)
    assert fake.ur_tcp_pose() == before  # held


def test_franka_gripper_binding() -> None:
    fake.franka_reset()
    g = _bridge.FrankaGripper("172.16.0.2")
    assert g.homing()
    assert g.move(0.04, 0.1)
    state = g.readOnce()
    assert state.width == pytest.approx(0.04) and state.max_width == pytest.approx(0.08)
    fake.gripper_set_object(0.02)
    assert g.grasp(0.02, 0.1, 40.0, 0.005, 0.005)
    d = g.read()
    assert d == {"width": pytest.approx(0.02), "max_width": pytest.approx(0.08),
                 "is_grasped": True, "temperature": 31}
    assert g.stop()
    fake.gripper_fail_next("Move command rejected")
    with pytest.raises(SdkError, match="Move command rejected"):
        g.move(0.05, 0.1)
    fake.franka_set_network_down(True)
    with pytest.raises(SdkConnectionError):
        g.read()
    with pytest.raises(ConnectionError):
        _bridge.FrankaGripper("172.16.0.2")
    fake.franka_set_network_down(False)


def test_franka_hand_driver_takes_the_binding_as_its_client() -> None:
    from silri_jax.grippers.franka_hand import FrankaHandDriver

    fake.franka_reset()
    fake.gripper_set_object(0.03)
    driver = FrankaHandDriver("172.16.0.2", _bridge.FrankaGripper, grasp_width_m=0.0,
                              epsilon_outer_m=0.08)
    driver.connect()
    assert fake.gripper_homing_count() == 1
    driver.start_motion(specs.GRIPPER_CLOSE)
    deadline = time.monotonic() + 5.0
    while driver.read().busy and time.monotonic() < deadline:
        time.sleep(0.01)
    r = driver.read()
    assert r.grasped and r.width_m == pytest.approx(0.03)
    driver.disconnect()
