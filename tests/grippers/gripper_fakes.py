"""Fakes of the grippers' far ends: a Robotiq gripper (the finger model) behind the URCap
ASCII socket or a Modbus RTU serial line, a libfranka ``franka::Gripper`` client, and a
scripted driver for the worker's own tests."""

from __future__ import annotations

import socket
import struct
import threading
import time
import types
from collections.abc import Callable

from silri_jax.grippers.base import DriverReading, GripperConnectionError, GripperDriver
from silri_jax.grippers.modbus_rtu import crc16, with_crc


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0,
               period_s: float = 0.005) -> bool:
    """Polls ``predicate`` until it holds or ``timeout_s`` passes (generous: loaded CI)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(period_s)
    return bool(predicate())


# ---------------------------------------------------------------------------- Robotiq
class FakeRobotiqHardware:
    """A Robotiq 2F's registers and fingers: the position moves toward the request at
    ``counts_per_s``; closing onto ``object_at`` (a position count) stops there with
    OBJ 2. ACT 1 makes STA 1, then STA 3 after ``activation_s``."""

    def __init__(self, *, counts_per_s: float = 1000.0, activation_s: float = 0.05,
                 object_at: int | None = None, activates: bool = True) -> None:
        self.counts_per_s = counts_per_s
        self.activation_s = activation_s
        self.object_at = object_at
        self.activates = activates
        self.lock = threading.Lock()
        self.act = self.gto = self.atr = 0
        self.sta = 0
        self.flt = 0
        self.pos = 0.0
        self.request = 0
        self.speed = self.force = 0
        self.obj = 0
        self._activate_at: float | None = None
        self._t = time.monotonic()
        self._moving_from = 0.0
        self.sets: list[tuple[float, dict[str, int]]] = []  # every SET, with its time
        self.gotos: list[tuple[float, int]] = []  # (time, requested position) per motion

    def _update(self) -> None:
        now = time.monotonic()
        dt, self._t = now - self._t, now
        if self._activate_at is not None and now >= self._activate_at:
            self.sta, self._activate_at = 3, None
        if self.sta != 3 or not self.gto or self.obj != 0:
            return
        target = float(self.request)
        step = self.counts_per_s * dt
        if target > self.pos:  # closing
            stop = target
            if self.object_at is not None and self.pos <= self.object_at < target:
                stop = float(self.object_at)
            self.pos = min(self.pos + step, stop)
            if self.pos >= stop:
                self.obj = 2 if stop < target else 3
        else:
            self.pos = max(self.pos - step, target)
            if self.pos <= target:
                self.obj = 3

    def write(self, values: dict[str, int]) -> None:
        """Applies register writes (names as in the URCap protocol)."""
        with self.lock:
            self._update()
            now = time.monotonic()
            self.sets.append((now, dict(values)))
            if "ACT" in values:
                self.act = values["ACT"]
                if self.act == 0:
                    self.sta, self.gto, self.flt, self._activate_at = 0, 0, 0, None
                elif self.sta == 0 and self.activates:
                    self.sta, self._activate_at = 1, now + self.activation_s
                elif self.sta == 0:
                    self.sta = 1
            for key, attr in (("POS", "request"), ("SPE", "speed"), ("FOR", "force"),
                              ("ATR", "atr")):
                if key in values:
                    setattr(self, attr, values[key])
            if "GTO" in values:
                self.gto = values["GTO"]
            if self.gto and ("POS" in values or "GTO" in values):
                if self.sta != 3:
                    self.flt = 7
                else:
                    self.obj = 0
                    self.gotos.append((now, self.request))

    def read(self, var: str) -> int:
        with self.lock:
            self._update()
            return {"ACT": self.act, "GTO": self.gto, "STA": self.sta, "OBJ": self.obj,
                    "FLT": self.flt, "POS": round(self.pos), "PRE": self.request,
                    "SPE": self.speed, "FOR": self.force, "ATR": self.atr}[var]

    def status_bytes(self) -> bytes:
        """The six Modbus input bytes."""
        with self.lock:
            self._update()
            b0 = self.act | (self.gto << 3) | (self.sta << 4) | (self.obj << 6)
            return bytes([b0, 0, self.flt, self.request, round(self.pos), 0])


class FakeRobotiqServer:
    """The URCap's ASCII socket on 127.0.0.1: ``SET`` answered ``ack``, ``GET VAR``
    answered ``VAR n`` (no newline, as the URCap does)."""

    def __init__(self, hardware: FakeRobotiqHardware) -> None:
        self.hardware = hardware
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.accepted = 0
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="fake-urcap").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self.accepted += 1
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        buf = b""
        try:
            while True:
                data = conn.recv(1024)
                if not data:
                    return
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    conn.sendall(self._answer(line.decode().strip()).encode())
        except OSError:
            return
        finally:
            conn.close()

    def _answer(self, line: str) -> str:
        words = line.split()
        if len(words) >= 3 and words[0] == "SET" and len(words) % 2 == 1:
            self.hardware.write({k: int(v) for k, v in zip(words[1::2], words[2::2],
                                                           strict=True)})
            return "ack"
        if len(words) == 2 and words[0] == "GET":
            try:
                return f"{words[1]} {self.hardware.read(words[1])}"
            except KeyError:
                return "?"
        return "?"

    def drop(self) -> None:
        """Closes every client connection, as a controller restart would."""
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def close(self) -> None:
        self._closed = True
        self._listener.close()
        self.drop()


class FakeModbusSerial:
    """A serial port with a Robotiq Modbus RTU slave behind it: checks each request's
    CRC and answers function 0x10 writes and 0x04 reads of the gripper's registers."""

    def __init__(self, hardware: FakeRobotiqHardware, *, slave_id: int = 9,
                 silent: bool = False) -> None:
        self.hardware = hardware
        self.slave_id = slave_id
        self.silent = silent
        self.unplugged = False
        self.exception_code: int | None = None
        self.requests: list[bytes] = []
        self._out = b""
        self.closed = False

    def write(self, data: bytes) -> int:
        if self.unplugged:
            raise OSError(5, "Input/output error")
        self.requests.append(bytes(data))
        if self.silent or data[0] != self.slave_id:
            return len(data)
        assert struct.unpack("<H", data[-2:])[0] == crc16(data[:-2]), data.hex(" ")
        fc = data[1]
        if self.exception_code is not None:
            self._out += with_crc(bytes([self.slave_id, fc | 0x80, self.exception_code]))
        elif fc == 0x10:
            address, count, nbytes = struct.unpack(">HHB", data[2:7])
            assert (address, count, nbytes) == (0x03E8, 3, 6)
            b = data[7:13]
            self.hardware.write({"ACT": b[0] & 1, "GTO": (b[0] >> 3) & 1,
                                 "ATR": (b[0] >> 4) & 1, "POS": b[3], "SPE": b[4],
                                 "FOR": b[5]})
            self._out += with_crc(data[:6])
        elif fc == 0x04:
            address, count = struct.unpack(">HH", data[2:6])
            assert (address, count) == (0x07D0, 3)
            self._out += with_crc(bytes([self.slave_id, 0x04, 6])
                                  + self.hardware.status_bytes())
        return len(data)

    def read(self, size: int) -> bytes:
        if self.unplugged:
            raise OSError(5, "Input/output error")
        chunk, self._out = self._out[:size], self._out[size:]
        return chunk

    def reset_input_buffer(self) -> None:
        self._out = b""

    def close(self) -> None:
        self.closed = True


