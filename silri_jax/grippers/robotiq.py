"""Robotiq 2F-85 / 2F-140 / Hand-E: one driver over two transports.

- ``RobotiqSocketTransport``: the ASCII server of the Robotiq Grippers URCap on a UR
  controller (TCP port 63352): ``SET <VAR> <n> [<VAR> <n> ...]`` answered ``ack``, and
  ``GET <VAR>`` answered ``<VAR> <n>`` (neither reply ends in a newline). Variables:
  ``ACT`` activate, ``GTO`` go to the requested position, ``POS`` position (0 open ..
  255 closed), ``SPE`` speed and ``FOR`` force (0..255), ``STA`` status (0 reset,
  1 activating, 3 active), ``OBJ`` object detection, ``FLT`` fault code.
- ``RobotiqRtuTransport`` (``silri_jax/grippers/modbus_rtu.py``): Modbus RTU on a
  USB-RS485 adapter, the same registers as bit fields.

``RobotiqDriver`` holds what both share: the activation handshake (reset with ACT 0,
wait for STA 0; ACT 1, wait for STA 3), the width calibration, speed and force in SI
units, and fault decoding. ``OBJ`` (gOBJ) gives ``grasped``: 1 (stopped on contact while
opening) or 2 (while closing) means an object is held; 0 means the fingers are moving;
3 means they reached the requested position without contact.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import socket
import time
from collections.abc import Callable

from silri_jax import specs
from silri_jax.grippers.base import (
    DriverReading,
    GripperConnectionError,
    GripperDriver,
    GripperError,
    describe_error,
)

log = logging.getLogger(__name__)

URCAP_PORT = 63352

# gSTA / STA
STA_RESET, STA_ACTIVATING, STA_ACTIVE = 0, 1, 3
# gOBJ / OBJ
OBJ_MOVING, OBJ_CONTACT_OPENING, OBJ_CONTACT_CLOSING, OBJ_AT_POSITION = 0, 1, 2, 3

# gFLT codes of the Robotiq 2F and Hand-E manuals (0 = no fault).
FAULTS = {
    0x05: "action delayed: the activation (or re-activation) must complete first",
    0x07: "the activation bit must be set before an action",
    0x08: "maximum operating temperature exceeded: let the gripper cool down",
    0x09: "no communication for at least 1 second",
    0x0A: "under the minimum operating voltage: check the 24 V supply",
    0x0B: "automatic release in progress",
    0x0C: "internal fault: contact Robotiq support",
    0x0D: "activation fault: check that nothing blocks the fingers",
    0x0E: "overcurrent triggered",
    0x0F: "automatic release completed",
}


def fault_text(code: int) -> str:
    """Words for a gFLT code, for fault messages."""
    return FAULTS.get(code, "unknown fault code")


@dataclasses.dataclass(frozen=True)
class RobotiqModel:
    """A gripper model's stroke and the SI ranges its 0..255 speed and force span."""

    name: str
    stroke_m: float
    speed_mps: tuple[float, float]
    force_n: tuple[float, float]


MODELS = {
    "2f85": RobotiqModel("2F-85", 0.085, (0.020, 0.150), (20.0, 235.0)),
    "2f140": RobotiqModel("2F-140", 0.140, (0.030, 0.250), (10.0, 125.0)),
    "hande": RobotiqModel("Hand-E", 0.050, (0.020, 0.150), (20.0, 185.0)),
}


def scale_to_counts(value: float, low: float, high: float, what: str) -> int:
    """Maps an SI value onto the gripper's 0..255 register, clamped (with a warning) to
    the model's range, so a config in m/s or N works for every model."""
    if value < low or value > high:
        log.warning("Robotiq %s %.3g is outside the model's range [%.3g, %.3g]; clamped",
                    what, value, low, high)
    frac = (min(max(value, low), high) - low) / (high - low)
    return round(255 * frac)


@dataclasses.dataclass(frozen=True)
class RobotiqCalibration:
    """Position counts to finger width: ``open_counts`` reads fully open (width
    ``stroke_m``), ``closed_counts`` fully closed on nothing (width 0); linear between.

    Calibrate by opening and closing the empty gripper and reading ``GET POS``.
    """

    open_counts: int = 0
    closed_counts: int = 255
    stroke_m: float = 0.085

    def __post_init__(self) -> None:
        for field in ("open_counts", "closed_counts"):
            v = getattr(self, field)
            if not 0 <= v <= 255:
                raise ValueError(f"Robotiq calibration {field} must be in 0..255, got {v}")
        if self.open_counts >= self.closed_counts:
            raise ValueError("Robotiq calibration open_counts must be below closed_counts, "
                             f"got {self.open_counts} >= {self.closed_counts}")
        if not self.stroke_m > 0:
            raise ValueError(f"Robotiq calibration stroke_m must be > 0, got {self.stroke_m}")

    def width(self, counts: int) -> float:
        """Finger width in metres for a position reading, clipped to [0, stroke]."""
        frac = (self.closed_counts - counts) / (self.closed_counts - self.open_counts)
        return self.stroke_m * min(max(frac, 0.0), 1.0)

    def request(self, width_m: float) -> int:
        """The position to request for a width. Widths at or past either end request the
        mechanical end (0 or 255), so a close squeezes whatever the calibration says."""
        if width_m >= self.stroke_m:
            return 0
        if width_m <= 0.0:
            return 255
        frac = width_m / self.stroke_m
        return round(self.closed_counts - frac * (self.closed_counts - self.open_counts))


