"""3Dconnexion SpaceMice read straight from ``/dev/hidraw*`` (no driver, no hidapi needed).

The device table (``spacemouse_devices.json``, data, editable) gives each model's USB ids
and its report layout, because the models differ in a way that matters:

- wired devices (SpaceNavigator, SpaceMouse Pro, Compact, ...) split the axes over two
  reports: report 1 carries translation, report 2 rotation;
- wireless and newer devices (SpaceMouse Wireless, Pro Wireless, Enterprise, the
  Universal Receiver) send all six axes in report 1.

A reader that assumes one layout silently reads the other kind wrong (all-zero or
rotation-less commands), so the layout is per device; for a 3Dconnexion product missing
from the table the report length decides (7 bytes: translation only, 13: six axes).
Report 3 carries the buttons as a little-endian bit field; the table names the bits.

``decode_report(entry, report, state) -> state`` is a pure function, so decoding is tested
from recorded bytes (``python -m silri_jax.teleop decode`` prints what bytes decode to).

The SpaceMouse reports continuously while the puck is deflected and nothing at rest:
``SpaceMouseDevice`` uses the continuous staleness rule (``conditioning.py``). An
unplugged device (ENODEV) is marked gone and looked for again every ``reopen_s`` seconds,
also under a new hidraw number with the same USB ids.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import select
from collections.abc import Callable, Iterable
from typing import Any, Protocol

import numpy as np

from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.discovery import HidNode, hidraw_nodes
from silri_jax.teleop.reader import ThreadedDevice

TABLE_FILE = pathlib.Path(__file__).with_name("spacemouse_devices.json")
LAYOUTS = ("split", "combined", "auto")
REPORT_MAX = 128


@dataclasses.dataclass(frozen=True)
class DeviceEntry:
    """One model of the device table."""

    key: str
    name: str
    vendor: int
    product: int
    layout: str
    buttons: tuple[tuple[str, int], ...]
    scale: float = 350.0
    frame_signs: tuple[float, ...] = (1.0, -1.0, -1.0, 1.0, -1.0, -1.0)
    connection: str = "cable"

    @property
    def id(self) -> str:
        return f"{self.vendor:04x}:{self.product:04x}"

    def button_names(self, bits: int) -> list[str]:
        """``button:<name>`` for every set bit (``button:b<N>`` for a bit without a name)."""
        names, named_bits = [], set()
        for name, bit in self.buttons:
            named_bits.add(bit)
            if bits >> bit & 1:
                names.append(f"button:{name}")
        rest, bit = bits, 0
        while rest:
            if rest & 1 and bit not in named_bits:
                names.append(f"button:b{bit}")
            rest, bit = rest >> 1, bit + 1
        return names


@dataclasses.dataclass(frozen=True)
class SpaceMouseState:
    """What the reports so far say: raw HID counts (HID frame) and the button bits."""

    raw: tuple[int, int, int, int, int, int] = (0, 0, 0, 0, 0, 0)
    buttons: int = 0

    def axes(self, entry: DeviceEntry) -> np.ndarray:
        """Device-frame axes (x right, y away from the operator, z up), ~1 at full tilt."""
        return np.asarray(self.raw, np.float64) * np.asarray(entry.frame_signs) / entry.scale

    def held(self, entry: DeviceEntry) -> list[str]:
        return entry.button_names(self.buttons)


def _int16s(report: bytes, count: int) -> tuple[int, ...]:
    return tuple(int.from_bytes(report[1 + 2 * i:3 + 2 * i], "little", signed=True)
                 for i in range(count))


def decode_report(entry: DeviceEntry, report: bytes, state: SpaceMouseState
                  ) -> SpaceMouseState:
    """The state after one raw report (report id first, as hidraw delivers it).

    Reports the table's layout does not expect, too short, or of other ids (LED, battery)
    leave the state unchanged, so a stray report never zeroes a held command.
    """
    if not report:
        return state
    rid, n = report[0], len(report)
    raw = list(state.raw)
    if rid == 1:
        six = n >= 13 and entry.layout != "split"
        if six:
            raw = list(_int16s(report, 6))
        elif n >= 7:
            raw[0:3] = _int16s(report, 3)
        else:
            return state
    elif rid == 2:
        if n < 7:
            return state
        raw[3:6] = _int16s(report, 3)
    elif rid == 3:
        if n < 2:
            return state
        return dataclasses.replace(state, buttons=int.from_bytes(report[1:], "little"))
    else:
        return state
    return dataclasses.replace(state, raw=tuple(raw))  # type: ignore[arg-type]


# ----------------------------------------------------------------------------- the table
def _entries(data: dict[str, Any], source: str) -> list[DeviceEntry]:
    sets = data.get("button_sets", {})
    signs = tuple(float(s) for s in data.get("frame_signs", (1, -1, -1, 1, -1, -1)))
    scale = float(data.get("scale", 350))
    out = []
    for i, d in enumerate(data.get("devices", [])):
        try:
            layout = d.get("layout", "auto")
            if layout not in LAYOUTS:
                raise ValueError(f"layout {layout!r} is not one of {LAYOUTS}")
            buttons = d.get("buttons", "none")
            if isinstance(buttons, str):
                if buttons not in sets and buttons != "none":
                    raise ValueError(f"button set {buttons!r} is not in button_sets "
                                     f"({', '.join(sets)})")
                bmap = sets.get(buttons, {})
            else:
                bmap = buttons
            out.append(DeviceEntry(
                key=str(d.get("key") or d["name"]).lower(), name=str(d["name"]),
                vendor=int(str(d["vendor"]), 16), product=int(str(d["product"]), 16),
                layout=layout, buttons=tuple((str(k), int(v)) for k, v in bmap.items()),
                scale=float(d.get("scale", scale)),
                frame_signs=tuple(float(s) for s in d.get("frame_signs", signs)),
                connection=str(d.get("connection", "cable"))))
        except (KeyError, ValueError, TypeError) as e:
            raise ValueError(f"{source}: device #{i} ({d.get('name', '?')}): {e}") from None
    return out


@functools.lru_cache(maxsize=8)
def _load(path: str) -> tuple[DeviceEntry, ...]:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except FileNotFoundError:
        raise DeviceError(f"SpaceMouse device table {path} not found") from None
    except json.JSONDecodeError as e:
        raise DeviceError(f"SpaceMouse device table {path}: not valid JSON ({e})") from None
    return tuple(_entries(data, path))


def load_table(path: str | os.PathLike | None = None) -> tuple[DeviceEntry, ...]:
    """The device table: the built-in one, or a user's copy at ``path``."""
    return _load(str(path or TABLE_FILE))


