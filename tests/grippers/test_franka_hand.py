"""The Franka Hand driver over a fake ``franka::Gripper`` whose move and grasp block:
homing, grasps (an empty one is no fault), preemption with stop() from a second thread,
a failed move and a network error as faults, and recovery through the client factory."""

from __future__ import annotations

import time

import pytest
from gripper_fakes import FakeFrankaGripper, FakeNetworkException, wait_until

from silri_jax.grippers import GripperConnectionError, gripper_config, make_gripper
from silri_jax.specs import GRIPPER_CLOSE, GRIPPER_OPEN


def _cfg(**overrides):
    cfg = gripper_config()
    cfg.update(kind="franka_hand", address="172.16.0.2", refractory_s=0.0, poll_s=0.01,
               speed=0.1, force=30.0)
    cfg.update(overrides)
    return cfg


def _factory(clients: list[FakeFrankaGripper], **kwargs):
    def make(address: str) -> FakeFrankaGripper:
        assert address == "172.16.0.2"
        clients.append(FakeFrankaGripper(**kwargs))
        return clients[-1]
    return make


def test_connect_homes_and_close_grasps_the_object():
    clients: list[FakeFrankaGripper] = []
    with make_gripper(_cfg(), client_factory=_factory(clients, object_width=0.03)) as g:
        client = clients[0]
        assert client.names() == ["homing"]
        assert g.state().width_m == pytest.approx(0.08)
        g.command(GRIPPER_CLOSE)
        assert wait_until(lambda: g.state().grasped)
        assert g.state().width_m == pytest.approx(0.03)
        assert not g.state().busy and g.state().fault == ""
        _, name, args = client.calls[-1]
        assert name == "grasp" and args == (0.0, 0.1, 30.0, 0.005, 0.08)
        g.command(GRIPPER_OPEN)
        assert wait_until(lambda: g.state().width_m == pytest.approx(0.08))
        assert client.calls[-1][1:] == ("move", (0.08, 0.1))  # open_width_m clamped
        assert not g.state().grasped


def test_empty_grasp_is_not_a_fault_and_not_grasped():
    clients: list[FakeFrankaGripper] = []
    with make_gripper(_cfg(), client_factory=_factory(clients)) as g:
        g.command(GRIPPER_CLOSE)
        assert wait_until(lambda: g.state().width_m == 0.0 and not g.state().busy)
        time.sleep(0.05)
        # libfranka reports the grasp (0 lies in its window) but the fingers hold nothing
        assert clients[0].is_grasped
        assert not g.state().grasped and g.state().fault == ""


def test_a_new_command_preempts_the_running_motion_with_stop():
    clients: list[FakeFrankaGripper] = []
    # slow fingers: a full close takes about 1.6 s
    with make_gripper(_cfg(speed=0.05), client_factory=_factory(clients, speed_scale=1.0)) as g:
        client = clients[0]
        g.command(GRIPPER_CLOSE)
        assert wait_until(lambda: g.state().busy and g.state().width_m < 0.07)
        g.command(GRIPPER_OPEN)
        assert wait_until(lambda: client.names()[-1] == "move")
        assert client.names() == ["homing", "grasp", "stop", "move"]
        assert wait_until(lambda: g.state().width_m == pytest.approx(0.08)
                          and not g.state().busy)
        # the aborted grasp raised (CommandException) but was stopped on purpose
        assert g.state().fault == ""
        assert g.state().command == GRIPPER_OPEN


def test_a_failed_move_is_a_fault():
    clients: list[FakeFrankaGripper] = []
    with make_gripper(_cfg(), client_factory=_factory(clients)) as g:
        g.command(GRIPPER_CLOSE)
        assert wait_until(lambda: g.state().width_m == 0.0 and not g.state().busy)
        clients[0].move_result = False
        g.command(GRIPPER_OPEN)
        assert wait_until(lambda: g.state().fault != "")
        fault = g.state().fault
        assert "Franka Hand (172.16.0.2)" in fault and "move(0.0800 m) did not complete" in fault


def test_network_error_is_a_fault_and_recover_makes_a_new_client():
    clients: list[FakeFrankaGripper] = []
    with make_gripper(_cfg(), client_factory=_factory(clients)) as g:
        clients[0].broken = True
        assert wait_until(lambda: g.state().fault != "")
        assert "UDP receive: Timeout" in g.state().fault
        calls = len(clients[0].calls)
        time.sleep(0.2)
        assert len(clients) == 1 and len(clients[0].calls) == calls  # nothing retried
        assert g.recover(timeout_s=10).fault == ""
        assert len(clients) == 2 and clients[1].names() == ["homing"]
        g.command(GRIPPER_CLOSE)
        assert wait_until(lambda: clients[1].names()[-1] == "grasp")


def test_unreachable_hand_names_the_address_and_what_to_check():
    def refuse(address: str):
        raise FakeNetworkException("libfranka: Connection timeout")

    with pytest.raises(GripperConnectionError) as e:
        make_gripper(_cfg(), client_factory=refuse)
    text = str(e.value)
    for hint in ("172.16.0.2", "Connection timeout", "FCI", "Desk", "ping 172.16.0.2"):
        assert hint in text


def test_without_a_client_the_error_says_how_to_give_one():
    with pytest.raises(GripperConnectionError, match="client_factory"):
        make_gripper(_cfg())


def test_homing_can_be_turned_off_and_a_connected_client_passed():
    client = FakeFrankaGripper()
    client.width = 0.05
    with make_gripper(_cfg(homing=False), client=client) as g:
        assert client.names() == []
        assert g.state().width_m == pytest.approx(0.05)
