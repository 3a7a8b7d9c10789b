"""Finding input devices through sysfs, with the roots as parameters so tests fake them.

Linux describes every hidraw node under ``/sys/class/hidraw/<node>/device/`` (``uevent``
with ``HID_ID=<bus>:<vendor>:<product>``, ``HID_NAME``, ``HID_PHYS``; and the
``report_descriptor``) and every evdev node under ``/sys/class/input/event*/device/``
(``name``, ``phys``, ``id/{bustype,vendor,product}``, ``capabilities/{ev,key,abs,rel}``).
Reading these needs no permission on the device files themselves, so discovery also
works when the devices are not yet readable (which is what ``doctor`` checks).
"""

from __future__ import annotations

import dataclasses
import os
import pathlib
import re

BUS_USB, BUS_BLUETOOTH = 0x03, 0x05
BUS_NAMES = {0x03: "usb", 0x05: "bluetooth", 0x06: "virtual", 0x11: "i8042", 0x19: "host"}

# evdev codes used to classify devices
EV_KEY, EV_REL, EV_ABS = 0x01, 0x02, 0x03
ABS_X, ABS_Y, ABS_Z, ABS_RX, ABS_RY, ABS_RZ = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
REL_X, REL_Y, REL_Z, REL_RX, REL_RY, REL_RZ = 0x00, 0x01, 0x02, 0x03, 0x04, 0x05
KEY_A, KEY_Z = 30, 44
BTN_LEFT, BTN_JOYSTICK, BTN_GAMEPAD = 0x110, 0x120, 0x130
VENDORS_3DCONNEXION = (0x046D, 0x256F)


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text(errors="replace").strip()
    except OSError:
        return ""


def _bitmap(text: str) -> int:
    """A sysfs capability bitmap (space-separated hex longs, most significant first)."""
    bits = 0
    for word in text.split():
        try:
            bits = (bits << 64) | int(word, 16)
        except ValueError:
            return 0
    return bits


def _hex(text: str) -> int:
    try:
        return int(text, 16)
    except ValueError:
        return 0


def _interface(phys: str) -> int | None:
    m = re.search(r"input(\d+)$", phys)
    return int(m.group(1)) if m else None


def is_multiaxis_descriptor(descriptor: bytes) -> bool:
    """Whether a HID report descriptor declares a Generic Desktop Multi-axis Controller
    (usage page 0x01, usage 0x08): the interface a 3D mouse sends its axes on."""
    return b"\x05\x01\x09\x08" in descriptor


@dataclasses.dataclass(frozen=True)
class HidNode:
    """One hidraw node as sysfs describes it."""

    path: str
    sysname: str
    bus: int
    vendor: int
    product: int
    name: str
    phys: str
    interface: int | None
    multiaxis: bool | None

    @property
    def id(self) -> str:
        return f"{self.vendor:04x}:{self.product:04x}"

    @property
    def bus_name(self) -> str:
        return BUS_NAMES.get(self.bus, f"bus {self.bus:#x}")


@dataclasses.dataclass(frozen=True)
class InputNode:
    """One evdev node as sysfs describes it (capabilities as bitmasks)."""

    path: str
    sysname: str
    name: str
    bus: int
    vendor: int
    product: int
    phys: str
    ev: int
    keys: int
    abs: int
    rel: int

    @property
    def id(self) -> str:
        return f"{self.vendor:04x}:{self.product:04x}"

    @property
    def bus_name(self) -> str:
        return BUS_NAMES.get(self.bus, f"bus {self.bus:#x}")

    def has_key(self, code: int) -> bool:
        return bool(self.keys >> code & 1)

    def has_abs(self, code: int) -> bool:
        return bool(self.abs >> code & 1)

    def has_rel(self, code: int) -> bool:
        return bool(self.rel >> code & 1)

    @property
    def kind(self) -> str:
        """gamepad, joystick, 6dof, keyboard, mouse or other."""
        six = all(self.has_abs(c) for c in range(6)) or all(self.has_rel(c) for c in range(6))
        if six and (self.vendor in VENDORS_3DCONNEXION or "3dconnexion" in self.name.lower()):
            return "6dof"
        if any(self.has_key(c) for c in range(BTN_GAMEPAD, BTN_GAMEPAD + 15)):
            return "gamepad"
        if any(self.has_key(c) for c in range(BTN_JOYSTICK, BTN_JOYSTICK + 16)) or six:
            return "joystick"
        if self.has_key(KEY_A) and self.has_key(KEY_Z):
            return "keyboard"
        if self.has_rel(REL_X) and self.has_key(BTN_LEFT):
            return "mouse"
        return "other"


