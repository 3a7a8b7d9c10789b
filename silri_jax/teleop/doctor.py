"""What ``python -m silri_jax.teleop doctor`` finds and says: devices, permissions, fixes.

It lists the input devices a teleop backend could read (3Dconnexion hidraw nodes, evdev
joysticks, gamepads and 6-DoF devices), whether the current user may read each, and the
udev rules that make them readable; then what else is there (spacenavd, optional Python
packages, a desktop for the global keyboard listener). With ``--live`` it shows one
device's conditioned axes and buttons as they change.
"""

from __future__ import annotations

import ctypes.util
import dataclasses
import importlib.util
import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

from silri_jax.teleop.base import Device, Sample
from silri_jax.teleop.discovery import hidraw_nodes, input_nodes, udev_rule

RULES_FILE = "/etc/udev/rules.d/99-silri-teleop.rules"


@dataclasses.dataclass(frozen=True)
class Found:
    """One device a backend could read."""

    path: str
    name: str
    id: str
    bus: str
    interface: str
    backend: str
    detail: str
    exists: bool
    readable: bool
    rule: str


def find_devices(sysfs_root: str = "/sys", dev_root: str = "/dev",
                 access: Callable[[str, int], bool] = os.access) -> list[Found]:
    """Every device a teleop backend could read, hidraw first (``access`` is how read
    permission is checked: ``os.access``, replaced in tests that run as root)."""
    from silri_jax.teleop import gamepad, spacemouse

    found = []
    table = spacemouse.load_table()
    for node in hidraw_nodes(sysfs_root, dev_root):
        entry = spacemouse.entry_for(node.vendor, node.product, table)
        if entry is None:
            continue
        axes = {True: ", axis interface", False: ", not the axis interface",
                None: ""}[node.multiaxis]
        iface = f"interface {node.interface}" if node.interface is not None else "-"
        found.append(_found(node.path, node.name or entry.name, node.id, node.bus_name,
                            iface + axes, "spacemouse",
                            f"{entry.name}, layout {entry.layout}",
                            udev_rule("hidraw", node.vendor, node.product, node.bus),
                            access))
    maps = gamepad.load_maps()
    for node in input_nodes(sysfs_root, dev_root):
        if node.kind not in ("gamepad", "joystick", "6dof"):
            continue
        if node.kind == "gamepad":
            m = next((m for m in maps if m.matches(node.name)), None)
            backend, detail = "gamepad", f"map {m.key}" if m else "no map matches"
        elif node.kind == "6dof":
            backend, detail = "evdev", "6-DoF (or read it as spacemouse over hidraw)"
        else:
            backend, detail = "evdev", "joystick"
        found.append(_found(node.path, node.name, node.id, node.bus_name, "-", backend,
                            detail, udev_rule("input", node.vendor, node.product, node.bus),
                            access))
    return found


def _found(path: str, name: str, id_: str, bus: str, interface: str, backend: str,
           detail: str, rule: str, access: Callable[[str, int], bool]) -> Found:
    exists = os.path.exists(path)
    return Found(path=path, name=name, id=id_, bus=bus, interface=interface,
                 backend=backend, detail=detail, exists=exists,
                 readable=exists and access(path, os.R_OK), rule=rule)


def environment() -> list[str]:
    """Lines about spacenavd, optional packages and the keyboard listener."""
    from silri_jax.teleop.spacenav import SOCKET_PATHS, daemon_socket

    sock = daemon_socket()
    lib = ctypes.util.find_library("spnav")
    daemon = f"running ({sock})" if sock else f"not running (no {SOCKET_PATHS[0]})"
    lines = [f"spacenavd: {daemon}; libspnav: {lib or 'not found'}"]
    has = {m: importlib.util.find_spec(m) is not None for m in ("evdev", "hid", "pynput")}
    lines.append("python packages: "
                 f"evdev {'yes' if has['evdev'] else 'no (reading /dev/input directly)'}, "
                 f"hidapi {'yes' if has['hid'] else 'no (not needed on Linux)'}, "
                 f"pynput {'yes' if has['pynput'] else 'no (keyboard reads the terminal)'}")
    desktop = ("X11" if os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY")
               else "Wayland" if os.environ.get("WAYLAND_DISPLAY") else "none")
    lines.append(f"desktop session: {desktop} (the global keyboard listener needs X11, "
                 "macOS or Windows)")
    return lines


