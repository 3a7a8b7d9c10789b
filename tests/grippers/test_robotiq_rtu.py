"""The Robotiq driver over Modbus RTU, against a fake serial port whose slave checks and
computes CRCs: frames match Robotiq's documented examples, the handshake, a grasp, an
unplugged adapter, a silent slave and an unopenable port."""

from __future__ import annotations

import pytest
from gripper_fakes import FakeModbusSerial, FakeRobotiqHardware, wait_until

from silri_jax.grippers import GripperConnectionError, GripperError, gripper_config, make_gripper
from silri_jax.grippers.modbus_rtu import crc16, decode_status, read_request, write_request
from silri_jax.specs import GRIPPER_CLOSE, GRIPPER_OPEN

# Frames from Robotiq's 2F-85/140 manual (Modbus RTU examples).
ACTIVATION_CLEAR = "09 10 03 e8 00 03 06 00 00 00 00 00 00 73 30"
CLOSE_FULL = "09 10 03 e8 00 03 06 09 00 00 ff ff ff 42 29"
READ_STATUS = "09 04 07 d0 00 03 b1 ce"


def test_frames_and_crc_match_the_manual():
    assert write_request(9, 0x03E8, bytes(6)).hex(" ") == ACTIVATION_CLEAR
    assert write_request(9, 0x03E8, bytes([9, 0, 0, 255, 255, 255])).hex(" ") == CLOSE_FULL
    assert read_request(9, 0x07D0, 3).hex(" ") == READ_STATUS
    # a full frame's CRC over everything including the CRC is 0
    assert crc16(bytes.fromhex(CLOSE_FULL)) == 0
    status = decode_status(bytes.fromhex("b9 00 00 ff bd 00"))
    assert (status.sta, status.obj, status.flt, status.pos) == (3, 2, 0, 0xBD)


def _cfg(**overrides):
    cfg = gripper_config()
    cfg.update(kind="robotiq_rtu", serial_port="/dev/ttyFAKE0", refractory_s=0.0,
               poll_s=0.01, timeout_s=0.2, activation_timeout_s=3.0)
    cfg.update(overrides)
    return cfg


def _opener(port: FakeModbusSerial, opened: list[tuple[str, int, float]]):
    def factory(path: str, baudrate: int, timeout_s: float) -> FakeModbusSerial:
        opened.append((path, baudrate, timeout_s))
        port.closed = False
        return port
    return factory


def test_handshake_grasp_and_release_over_modbus():
    hardware = FakeRobotiqHardware(object_at=200)
    port = FakeModbusSerial(hardware)
    opened: list = []
    with make_gripper(_cfg(), serial_factory=_opener(port, opened)) as gripper:
        assert opened == [("/dev/ttyFAKE0", 115200, 0.2)]
        writes = [r for r in port.requests if r[1] == 0x10]
        assert writes[0].hex(" ") == ACTIVATION_CLEAR  # reset: all zero
        assert writes[1][7] == 0x01  # then rACT
        assert all(r.hex(" ") == READ_STATUS for r in port.requests if r[1] == 0x04)
        gripper.command(GRIPPER_CLOSE)
        assert wait_until(lambda: gripper.state().grasped)
        assert gripper.state().width_m == pytest.approx(0.085 * 55 / 255, abs=1e-3)
        last = [r for r in port.requests if r[1] == 0x10][-1]
        assert last[7] == 0x09 and last[10] == 255  # rACT|rGTO, rPR
        gripper.command(GRIPPER_OPEN)
        assert wait_until(lambda: gripper.state().width_m > 0.084)
        assert not gripper.state().grasped
    assert port.closed


def test_unplugged_adapter_is_a_fault_and_recover_reopens():
    hardware = FakeRobotiqHardware()
    port = FakeModbusSerial(hardware)
    opened: list = []
    with make_gripper(_cfg(), serial_factory=_opener(port, opened)) as gripper:
        port.unplugged = True
        assert wait_until(lambda: gripper.state().fault != "")
        fault = gripper.state().fault
        assert "/dev/ttyFAKE0" in fault and "unplugged" in fault
        port.unplugged = False
        assert gripper.state().fault == fault
        assert gripper.recover(timeout_s=10).fault == ""
        assert len(opened) == 2
        gripper.command(GRIPPER_CLOSE)
        assert wait_until(lambda: gripper.state().width_m < 0.001)


def test_silent_slave_names_port_slave_and_what_to_check():
    port = FakeModbusSerial(FakeRobotiqHardware(), silent=True)
    with pytest.raises(GripperConnectionError) as e:
        make_gripper(_cfg(), serial_factory=_opener(port, []))
    text = str(e.value)
    for hint in ("/dev/ttyFAKE0", "slave 9", "powered", "RS-485", "115200"):
        assert hint in text
    assert port.closed


def test_unopenable_port_says_what_to_check():
    def refuse(path: str, baudrate: int, timeout_s: float):
        raise PermissionError(13, "Permission denied", path)

    with pytest.raises(GripperConnectionError) as e:
        make_gripper(_cfg(), serial_factory=refuse)
    text = str(e.value)
    for hint in ("/dev/ttyFAKE0", "Permission denied", "dialout", "ls /dev/ttyUSB*"):
        assert hint in text


def test_modbus_exception_reply_is_an_error():
    port = FakeModbusSerial(FakeRobotiqHardware())
    port.exception_code = 2
    with pytest.raises(GripperError, match="Modbus exception 2 \\(illegal data address\\)"):
        make_gripper(_cfg(), serial_factory=_opener(port, []))