def hidraw_nodes(sysfs_root: str | os.PathLike = "/sys", dev_root: str | os.PathLike = "/dev"
                 ) -> list[HidNode]:
    """Every hidraw node, sorted by number."""
    base = pathlib.Path(sysfs_root) / "class" / "hidraw"
    nodes = []
    for entry in sorted(base.glob("hidraw*"), key=lambda p: _node_number(p.name)):
        uevent = dict(line.split("=", 1) for line in _read(entry / "device" / "uevent")
                      .splitlines() if "=" in line)
        parts = uevent.get("HID_ID", "").split(":")
        if len(parts) != 3:
            continue
        bus, vendor, product = (_hex(p) for p in parts)
        try:
            descriptor = (entry / "device" / "report_descriptor").read_bytes()
            multiaxis: bool | None = is_multiaxis_descriptor(descriptor)
        except OSError:
            multiaxis = None
        phys = uevent.get("HID_PHYS", "")
        devname = _read(entry / "uevent").partition("DEVNAME=")[2].split()[:1]
        path = pathlib.Path(dev_root) / (devname[0] if devname else entry.name)
        nodes.append(HidNode(path=str(path), sysname=entry.name, bus=bus, vendor=vendor,
                             product=product, name=uevent.get("HID_NAME", ""), phys=phys,
                             interface=_interface(phys), multiaxis=multiaxis))
    return nodes


def input_nodes(sysfs_root: str | os.PathLike = "/sys", dev_root: str | os.PathLike = "/dev"
                ) -> list[InputNode]:
    """Every evdev node (``/dev/input/event*``), sorted by number."""
    base = pathlib.Path(sysfs_root) / "class" / "input"
    nodes = []
    for entry in sorted(base.glob("event*"), key=lambda p: _node_number(p.name)):
        dev = entry / "device"
        caps = dev / "capabilities"
        nodes.append(InputNode(
            path=str(pathlib.Path(dev_root) / "input" / entry.name), sysname=entry.name,
            name=_read(dev / "name"), bus=_hex(_read(dev / "id" / "bustype")),
            vendor=_hex(_read(dev / "id" / "vendor")),
            product=_hex(_read(dev / "id" / "product")), phys=_read(dev / "phys"),
            ev=_bitmap(_read(caps / "ev")), keys=_bitmap(_read(caps / "key")),
            abs=_bitmap(_read(caps / "abs")), rel=_bitmap(_read(caps / "rel"))))
    return nodes


def _node_number(name: str) -> int:
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else 0


def udev_rule(kind: str, vendor: int, product: int, bus: int = BUS_USB) -> str:
    """The udev rule that makes one device readable by every user.

    USB devices match on the USB parent's ``idVendor``/``idProduct``; Bluetooth HID
    devices have no USB parent, so they match on the HID device name
    (``0005:VVVV:PPPP.*``).
    """
    if kind == "hidraw":
        if bus == BUS_BLUETOOTH:
            return (f'KERNEL=="hidraw*", KERNELS=="0005:{vendor:04X}:{product:04X}.*", '
                    f'MODE="0666"')
        return (f'KERNEL=="hidraw*", ATTRS{{idVendor}}=="{vendor:04x}", '
                f'ATTRS{{idProduct}}=="{product:04x}", MODE="0666"')
    if bus == BUS_BLUETOOTH:
        return (f'SUBSYSTEM=="input", KERNEL=="event*", ATTRS{{id/vendor}}=="{vendor:04x}", '
                f'ATTRS{{id/product}}=="{product:04x}", MODE="0666"')
    return (f'SUBSYSTEM=="input", KERNEL=="event*", ATTRS{{idVendor}}=="{vendor:04x}", '
            f'ATTRS{{idProduct}}=="{product:04x}", MODE="0666"')