@dataclasses.dataclass(frozen=True)
class RobotiqStatus:
    """One status poll, in the gripper's own terms."""

    sta: int
    obj: int
    flt: int
    pos: int


class RobotiqTransport(abc.ABC):
    """Moves Robotiq register values over one physical link."""

    #: where the gripper is, for messages: "URCap socket 10.0.0.2:63352"
    describe: str = ""

    @abc.abstractmethod
    def open(self) -> None:
        """Opens the link; raises ``GripperConnectionError`` naming it and what to check."""

    @abc.abstractmethod
    def close(self) -> None:
        """Closes the link; idempotent."""

    @abc.abstractmethod
    def reset(self) -> None:
        """Clears the activation (ACT 0), which also clears a latched fault."""

    @abc.abstractmethod
    def activate(self) -> None:
        """Sets the activation request (ACT 1)."""

    @abc.abstractmethod
    def goto(self, pos: int, speed: int, force: int) -> None:
        """Requests position ``pos`` at ``speed``/``force`` (0..255) and sets GTO 1."""

    @abc.abstractmethod
    def status(self) -> RobotiqStatus:
        """Reads STA, OBJ, FLT and POS."""


class RobotiqSocketTransport(RobotiqTransport):
    """The URCap's ASCII socket: one request, one reply, strictly alternating."""

    def __init__(self, host: str, port: int = URCAP_PORT, *, timeout_s: float = 1.0) -> None:
        if not host:
            raise ValueError("the Robotiq URCap socket needs the UR controller's address "
                             "(gripper.address)")
        self.host, self.port, self.timeout_s = host, int(port), float(timeout_s)
        self.describe = f"URCap socket {host}:{port}"
        self._sock: socket.socket | None = None

    def open(self) -> None:
        try:
            sock = socket.create_connection((self.host, self.port), timeout=self.timeout_s)
        except OSError as e:
            raise GripperConnectionError(
                f"cannot reach the Robotiq URCap socket at {self.host}:{self.port} "
                f"({describe_error(e)}); check: the UR controller is on and reachable from "
                f"this machine (ping {self.host}), the Robotiq Grippers URCap is installed "
                "and running on it (it serves port 63352), the robot is in Remote Control "
                "mode, and the gripper is plugged into the tool connector and shown in the "
                "URCap's gripper toolbar") from e
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._sock = sock

    def close(self) -> None:
        sock, self._sock = self._sock, None
        if sock is not None:
            try:
                sock.close()
            except OSError:
                pass

    def _ask(self, request: str) -> str:
        if self._sock is None:
            raise GripperConnectionError(f"the {self.describe} is not connected")
        try:
            self._sock.sendall((request + "\n").encode("ascii"))
            data = self._sock.recv(1024)
        except TimeoutError as e:
            raise GripperConnectionError(
                f"no reply from the {self.describe} to {request!r} within {self.timeout_s} s; "
                "check the network to the UR controller and that the URCap is running") from e
        except OSError as e:
            raise GripperConnectionError(
                f"the connection to the {self.describe} dropped ({describe_error(e)}); the "
                "controller may have restarted or the network failed; recover() reconnects"
            ) from e
        if not data:
            raise GripperConnectionError(
                f"the {self.describe} closed the connection (the URCap stopped, or the "
                "controller restarted); recover() reconnects and re-activates")
        return data.decode("ascii", errors="replace").strip()

    def set(self, **values: int) -> None:
        """``SET VAR n [VAR n ...]`` in one request; the URCap answers ``ack``."""
        request = "SET " + " ".join(f"{k} {int(v)}" for k, v in values.items())
        reply = self._ask(request)
        if reply != "ack":
            raise GripperError(f"the {self.describe} answered {reply!r} to {request!r} "
                               "instead of 'ack'")

    def get(self, var: str) -> int:
        """``GET VAR`` -> the integer of the ``VAR n`` reply."""
        reply = self._ask(f"GET {var}")
        parts = reply.split()
        if len(parts) == 2 and parts[0] == var:
            try:
                return int(parts[1])
            except ValueError:
                try:
                    return int(parts[1], 16)  # some URCap versions send FLT as two hex digits
                except ValueError:
                    pass
        raise GripperError(f"the {self.describe} answered {reply!r} to 'GET {var}'")

    def reset(self) -> None:
        self.set(ACT=0)
        self.set(ATR=0)

    def activate(self) -> None:
        self.set(ACT=1)

    def goto(self, pos: int, speed: int, force: int) -> None:
        self.set(POS=pos, SPE=speed, FOR=force, GTO=1)

    def status(self) -> RobotiqStatus:
        return RobotiqStatus(sta=self.get("STA"), obj=self.get("OBJ"), flt=self.get("FLT"),
                             pos=self.get("POS"))


