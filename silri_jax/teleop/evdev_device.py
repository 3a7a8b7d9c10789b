"""Any joystick-like device through Linux evdev (``/dev/input/event*``).

With the ``evdev`` package installed it reads through it; without, it reads the device
file directly: each event is a ``struct input_event`` (``llHHi``: seconds, microseconds,
type, code, value; 24 bytes on 64-bit Linux) and the axis ranges come from the
``EVIOCGABS`` ioctl (``struct input_absinfo``: value, min, max, fuzz, flat, resolution).

``EvdevDecoder`` turns the event stream into frames (one per ``SYN_REPORT``), holding the
latest absolute axis values and the buttons held; it is pure, so recorded event bytes
decode in tests. ``EvdevDevice`` maps a frame to the device frame with ``axes`` (six
signed evdev axis names, ``"x,-y,-z,rx,-ry,-rz"`` by default: HID devices point y toward
the operator and z down) and names buttons ``button:<name>``: ``button:b0`` ... ``button:b9``
for BTN_0..BTN_9 (a 6-DoF mouse's buttons, numbered like spacenavd's), ``button:trigger``,
``button:thumb``, ... for joysticks, ``button:south``, ``button:tl``, ... for gamepad codes,
``button:code<N>`` for any other code.

evdev reports only on change (the kernel drops repeated values), so a stick held still is
silent while deflected: the on-change staleness rule applies (silence is not staleness).
Relative axes (REL_*, some SpaceMice) are the exception: the kernel never reports a zero
relative value, so a relative axis with no event for ``REL_REST_S`` seconds reads zero.
"""

from __future__ import annotations

import dataclasses
import fcntl
import os
import re
import select
import struct
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

import numpy as np

from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.discovery import InputNode, input_nodes
from silri_jax.teleop.reader import ThreadedDevice

EVENT_FORMAT = "llHHi"
EVENT_SIZE = struct.calcsize(EVENT_FORMAT)
EV_SYN, EV_KEY, EV_REL, EV_ABS = 0x00, 0x01, 0x02, 0x03
SYN_REPORT, SYN_DROPPED = 0, 3
REL_REST_S = 0.1

AXIS_NAMES = {0: "x", 1: "y", 2: "z", 3: "rx", 4: "ry", 5: "rz", 6: "throttle",
              7: "rudder", 8: "wheel", 9: "gas", 10: "brake", 16: "hat0x", 17: "hat0y",
              18: "hat1x", 19: "hat1y"}
AXIS_CODES = {v: k for k, v in AXIS_NAMES.items()}
_BUTTONS = {**{256 + i: f"b{i}" for i in range(10)},
            **dict(zip(range(0x120, 0x12C), ("trigger", "thumb", "thumb2", "top", "top2",
                                              "pinkie", "base", "base2", "base3", "base4",
                                              "base5", "base6"), strict=True)),
            **dict(zip(range(0x130, 0x13F), ("south", "east", "c", "north", "west", "z",
                                              "tl", "tr", "tl2", "tr2", "select", "start",
                                              "mode", "thumbl", "thumbr"), strict=True)),
            0x110: "left", 0x111: "right", 0x112: "middle"}


def button_name(code: int) -> str:
    """The generic name of a key/button code (``code<N>`` when it has none)."""
    return _BUTTONS.get(code, f"code{code}")


@dataclasses.dataclass(frozen=True)
class AbsInfo:
    """An absolute axis' range (``struct input_absinfo``)."""

    minimum: int
    maximum: int
    value: int = 0

    def centered(self, v: float) -> float:
        """[-1, 1] with the middle of the range at 0 (sticks, hats, 6-DoF axes)."""
        half = (self.maximum - self.minimum) / 2.0
        if half <= 0:
            return 0.0
        return float(np.clip((v - (self.maximum + self.minimum) / 2.0) / half, -1.0, 1.0))

    def unit(self, v: float) -> float:
        """[0, 1] from minimum to maximum (triggers)."""
        span = self.maximum - self.minimum
        return float(np.clip((v - self.minimum) / span, 0.0, 1.0)) if span > 0 else 0.0