def unknown_entry(vendor: int, product: int) -> DeviceEntry:
    """A 3Dconnexion product missing from the table: layout by report length."""
    return DeviceEntry(key=f"{vendor:04x}:{product:04x}",
                       name=f"3Dconnexion device {vendor:04x}:{product:04x}",
                       vendor=vendor, product=product, layout="auto",
                       buttons=(("left", 0), ("right", 1)))


def find_entry(query: str, table: Iterable[DeviceEntry] | None = None) -> DeviceEntry:
    """A table entry by key, name (any case) or ``vendor:product`` id."""
    table = tuple(load_table() if table is None else table)
    q = query.strip().lower()
    for e in table:
        if q in (e.key, e.name.lower(), e.id):
            return e
    if ":" in q:
        v, _, p = q.partition(":")
        try:
            return unknown_entry(int(v, 16), int(p, 16))
        except ValueError:
            pass
    names = ", ".join(e.key for e in table)
    raise DeviceError(f"no SpaceMouse model {query!r} in the device table; known: {names} "
                      "(or give vendor:product in hex)")


def entry_for(vendor: int, product: int, table: Iterable[DeviceEntry] | None = None
              ) -> DeviceEntry | None:
    """The table entry of a USB id; an 'auto' entry for other 0x256f products; else None."""
    for e in (load_table() if table is None else table):
        if (e.vendor, e.product) == (vendor, product):
            return e
    return unknown_entry(vendor, product) if vendor == 0x256F else None


def spacemouse_nodes(sysfs_root: str | os.PathLike = "/sys",
                     dev_root: str | os.PathLike = "/dev",
                     table: Iterable[DeviceEntry] | None = None
                     ) -> list[tuple[HidNode, DeviceEntry]]:
    """The hidraw nodes of known 3D mice, the axis interface of each device first."""
    table = tuple(load_table() if table is None else table)
    found = [(n, e) for n in hidraw_nodes(sysfs_root, dev_root)
             if (e := entry_for(n.vendor, n.product, table)) is not None]
    # a device may expose several hidraw nodes: prefer the multi-axis interface, then the
    # lowest interface number
    return sorted(found, key=lambda ne: (ne[0].multiaxis is False,
                                         ne[0].interface if ne[0].interface is not None else 99,
                                         _num(ne[0].sysname)))


def _num(name: str) -> int:
    digits = "".join(c for c in name if c.isdigit())
    return int(digits) if digits else 0


# ----------------------------------------------------------------------------- sources
class ReportSource(Protocol):
    """Where raw reports come from: hidraw, hidapi, or a test's fake."""

    def read(self, timeout: float) -> list[bytes]:
        """Reports that arrived within ``timeout`` s; raises OSError/EOFError when gone."""
        ...

    def close(self) -> None: ...