def report(found: list[Found], sysfs_root: str = "/sys",
           env_lines: list[str] | None = None) -> str:
    """The doctor's text."""
    out = []
    if not found:
        out += [f"no teleop input device found (looked for 3Dconnexion hidraw nodes in "
                f"{sysfs_root}/class/hidraw and joysticks, gamepads and 6-DoF devices in "
                f"{sysfs_root}/class/input).",
                "advice:",
                "  - plug the device in (a wireless one: switch it on / pair it) and run "
                "this again;",
                "  - in a container, pass the device files through (docker run --device "
                "/dev/hidraw3 ...) and mount /sys;",
                "  - no device at hand: --device keyboard moves with keys, --device none "
                "runs without a human."]
    else:
        out.append(f"teleop input devices ({len(found)}):")
        for f in found:
            access = ("readable" if f.readable else "NOT READABLE" if f.exists
                      else "NO DEVICE FILE")
            out.append(f"  {f.path}  {f.name}  [{f.id}, {f.bus}, {f.interface}]")
            out.append(f"      backend: {f.backend} ({f.detail}); {access}")
        blocked = [f for f in found if f.exists and not f.readable]
        if blocked:
            rules = sorted({f.rule for f in blocked})
            out += [f"permissions: {len(blocked)} device(s) not readable by you. Install "
                    f"this udev rule ({RULES_FILE}):",
                    f"  sudo tee {RULES_FILE} <<'EOF'", *(f"  {r}" for r in rules), "  EOF",
                    "  sudo udevadm control --reload-rules && sudo udevadm trigger",
                    "  then unplug and replug the device (or use TAG+=\"uaccess\" instead "
                    "of MODE for the logged-in user only)."]
        else:
            out.append("permissions: every device is readable.")
        first = found[0]
        out.append(f"try it: python -m silri_jax.teleop doctor --live --device "
                   f"{first.backend} --path {first.path}")
    out += ["other inputs:", *(f"  {line}" for line in (env_lines or []))]
    return "\n".join(out) + "\n"


def format_sample(s: Sample) -> str:
    """One line: the conditioned twist, gripper, held buttons, events and health."""
    names = ("vx", "vy", "vz", "wx", "wy", "wz")
    twist = " ".join(f"{n} {v:+.2f}" for n, v in zip(names, s.twist, strict=True))
    grip = {0: "open", 1: "stay", 2: "close"}[s.gripper]
    held = " ".join(k for k, v in sorted(s.buttons.items()) if v) or "-"
    events = " ".join(s.events) or "-"
    health = "ok" if s.healthy else f"UNHEALTHY: {s.problem}"
    return f"{twist} | grip {grip} | held {held} | events {events} | {health}"


def live(device: Device, seconds: float, out: TextIO | None = None, *,
         rate_hz: float = 20.0, tty: bool | None = None,
         clock: Callable[[], float] = time.monotonic,
         sleep: Callable[[float], None] = time.sleep) -> int:
    """Shows ``device``'s samples for ``seconds`` (<= 0: until Ctrl-C); on a terminal one
    line refreshed in place, else one plain line per sample. Returns the samples shown."""
    out = sys.stdout if out is None else out
    tty = out.isatty() if tty is None else tty
    start, shown = clock(), 0
    try:
        while seconds <= 0 or clock() - start < seconds:
            line = format_sample(device.poll(clock()))
            if tty:
                out.write("\r" + line + "\x1b[K")
            else:
                out.write(line + "\n")
            out.flush()
            shown += 1
            sleep(1.0 / rate_hz)
    except KeyboardInterrupt:
        pass
    if tty:
        out.write("\n")
    return shown