def pack_events(events: Iterable[tuple[float, int, int, int]]) -> bytes:
    """``(time, type, code, value)`` tuples as the kernel's event bytes (tests, replay)."""
    out = b""
    for t, typ, code, value in events:
        sec = int(t)
        out += struct.pack(EVENT_FORMAT, sec, round((t - sec) * 1e6), typ, code, value)
    return out


def unpack_events(data: bytes) -> list[tuple[float, int, int, int]]:
    """Event bytes -> ``(time, type, code, value)`` (whole events only)."""
    out = []
    for off in range(0, len(data) - EVENT_SIZE + 1, EVENT_SIZE):
        sec, usec, typ, code, value = struct.unpack_from(EVENT_FORMAT, data, off)
        out.append((sec + usec / 1e6, typ, code, value))
    return out


@dataclasses.dataclass(frozen=True)
class Frame:
    """The device state at one ``SYN_REPORT``."""

    t: float
    abs: Mapping[int, int]
    rel: Mapping[int, int]
    keys: frozenset[int]


class EvdevDecoder:
    """Events -> frames; keeps the latest absolute values and held keys."""

    def __init__(self) -> None:
        self.abs: dict[int, int] = {}
        self.keys: set[int] = set()
        self._rel: dict[int, int] = {}
        self._dropping = False

    def feed(self, events: Iterable[tuple[float, int, int, int]]) -> list[Frame]:
        frames = []
        for t, typ, code, value in events:
            if typ == EV_SYN:
                if code == SYN_DROPPED:
                    # the kernel's buffer overran: events up to the next SYN_REPORT are
                    # incomplete and must be dropped
                    self._dropping = True
                    self._rel = {}
                elif code == SYN_REPORT:
                    if not self._dropping:
                        frames.append(Frame(t, dict(self.abs), dict(self._rel),
                                            frozenset(self.keys)))
                    self._dropping = False
                    self._rel = {}
                continue
            if self._dropping:
                continue
            if typ == EV_ABS:
                self.abs[code] = value
            elif typ == EV_REL:
                self._rel[code] = self._rel.get(code, 0) + value
            elif typ == EV_KEY:
                if value == 1:
                    self.keys.add(code)
                elif value == 0:
                    self.keys.discard(code)
                # value 2 is autorepeat: the key stays held
        return frames


# ----------------------------------------------------------------------------- sources
def _ioc(direction: int, nr: int, size: int) -> int:
    return direction << 30 | size << 16 | ord("E") << 8 | nr


def _absinfo_ioctl(fd: int, code: int) -> AbsInfo | None:
    buf = bytearray(24)
    try:
        fcntl.ioctl(fd, _ioc(2, 0x40 + code, 24), buf)
    except OSError:
        return None
    value, lo, hi = struct.unpack_from("iii", buf)
    return AbsInfo(lo, hi, value)


class EvdevSource(Protocol):
    """Where events come from: the device file, the evdev package, or a test's fake."""

    def read(self, timeout: float) -> list[tuple[float, int, int, int]]: ...

    def absinfo(self, codes: Iterable[int]) -> dict[int, AbsInfo]: ...

    def close(self) -> None: ...


