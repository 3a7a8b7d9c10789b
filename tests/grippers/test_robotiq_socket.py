"""The Robotiq driver through the URCap's ASCII socket, against a fake URCap server with
moving fingers: the activation handshake, grasps, the worker semantics on the wire, a
dropped connection and recovery, and the errors for an unreachable gripper."""

from __future__ import annotations

import itertools
import socket
import statistics
import time

import pytest
from gripper_fakes import FakeRobotiqHardware, FakeRobotiqServer, wait_until

from silri_jax.grippers import GripperConnectionError, gripper_config, make_gripper
from silri_jax.grippers.robotiq import RobotiqCalibration, RobotiqDriver, RobotiqSocketTransport
from silri_jax.specs import GRIPPER_CLOSE, GRIPPER_OPEN


@pytest.fixture
def hardware():
    return FakeRobotiqHardware(object_at=150)


@pytest.fixture
def server(hardware):
    s = FakeRobotiqServer(hardware)
    yield s
    s.close()


def _cfg(server: FakeRobotiqServer, **overrides):
    cfg = gripper_config()
    cfg.kind = "robotiq_socket"
    cfg.address = "127.0.0.1"
    cfg.port = server.port
    cfg.refractory_s = 0.0
    cfg.poll_s = 0.01
    cfg.activation_timeout_s = 3.0
    cfg.update(overrides)
    return cfg


def _activations(hardware: FakeRobotiqHardware) -> list[int]:
    return [v["ACT"] for _, v in hardware.sets if "ACT" in v]


def test_activation_handshake_resets_then_waits_for_sta_3(server, hardware):
    hardware.activation_s = 0.2
    t0 = time.monotonic()
    with make_gripper(_cfg(server)) as gripper:
        assert time.monotonic() - t0 >= 0.2  # waited for STA 3
        assert _activations(hardware) == [0, 1]
        assert hardware.sta == 3 and hardware.gotos == []
        state = gripper.state()
        assert state.fault == "" and not state.busy
        assert state.width_m == pytest.approx(0.085)  # fingers at 0: fully open


def test_close_on_an_object_is_a_grasp_and_open_releases_it(server, hardware):
    with make_gripper(_cfg(server)) as gripper:
        gripper.command(GRIPPER_CLOSE)
        assert wait_until(lambda: gripper.state().grasped)
        state = gripper.state()
        # stopped at count 150 of 0..255 over 85 mm
        assert state.width_m == pytest.approx(0.085 * 105 / 255, abs=1e-3)
        assert not state.busy and state.command == GRIPPER_CLOSE
        assert hardware.gotos[-1][1] == 255  # grasp_width_m = 0: as far as they go
        gripper.command(GRIPPER_OPEN)
        assert wait_until(lambda: gripper.state().width_m > 0.084
                          and not gripper.state().busy)
        assert not gripper.state().grasped
        assert hardware.gotos[-1][1] == 0


def test_speed_force_and_calibrated_widths_go_on_the_wire(server, hardware):
    cfg = _cfg(server, speed=0.15, force=20.0, open_counts=3, closed_counts=228,
               open_width_m=0.05)
    with make_gripper(cfg) as gripper:
        gripper.command(GRIPPER_OPEN)
        assert wait_until(lambda: len(hardware.gotos) == 1)
        _, values = hardware.sets[-1]
        assert values["SPE"] == 255 and values["FOR"] == 0 and values["GTO"] == 1
        assert values["POS"] == round(228 - 0.05 / 0.085 * 225)
    cal = RobotiqCalibration(3, 228, 0.085)
    assert cal.width(3) == pytest.approx(0.085) and cal.width(228) == 0.0
    assert cal.width(255) == 0.0 and cal.width(0) == pytest.approx(0.085)


def test_command_latency_while_the_gripper_moves(server, hardware):
    hardware.counts_per_s = 100.0  # a slow gripper: always moving
    with make_gripper(_cfg(server)) as gripper:
        durations = []
        for i in range(1000):
            t0 = time.perf_counter()
            gripper.command(GRIPPER_CLOSE if i % 2 else GRIPPER_OPEN)
            durations.append(time.perf_counter() - t0)
            if i % 50 == 0:
                time.sleep(0.005)  # let socket traffic interleave with the calls
        assert statistics.median(durations) < 1e-3
        assert max(durations) < 0.5  # generous: a loaded 2-core machine deschedules
        assert gripper.state().fault == ""


