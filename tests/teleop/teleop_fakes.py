"""Fakes for the teleop tests: a sysfs/dev tree for device discovery, report builders.

Real hidraw and evdev nodes are not available where the tests run, so discovery is fed a
directory laid out like ``/sys/class/{hidraw,input}`` and the device files are regular
files or FIFOs under a fake ``/dev``.
"""

from __future__ import annotations

import os
import pathlib
import struct


class FakeSys:
    """Builds ``<root>/sys`` and ``<root>/dev`` like a Linux machine's."""

    def __init__(self, root: pathlib.Path) -> None:
        self.sys = root / "sys"
        self.dev = root / "dev"
        (self.sys / "class" / "hidraw").mkdir(parents=True)
        (self.sys / "class" / "input").mkdir(parents=True)
        (self.dev / "input").mkdir(parents=True)

    def hidraw(self, n: int, vendor: int, product: int, name: str, *, bus: int = 3,
               interface: int = 0, multiaxis: bool = True, fifo: bool = False) -> str:
        d = self.sys / "class" / "hidraw" / f"hidraw{n}"
        (d / "device").mkdir(parents=True)
        (d / "uevent").write_text(f"MAJOR=241\nMINOR={n}\nDEVNAME=hidraw{n}\n")
        (d / "device" / "uevent").write_text(
            f"DRIVER=hid-generic\nHID_ID={bus:04X}:{vendor:08X}:{product:08X}\n"
            f"HID_NAME={name}\nHID_PHYS=usb-0000:00:14.0-2/input{interface}\n")
        usage = b"\x09\x08" if multiaxis else b"\x09\x06"
        (d / "device" / "report_descriptor").write_bytes(b"\x05\x01" + usage + b"\xa1\x01")
        path = self.dev / f"hidraw{n}"
        if fifo:
            os.mkfifo(path)
        else:
            path.write_bytes(b"")
        return str(path)

    def remove_hidraw(self, n: int) -> None:
        d = self.sys / "class" / "hidraw" / f"hidraw{n}"
        for p in sorted(d.rglob("*"), reverse=True):
            p.rmdir() if p.is_dir() else p.unlink()
        d.rmdir()
        (self.dev / f"hidraw{n}").unlink()

    def input(self, n: int, name: str, *, vendor: int = 0x045E, product: int = 0x028E,
              bus: int = 3, keys: tuple[int, ...] = (), abs_: tuple[int, ...] = (),
              rel: tuple[int, ...] = ()) -> str:
        d = self.sys / "class" / "input" / f"event{n}" / "device"
        (d / "id").mkdir(parents=True)
        (d / "capabilities").mkdir()
        (d / "name").write_text(name + "\n")
        (d / "phys").write_text("usb-0000:00:14.0-3/input0\n")
        (d / "id" / "bustype").write_text(f"{bus:04x}\n")
        (d / "id" / "vendor").write_text(f"{vendor:04x}\n")
        (d / "id" / "product").write_text(f"{product:04x}\n")
        for fname, codes in (("key", keys), ("abs", abs_), ("rel", rel)):
            (d / "capabilities" / fname).write_text(_bitmap(codes) + "\n")
        (d / "capabilities" / "ev").write_text("1b\n")
        path = self.dev / "input" / f"event{n}"
        path.write_bytes(b"")
        return str(path)


def _bitmap(codes: tuple[int, ...]) -> str:
    """Codes as sysfs writes a capability bitmap: hex longs, most significant first."""
    bits = 0
    for c in codes:
        bits |= 1 << c
    words = []
    while bits:
        words.append(f"{bits & (2**64 - 1):x}")
        bits >>= 64
    return " ".join(reversed(words)) or "0"


GAMEPAD_KEYS = (304, 305, 307, 308, 310, 311, 314, 315, 316, 317, 318)
GAMEPAD_ABS = (0, 1, 2, 3, 4, 5, 16, 17)


def int16s(*values: int) -> bytes:
    return struct.pack(f"<{len(values)}h", *values)


def report(rid: int, *values: int) -> bytes:
    """A SpaceMouse axis report: id, then int16 little-endian values."""
    return bytes([rid]) + int16s(*values)