class RawEvdevSource:
    """Reads ``struct input_event`` records from the device file directly."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        self._buf = b""

    def read(self, timeout: float) -> list[tuple[float, int, int, int]]:
        if self.fd is None:
            raise EOFError("closed")
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        while True:
            try:
                data = os.read(self.fd, EVENT_SIZE * 64)
            except BlockingIOError:
                break
            if not data:
                raise EOFError(f"{self.path}: end of file")
            self._buf += data
            if len(data) < EVENT_SIZE * 64:
                break
        whole = len(self._buf) - len(self._buf) % EVENT_SIZE
        events, self._buf = unpack_events(self._buf[:whole]), self._buf[whole:]
        return events

    def absinfo(self, codes: Iterable[int]) -> dict[int, AbsInfo]:
        out = {}
        for code in codes:
            info = _absinfo_ioctl(self.fd, code) if self.fd is not None else None
            if info is not None:
                out[code] = info
        return out

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class PackageEvdevSource:
    """Reads through the ``evdev`` package (python-evdev), when it is installed."""

    def __init__(self, path: str) -> None:
        import evdev  # type: ignore[import-not-found]

        self._dev = evdev.InputDevice(path)

    def read(self, timeout: float) -> list[tuple[float, int, int, int]]:
        ready, _, _ = select.select([self._dev.fd], [], [], timeout)
        if not ready:
            return []
        try:
            return [(e.timestamp(), e.type, e.code, e.value) for e in self._dev.read()]
        except BlockingIOError:
            return []

    def absinfo(self, codes: Iterable[int]) -> dict[int, AbsInfo]:
        out = {}
        for code in codes:
            try:
                info = self._dev.absinfo(code)
            except OSError:
                continue
            out[code] = AbsInfo(info.min, info.max, info.value)
        return out

    def close(self) -> None:
        self._dev.close()


def open_source(path: str) -> EvdevSource:
    """The evdev package's reader when installed, else the direct one."""
    try:
        import evdev  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return RawEvdevSource(path)
    return PackageEvdevSource(path)


# ----------------------------------------------------------------------------- the device
def parse_axis_spec(spec: str) -> list[tuple[float, str]]:
    """``"x,-y,-z,rx,-ry,-rz"`` -> ``[(sign, axis name)]`` per device axis ("0": unused)."""
    parts = [p.strip().lower() for p in spec.split(",")]
    if len(parts) != 6:
        raise ValueError(f"evdev axes={spec!r}: needs 6 comma-separated signed evdev axis "
                         f"names (device x y z rx ry rz), got {len(parts)}")
    out = []
    for p in parts:
        sign = -1.0 if p.startswith("-") else 1.0
        name = p.lstrip("+-").strip()
        if name != "0" and name not in AXIS_CODES:
            raise ValueError(f"evdev axes={spec!r}: {name!r} is not an evdev axis; known: "
                             f"{', '.join(AXIS_CODES)}")
        out.append((0.0 if name == "0" else sign, name))
    return out


def find_input(kinds: Iterable[str], sysfs_root: str = "/sys", dev_root: str = "/dev",
               name_pattern: str = "") -> InputNode:
    """The first evdev node of one of ``kinds`` (and matching ``name_pattern``)."""
    kinds = tuple(kinds)
    pattern = re.compile(name_pattern, re.I) if name_pattern else None
    nodes = input_nodes(sysfs_root, dev_root)
    for node in nodes:
        if node.kind in kinds and (pattern is None or pattern.search(node.name)):
            return node
    raise DeviceError(f"no {' or '.join(kinds)} found among {len(nodes)} input devices in "
                      f"{sysfs_root}/class/input; plug it in, or run `python -m "
                      "silri_jax.teleop doctor` to see what is connected")