def test_latest_wins_on_the_wire_close_then_open_ends_open(server, hardware):
    hardware.counts_per_s = 400.0
    with make_gripper(_cfg(server, refractory_s=0.3)) as gripper:
        gripper.command(GRIPPER_CLOSE)
        gripper.command(GRIPPER_OPEN)
        assert wait_until(lambda: gripper.state().command == GRIPPER_OPEN
                          and not gripper.state().busy)
        time.sleep(0.4)
        positions = [p for _, p in hardware.gotos]
        # the close ran at most once (if the worker took it before the open arrived),
        # and never after the open
        assert positions in ([0], [255, 0])
        assert gripper.state().width_m == pytest.approx(0.085)


def test_refractory_time_and_no_repeats_on_the_wire(server, hardware):
    with make_gripper(_cfg(server, refractory_s=0.2)) as gripper:
        t_end = time.monotonic() + 1.0
        i = 0
        while time.monotonic() < t_end:
            g = GRIPPER_CLOSE if (i // 3) % 2 else GRIPPER_OPEN  # each command 3 times
            gripper.command(g)
            i += 1
            time.sleep(0.02)
        assert wait_until(lambda: not gripper.state().busy)
        times = [t for t, _ in hardware.gotos]
        positions = [p for _, p in hardware.gotos]
        assert len(times) >= 3
        # the server stamps on arrival; the worker counts from each ack, so it is later
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.2 - 0.01
        assert all(a != b for a, b in itertools.pairwise(positions))


def test_dropped_connection_is_a_fault_until_recover(server, hardware):
    with make_gripper(_cfg(server)) as gripper:
        gripper.command(GRIPPER_CLOSE)
        assert wait_until(lambda: gripper.state().grasped)
        server.drop()
        assert wait_until(lambda: gripper.state().fault != "")
        fault = gripper.state().fault
        assert f"127.0.0.1:{server.port}" in fault and "recover()" in fault
        # no silent reconnection
        time.sleep(0.3)
        assert server.accepted == 1 and gripper.state().fault == fault
        gripper.command(GRIPPER_OPEN)  # dropped while faulted
        time.sleep(0.1)
        assert [p for _, p in hardware.gotos] == [255]
        state = gripper.recover(timeout_s=10)
        assert state.fault == "" and server.accepted == 2
        assert _activations(hardware) == [0, 1, 0, 1]  # re-activated
        gripper.command(GRIPPER_OPEN)
        assert wait_until(lambda: gripper.state().width_m > 0.084)


def test_gripper_fault_code_is_reported(server, hardware):
    with make_gripper(_cfg(server)) as gripper:
        with hardware.lock:
            hardware.flt = 0x0E
        assert wait_until(lambda: "0x0E" in gripper.state().fault)
        assert "overcurrent" in gripper.state().fault
        hardware.flt = 0
        assert gripper.recover(timeout_s=10).fault == ""


def test_unreachable_urcap_names_the_address_and_what_to_check():
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = gripper_config()
    cfg.update(kind="robotiq_socket", address="127.0.0.1", port=port, timeout_s=0.5)
    with pytest.raises(GripperConnectionError) as e:
        make_gripper(cfg)
    text = str(e.value)
    assert f"127.0.0.1:{port}" in text
    for hint in ("URCap", "Remote Control", "ping 127.0.0.1"):
        assert hint in text


def test_a_gripper_that_never_activates_says_so(server, hardware):
    hardware.activates = False
    transport = RobotiqSocketTransport("127.0.0.1", server.port, timeout_s=1.0)
    driver = RobotiqDriver(transport, activation_timeout_s=0.3)
    with pytest.raises(GripperConnectionError, match=r"activation \(ACT 1\).*STA=1"):
        driver.connect()


def test_missing_address_is_a_config_error():
    cfg = gripper_config()
    cfg.kind = "robotiq_socket"
    with pytest.raises(ValueError, match=r"gripper\.address"):
        make_gripper(cfg)