class HidrawSource:
    """A ``/dev/hidraw*`` file (or any file of whole reports, such as a FIFO)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.fd: int | None = os.open(path, os.O_RDONLY | os.O_NONBLOCK)

    def read(self, timeout: float) -> list[bytes]:
        if self.fd is None:
            raise EOFError("closed")
        ready, _, _ = select.select([self.fd], [], [], timeout)
        if not ready:
            return []
        reports = []
        while True:
            try:
                data = os.read(self.fd, REPORT_MAX)
            except BlockingIOError:
                break
            if not data:
                if reports:
                    break
                raise EOFError(f"{self.path}: end of file")
            reports.append(data)
        return reports

    def close(self) -> None:
        fd, self.fd = self.fd, None
        if fd is not None:
            os.close(fd)


class HidapiSource:
    """Reports through the optional ``hidapi`` package (``import hid``), for systems
    without hidraw; not needed on Linux."""

    def __init__(self, vendor: int, product: int) -> None:
        try:
            import hid  # type: ignore[import-not-found]
        except ImportError:
            raise DeviceError("the hidapi package is not installed (pip install hidapi); on "
                              "Linux leave teleop.spacemouse.reader at 'hidraw'") from None
        self._dev = hid.device()
        self._dev.open(vendor, product)
        self._dev.set_nonblocking(0)

    def read(self, timeout: float) -> list[bytes]:
        data = self._dev.read(REPORT_MAX, max(1, int(timeout * 1000)))
        return [bytes(data)] if data else []

    def close(self) -> None:
        self._dev.close()


# ----------------------------------------------------------------------------- the device
class SpaceMouseDevice(ThreadedDevice):
    """A SpaceMouse over hidraw; ``path=""`` finds the first one (see module docstring).

    ``entry`` (a table entry or its key/name/id) overrides the model found from sysfs, and
    is needed for a path sysfs does not describe (a recorded FIFO in a test). ``opener``
    replaces how a path is opened (tests inject fakes that unplug).
    """

    continuous = True

    def __init__(self, path: str = "", *, entry: DeviceEntry | str | None = None,
                 table: str | os.PathLike | None = None, sysfs_root: str = "/sys",
                 dev_root: str = "/dev", reader: str = "hidraw",
                 opener: Callable[[str], ReportSource] | None = None, **kwargs: Any) -> None:
        self.table = load_table(table)
        self.sysfs_root, self.dev_root = sysfs_root, dev_root
        self._autodetect = not path
        self._reader = reader
        if isinstance(entry, str):
            entry = find_entry(entry, self.table)
        if not path:
            found = spacemouse_nodes(sysfs_root, dev_root, self.table)
            if entry is not None:
                found = [(n, e) for n, e in found if (n.vendor, n.product) ==
                         (entry.vendor, entry.product)] or found
            if not found and reader != "hidapi":
                raise DeviceError(
                    "no SpaceMouse found (no hidraw node with a 3Dconnexion id in "
                    f"{sysfs_root}/class/hidraw); plug it in, or run `python -m "
                    "silri_jax.teleop doctor` to see what is connected")
            if found:
                path = found[0][0].path
                entry = entry or found[0][1]
        elif entry is None:
            node = next((n for n in hidraw_nodes(sysfs_root, dev_root) if n.path == path),
                        None)
            entry = entry_for(node.vendor, node.product, self.table) if node else None
            if entry is None:
                what = f"{node.name} ({node.id})" if node else "not described in sysfs"
                raise DeviceError(f"{path} is not a known SpaceMouse ({what}); pass the "
                                  "model with teleop.spacemouse.model")
        if entry is None:
            raise DeviceError("a SpaceMouse read through hidapi needs "
                              "teleop.spacemouse.model (its key or vendor:product)")
        self.entry: DeviceEntry = entry
        self.path = path
        self._opener = opener
        self._source: ReportSource | None = None
        self.state = SpaceMouseState()
        super().__init__(f"spacemouse:{path or entry.id}", **kwargs)

    def _fix_hint(self) -> str:
        return ("make it readable with a udev rule (`python -m silri_jax.teleop doctor` "
                "prints it) or check that it is plugged in")

    def _open(self) -> None:
        if self._opener is not None:
            self._source = self._opener(self.path)
        elif self._reader == "hidapi":
            self._source = HidapiSource(self.entry.vendor, self.entry.product)
        else:
            self._source = HidrawSource(self.path)
        self.state = SpaceMouseState()

    def _reopen(self) -> None:
        if self._opener is None and self._reader != "hidapi":
            # after a replug the same device may come back under another hidraw number
            again = [n for n, e in spacemouse_nodes(self.sysfs_root, self.dev_root,
                                                    self.table)
                     if (e.vendor, e.product) == (self.entry.vendor, self.entry.product)]
            if again and not any(n.path == self.path for n in again):
                self.path = again[0].path
        self._open()

    def _close_handle(self) -> None:
        src, self._source = self._source, None
        if src is not None:
            src.close()

    def _read(self, timeout: float) -> None:
        if self._source is None:
            raise EOFError("not open")
        for report in self._source.read(timeout):
            t = self._clock()
            self._emit_raw(report, t)
            self.state = decode_report(self.entry, report, self.state)
            self.pipeline.raw.report(t, axes=self.state.axes(self.entry),
                                     held=self.state.held(self.entry))