class EvdevDevice(ThreadedDevice):
    """A joystick or 6-DoF device through evdev (see the module docstring).

    ``path=""`` takes the first joystick, gamepad or 6-DoF device. ``absinfo`` overrides
    the axis ranges read from the device; ``opener`` replaces how a path is opened (tests).
    """

    continuous = False
    kinds: tuple[str, ...] = ("6dof", "joystick", "gamepad")

    def __init__(self, path: str = "", *, axes: str = "x,-y,-z,rx,-ry,-rz",
                 rel_scale: float = 350.0, sysfs_root: str = "/sys", dev_root: str = "/dev",
                 absinfo: Mapping[int, AbsInfo] | None = None,
                 opener: Callable[[str], EvdevSource] | None = None,
                 device_name: str = "", **kwargs: Any) -> None:
        if not path:
            node = find_input(self.kinds, sysfs_root, dev_root, self._name_pattern())
            path, device_name = node.path, device_name or node.name
        elif not device_name:
            node = next((n for n in input_nodes(sysfs_root, dev_root) if n.path == path), None)
            device_name = node.name if node else ""
        self.path, self.device_name = path, device_name
        self.axis_spec = parse_axis_spec(axes)
        self.rel_scale = float(rel_scale)
        self._absinfo_override = dict(absinfo or {})
        self.absinfo: dict[int, AbsInfo] = dict(self._absinfo_override)
        self._opener = opener or open_source
        self._source: EvdevSource | None = None
        self.decoder = EvdevDecoder()
        self._rel_values: dict[int, float] = {}
        self._rel_time: dict[int, float] = {}
        self._setup()
        label = f"{self.backend}:{path}" + (f" ({device_name})" if device_name else "")
        super().__init__(label, **kwargs)

    backend = "evdev"

    def _name_pattern(self) -> str:
        return ""

    def _setup(self) -> None:
        """Subclass hook run once the device name is known (the gamepad picks its map)."""

    def _open(self) -> None:
        self._source = self._opener(self.path)
        self.decoder = EvdevDecoder()
        self._rel_values, self._rel_time = {}, {}
        codes = set(AXIS_NAMES) - set(self._absinfo_override)
        self.absinfo = {**self._source.absinfo(sorted(codes)), **self._absinfo_override}
        # start from the axes' current positions (a trigger at rest is not at mid-range)
        for code, info in self.absinfo.items():
            self.decoder.abs.setdefault(code, info.value)

    def _close_handle(self) -> None:
        src, self._source = self._source, None
        if src is not None:
            src.close()

    def _read(self, timeout: float) -> None:
        if self._source is None:
            raise EOFError("not open")
        events = self._source.read(timeout)
        now = self._clock()
        for frame in self.decoder.feed(events):
            for code, v in frame.rel.items():
                self._rel_values[code] = v / self.rel_scale
                self._rel_time[code] = now
            axes, held = self.frame_input(frame)
            self.pipeline.raw.report(now, axes=self._with_rel(axes, now), held=held,
                                     t_device=frame.t)
        if self._rel_values and not events:
            latest = self.frame_input(Frame(now, dict(self.decoder.abs), {},
                                            frozenset(self.decoder.keys)))[0]
            self.pipeline.raw.set_axes(self._with_rel(latest, now))

    def _with_rel(self, axes: np.ndarray, now: float) -> np.ndarray:
        """Adds the relative axes still fresh (a REL axis is zero after REL_REST_S)."""
        if not self._rel_values:
            return axes
        out = axes.copy()
        for i, (sign, name) in enumerate(self.axis_spec):
            code = AXIS_CODES.get(name)
            if code in self._rel_values and code not in self.absinfo:
                fresh = now - self._rel_time[code] <= REL_REST_S
                out[i] = sign * float(np.clip(self._rel_values[code], -1, 1)) if fresh else 0.0
        return out

    def axis_value(self, code: int, abs_values: Mapping[int, int]) -> float:
        """A centered absolute axis in [-1, 1] (0 when the device lacks it)."""
        info = self.absinfo.get(code)
        if info is None or code not in abs_values:
            return 0.0
        return info.centered(abs_values[code])

    def frame_input(self, frame: Frame) -> tuple[np.ndarray, list[str]]:
        """Device-frame axes and held input names for one frame."""
        axes = np.zeros(6)
        for i, (sign, name) in enumerate(self.axis_spec):
            if sign:
                axes[i] = sign * self.axis_value(AXIS_CODES[name], frame.abs)
        return axes, [f"button:{button_name(c)}" for c in sorted(frame.keys)]
