"""The Robotiq gripper over Modbus RTU (a USB-RS485 adapter on the gripper's cable).

The gripper is slave 9 at 115200 baud, 8N1. Requests (robot output) are three holding
registers at 0x03E8, written with function 0x10 as six bytes:

    byte 0  action request: rACT (bit 0), rGTO (bit 3), rATR (bit 4), rARD (bit 5)
    byte 1-2  reserved
    byte 3  rPR position request, byte 4 rSP speed, byte 5 rFR force

Status (robot input) is three input registers at 0x07D0, read with function 0x04:

    byte 0  gACT (bit 0), gGTO (bit 3), gSTA (bits 4-5), gOBJ (bits 6-7)
    byte 1  reserved
    byte 2  gFLT (low nibble), kFLT (high nibble)
    byte 3  gPR position request echo, byte 4 gPO position, byte 5 gCU current

Every frame ends with the Modbus CRC16 (polynomial 0xA001 reflected, initial 0xFFFF),
low byte first. The serial port is opened with pyserial unless a factory is injected.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from typing import Protocol

from silri_jax.grippers.base import GripperConnectionError, GripperError, describe_error
from silri_jax.grippers.robotiq import RobotiqStatus, RobotiqTransport

DEFAULT_SLAVE_ID = 9
DEFAULT_BAUDRATE = 115200
OUTPUT_REGISTERS = 0x03E8
INPUT_REGISTERS = 0x07D0
FC_READ_INPUT_REGISTERS = 0x04
FC_WRITE_MULTIPLE_REGISTERS = 0x10

RACT, RGTO = 0x01, 0x08

EXCEPTIONS = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "slave device failure",
    6: "slave device busy",
}


class SerialLike(Protocol):
    """The part of ``serial.Serial`` the transport uses (a fake in tests)."""

    def write(self, data: bytes) -> int | None: ...
    def read(self, size: int) -> bytes: ...
    def reset_input_buffer(self) -> None: ...
    def close(self) -> None: ...


SerialFactory = Callable[[str, int, float], SerialLike]


def crc16(data: bytes) -> int:
    """The Modbus RTU CRC16 of ``data``."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC, low byte first."""
    return body + struct.pack("<H", crc16(body))


def write_request(slave: int, address: int, payload: bytes) -> bytes:
    """A function 0x10 frame writing ``payload`` (an even number of bytes) at ``address``."""
    count = len(payload) // 2
    return with_crc(struct.pack(">BBHHB", slave, FC_WRITE_MULTIPLE_REGISTERS, address, count,
                                len(payload)) + payload)


def read_request(slave: int, address: int, count: int) -> bytes:
    """A function 0x04 frame reading ``count`` input registers at ``address``."""
    return with_crc(struct.pack(">BBHH", slave, FC_READ_INPUT_REGISTERS, address, count))


def decode_status(data: bytes) -> RobotiqStatus:
    """The six status bytes as ``RobotiqStatus``."""
    return RobotiqStatus(sta=(data[0] >> 4) & 0x3, obj=(data[0] >> 6) & 0x3,
                         flt=data[2] & 0x0F, pos=data[4])


def open_pyserial(port: str, baudrate: int, timeout_s: float) -> SerialLike:
    """Opens ``port`` 8N1 with pyserial (imported here: only this transport needs it)."""
    try:
        import serial  # type: ignore[import-not-found]
    except ImportError as e:
        raise GripperConnectionError(
            "gripper.kind=robotiq_rtu needs pyserial: pip install pyserial") from e
    return serial.Serial(port=port, baudrate=baudrate, bytesize=8, parity="N", stopbits=1,
                         timeout=timeout_s)