class RobotiqDriver(GripperDriver):
    """A Robotiq gripper over either transport.

    Args:
        transport: the link (socket or Modbus RTU).
        model: key of ``MODELS`` (2f85, 2f140, hande): speed and force ranges, stroke.
        calibration: counts to width; its ``stroke_m`` is the model's unless given.
        speed_mps, force_n: finger speed and grip force in SI units, mapped onto 0..255
            with the model's ranges.
        open_width_m: width an open command moves to (>= stroke: fully open).
        grasp_width_m: width a close command moves to (<= 0: as far as the fingers go;
            they stop on an object either way).
        activation_timeout_s: longest the reset and the activation may take each.
    """

    def __init__(self, transport: RobotiqTransport, *, model: str = "2f85",
                 calibration: RobotiqCalibration | None = None, speed_mps: float = 0.1,
                 force_n: float = 40.0, open_width_m: float = 1.0, grasp_width_m: float = 0.0,
                 activation_timeout_s: float = 10.0, poll_period_s: float = 0.02,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown Robotiq model {model!r}; known: {sorted(MODELS)}")
        self.model = MODELS[model]
        self.transport = transport
        self.calibration = calibration or RobotiqCalibration(stroke_m=self.model.stroke_m)
        self.speed = scale_to_counts(speed_mps, *self.model.speed_mps, "speed (m/s)")
        self.force = scale_to_counts(force_n, *self.model.force_n, "force (N)")
        self.targets = {specs.GRIPPER_OPEN: self.calibration.request(open_width_m),
                        specs.GRIPPER_CLOSE: self.calibration.request(grasp_width_m)}
        self.activation_timeout_s = float(activation_timeout_s)
        self.poll_period_s = float(poll_period_s)
        self._sleep, self._clock = sleep, clock
        self._moving = False  # a goto was sent since the activation (OBJ is valid)
        self.name = f"Robotiq {self.model.name} ({transport.describe})"

    def connect(self) -> None:
        """Opens the link and runs the activation handshake: ACT 0 until STA 0 (clears
        faults), then ACT 1 until STA 3. A 2F gripper opens and closes once while it
        activates, so keep the fingers clear."""
        self.transport.open()
        try:
            self.transport.reset()
            self._wait_for(STA_RESET, "reset (ACT 0)")
            self.transport.activate()
            self._wait_for(STA_ACTIVE, "activation (ACT 1)")
        except BaseException:
            self.transport.close()
            raise
        self._moving = False
        log.info("%s: activated", self.name)

    def _wait_for(self, sta: int, what: str) -> RobotiqStatus:
        deadline = self._clock() + self.activation_timeout_s
        while True:
            status = self.transport.status()
            if status.sta == sta:
                return status
            if self._clock() >= deadline:
                raise GripperConnectionError(
                    f"{self.name}: the {what} did not finish within "
                    f"{self.activation_timeout_s} s (STA={status.sta}, FLT=0x{status.flt:02X}"
                    f"{': ' + fault_text(status.flt) if status.flt else ''}); check: the "
                    "gripper is powered (LED blue, not red), nothing blocks the fingers, and "
                    "no other program or the teach pendant is driving it")
            self._sleep(self.poll_period_s)

    def start_motion(self, command: int) -> None:
        self.transport.goto(self.targets[command], self.speed, self.force)
        self._moving = True

    def read(self) -> DriverReading:
        status = self.transport.status()
        if status.flt:
            raise GripperError(f"gripper fault 0x{status.flt:02X}: {fault_text(status.flt)}")
        if status.sta != STA_ACTIVE:
            raise GripperError(
                f"the gripper is no longer activated (STA={status.sta}): was it reset from "
                "the teach pendant or did it lose power? recover() re-activates it")
        return DriverReading(
            width_m=self.calibration.width(status.pos),
            grasped=status.obj in (OBJ_CONTACT_OPENING, OBJ_CONTACT_CLOSING),
            busy=self._moving and status.obj == OBJ_MOVING)

    def disconnect(self) -> None:
        self.transport.close()