# ---------------------------------------------------------------------------- Franka
class FakeCommandException(RuntimeError):
    """Stands in for ``franka::CommandException``."""


class FakeNetworkException(RuntimeError):
    """Stands in for ``franka::NetworkException``."""


class FakeFrankaGripper:
    """``franka::Gripper``'s blocking semantics: ``move``/``grasp`` return when the fingers
    stop; ``stop()`` from another thread aborts them (CommandException); a grasp holds
    ``object_width`` when that is wider than its target."""

    def __init__(self, *, speed_scale: float = 1.0, object_width: float | None = None,
                 max_width: float = 0.08) -> None:
        self.width = 0.0
        self.max_width = max_width
        self.is_grasped = False
        self.object_width = object_width
        self.speed_scale = speed_scale  # simulated speed = requested speed * scale
        self.calls: list[tuple[float, str, tuple]] = []
        self.broken = False
        self.move_result = True
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def _log(self, name: str, *args: float) -> None:
        with self._lock:
            self.calls.append((time.monotonic(), name, args))

    def names(self) -> list[str]:
        with self._lock:
            return [c[1] for c in self.calls]

    def _travel(self, target: float, speed: float) -> bool:
        """Moves the width toward ``target``; False when stopped."""
        self._stop.clear()
        rate = speed * self.speed_scale
        t = time.monotonic()
        while abs(self.width - target) > 1e-9:
            if self._stop.wait(0.002):
                return False
            now = time.monotonic()
            step, t = rate * (now - t), now
            self.width = (min(self.width + step, target) if target > self.width
                          else max(self.width - step, target))
        return True

    def homing(self) -> bool:
        self._log("homing")
        self.width = self.max_width
        return True

    def move(self, width: float, speed: float) -> bool:
        self._log("move", width, speed)
        self.is_grasped = False
        if not self._travel(width, speed):
            raise FakeCommandException("Move command aborted")
        return self.move_result

    def grasp(self, width: float, speed: float, force: float, epsilon_inner: float,
              epsilon_outer: float) -> bool:
        self._log("grasp", width, speed, force, epsilon_inner, epsilon_outer)
        self.is_grasped = False
        stop_at = width
        if self.object_width is not None and self.object_width > width:
            stop_at = min(self.object_width, self.width)
        if not self._travel(stop_at, speed):
            raise FakeCommandException("Grasp command aborted")
        self.is_grasped = width - epsilon_inner < self.width < width + epsilon_outer
        return self.is_grasped

    def stop(self) -> bool:
        self._log("stop")
        self._stop.set()
        return True

    def readOnce(self) -> types.SimpleNamespace:  # libfranka's name
        if self.broken:
            raise FakeNetworkException("libfranka gripper: UDP receive: Timeout")
        return types.SimpleNamespace(width=self.width, max_width=self.max_width,
                                     is_grasped=self.is_grasped)