class RobotiqRtuTransport(RobotiqTransport):
    """Modbus RTU master for one Robotiq gripper on a serial port."""

    def __init__(self, port: str, *, slave_id: int = DEFAULT_SLAVE_ID,
                 baudrate: int = DEFAULT_BAUDRATE, timeout_s: float = 0.5,
                 serial_factory: SerialFactory | None = None) -> None:
        if not port:
            raise ValueError("the Robotiq Modbus RTU transport needs a serial port "
                             "(gripper.serial_port, e.g. /dev/ttyUSB0)")
        if not 1 <= slave_id <= 247:
            raise ValueError(f"Modbus slave id must be in 1..247, got {slave_id}")
        self.port, self.slave_id = port, int(slave_id)
        self.baudrate, self.timeout_s = int(baudrate), float(timeout_s)
        self._factory = serial_factory or open_pyserial
        self.describe = f"Modbus RTU {port}, slave {slave_id}"
        self._serial: SerialLike | None = None

    def open(self) -> None:
        try:
            self._serial = self._factory(self.port, self.baudrate, self.timeout_s)
        except GripperConnectionError:
            raise
        except Exception as e:  # pyserial raises SerialException (an OSError) and others
            raise GripperConnectionError(
                f"cannot open serial port {self.port} for the Robotiq gripper "
                f"({describe_error(e)}); check: the USB-RS485 adapter is plugged in "
                "(ls /dev/ttyUSB*), you may read and write it (ls -l the port; add yourself "
                "to its group, usually dialout: sudo usermod -aG dialout $USER, then log in "
                "again), and no other program holds it") from e
        try:
            self.status()  # an open port proves nothing: ask the gripper once
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except Exception:
                pass

    def _transact(self, request: bytes, reply_len: int) -> bytes:
        """Sends ``request``; returns the reply's data bytes (after slave and function;
        ``reply_len`` counts the whole reply frame, CRC included)."""
        ser = self._serial
        if ser is None:
            raise GripperConnectionError(f"{self.describe} is not open")
        try:
            ser.reset_input_buffer()
            ser.write(request)
            head = ser.read(2)
            if len(head) == 2 and head[1] & 0x80:
                rest = ser.read(3)
            else:
                rest = ser.read(reply_len - len(head)) if len(head) == 2 else b""
        except Exception as e:  # an unplugged adapter raises SerialException / OSError
            raise GripperConnectionError(
                f"serial port {self.port} failed ({describe_error(e)}): was the USB-RS485 "
                "adapter unplugged? recover() reopens it") from e
        frame = head + rest
        if len(head) < 2 or (not head[1] & 0x80 and len(frame) < reply_len):
            raise GripperConnectionError(
                f"no reply (or a short one: {len(frame)} of {reply_len} bytes) from slave "
                f"{self.slave_id} on {self.port} within {self.timeout_s} s; check: the "
                "gripper is powered (24 V, LED on), the RS-485 wiring, the slave id "
                f"({self.slave_id}) and the baud rate ({self.baudrate})")
        if struct.unpack("<H", frame[-2:])[0] != crc16(frame[:-2]):
            raise GripperError(f"bad CRC in the reply from {self.describe}: {frame.hex(' ')}; "
                               "check the RS-485 wiring and termination")
        if frame[0] != self.slave_id or (frame[1] & 0x7F) != request[1]:
            raise GripperError(f"unexpected reply from {self.describe}: {frame.hex(' ')}")
        if frame[1] & 0x80:
            code = frame[2]
            raise GripperError(f"{self.describe} refused the request: Modbus exception "
                               f"{code} ({EXCEPTIONS.get(code, 'unknown')})")
        return frame[2:-2]

    def _write(self, action: int, pos: int = 0, speed: int = 0, force: int = 0) -> None:
        payload = bytes([action, 0, 0, pos, speed, force])
        self._transact(write_request(self.slave_id, OUTPUT_REGISTERS, payload), 8)

    def reset(self) -> None:
        self._write(0)

    def activate(self) -> None:
        self._write(RACT)

    def goto(self, pos: int, speed: int, force: int) -> None:
        self._write(RACT | RGTO, pos, speed, force)

    def status(self) -> RobotiqStatus:
        data = self._transact(read_request(self.slave_id, INPUT_REGISTERS, 3), 11)
        if data[0] != 6:
            raise GripperError(f"{self.describe} returned {data[0]} status bytes, not 6")
        return decode_status(data[1:])