# ---------------------------------------------------------------------------- worker
class ScriptedDriver(GripperDriver):
    """A driver whose calls take a set time and are recorded, for the worker's tests."""

    def __init__(self, *, motion_call_s: float = 0.0, read_call_s: float = 0.0) -> None:
        self.name = "scripted gripper (test:1)"
        self.motion_call_s = motion_call_s
        self.read_call_s = read_call_s
        self.sent: list[tuple[float, int]] = []  # (time the call began, command)
        self.reads = 0
        self.connects = 0
        self.disconnects = 0
        self.read_error: Exception | None = None
        self.connect_error: Exception | None = None
        self.width = 0.08
        self._lock = threading.Lock()

    def commands(self) -> list[int]:
        with self._lock:
            return [c for _, c in self.sent]

    def connect(self) -> None:
        self.connects += 1
        if self.connect_error is not None:
            raise self.connect_error

    def start_motion(self, command: int) -> None:
        with self._lock:
            self.sent.append((time.monotonic(), command))
        time.sleep(self.motion_call_s)
        self.width = 0.08 if command == 0 else 0.0

    def read(self) -> DriverReading:
        self.reads += 1
        time.sleep(self.read_call_s)
        if self.read_error is not None:
            raise self.read_error
        return DriverReading(self.width, self.width == 0.0, False)

    def disconnect(self) -> None:
        self.disconnects += 1


def unreachable_error() -> GripperConnectionError:
    return GripperConnectionError("connection to test:1 dropped")
