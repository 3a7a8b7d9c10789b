"""Finds the cameras on this computer: V4L2 nodes from sysfs, RealSense serials from
pyrealsense2 (when installed).

A USB webcam usually makes two nodes, a picture stream and a metadata stream; only the
first can be opened as a camera, so each node's capabilities are asked for
(``VIDIOC_QUERYCAP``) when it may be opened, and a node that may not be opened is
reported with the permission fix rather than silently skipped.
"""

from __future__ import annotations

import dataclasses
import errno
import fcntl
import os
import pathlib
import re
import struct

_VIDIOC_QUERYCAP = 0x80685600  # _IOR('V', 0, struct v4l2_capability), 104 bytes
_CAP_VIDEO_CAPTURE = 0x00000001
_CAP_VIDEO_CAPTURE_MPLANE = 0x00001000
_CAP_META_CAPTURE = 0x00800000
_CAP_DEVICE_CAPS = 0x80000000


@dataclasses.dataclass(frozen=True)
class V4L2Node:
    """One /dev/videoN node: its name, kind (capture, metadata, other, unknown), problem."""

    path: str
    name: str
    index: int
    kind: str
    stable_paths: tuple[str, ...] = ()
    problem: str = ""


def _read(path: pathlib.Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def _kind(dev_path: str) -> tuple[str, str]:
    """(kind, problem) of a device node from its capabilities."""
    if not os.path.exists(dev_path):
        return "unknown", f"{dev_path} does not exist (sysfs lists it: check udev)"
    try:
        fd = os.open(dev_path, os.O_RDONLY | os.O_NONBLOCK)
    except OSError as e:
        if e.errno in (errno.EACCES, errno.EPERM):
            return "unknown", ("no permission: add your user to group video (`sudo usermod "
                               "-aG video $USER`, then log in again)")
        return "unknown", f"cannot open: {os.strerror(e.errno or 0)}"
    try:
        buf = bytearray(104)
        fcntl.ioctl(fd, _VIDIOC_QUERYCAP, buf)
    except OSError as e:
        return "unknown", f"not a V4L2 device ({os.strerror(e.errno or 0)})"
    finally:
        os.close(fd)
    caps, device_caps = struct.unpack_from("<II", buf, 84)
    if caps & _CAP_DEVICE_CAPS:
        caps = device_caps
    if caps & (_CAP_VIDEO_CAPTURE | _CAP_VIDEO_CAPTURE_MPLANE):
        return "capture", ""
    if caps & _CAP_META_CAPTURE:
        return "metadata", ""
    return "other", ""


def _stable_paths(dev_root: pathlib.Path) -> dict[str, list[str]]:
    """``{"/dev/videoN": ["/dev/v4l/by-id/...", ...]}`` from the udev symlinks."""
    out: dict[str, list[str]] = {}
    for sub in ("by-id", "by-path"):
        folder = dev_root / "v4l" / sub
        if not folder.is_dir():
            continue
        for link in sorted(folder.iterdir()):
            try:
                target = os.path.realpath(link)
            except OSError:
                continue
            out.setdefault(target, []).append(str(link))
    return out


def v4l2_nodes(sysfs: str | pathlib.Path = "/sys",
               dev: str | pathlib.Path = "/dev") -> list[V4L2Node]:
    """Every /dev/videoN that sysfs knows, in number order."""
    root = pathlib.Path(sysfs) / "class" / "video4linux"
    if not root.is_dir():
        return []
    dev_root = pathlib.Path(dev)
    stable = _stable_paths(dev_root)

    def number(p: pathlib.Path) -> int:
        m = re.search(r"(\d+)$", p.name)
        return int(m.group(1)) if m else 1 << 30

    nodes = []
    for entry in sorted(root.glob("video*"), key=number):
        dev_path = str(dev_root / entry.name)
        index_text = _read(entry / "index")
        kind, problem = _kind(dev_path)
        nodes.append(V4L2Node(dev_path, _read(entry / "name") or "?",
                              int(index_text) if index_text.isdigit() else -1, kind,
                              tuple(stable.get(os.path.realpath(dev_path), ())), problem))
    return nodes


def realsense_devices() -> list[dict[str, str]] | None:
    """The RealSense devices connected, or None when pyrealsense2 is not installed."""
    try:
        import pyrealsense2 as rs
    except ImportError:
        return None
    from silri_jax.cameras.realsense import connected_devices

    return connected_devices(rs)


def report(nodes: list[V4L2Node], realsense: list[dict[str, str]] | None,
           sysfs: str | pathlib.Path = "/sys") -> str:
    """The ``list`` command's text."""
    lines = [f"V4L2 devices ({pathlib.Path(sysfs) / 'class' / 'video4linux'}):"]
    if not nodes:
        lines.append("  none (no USB camera plugged in, or no uvcvideo driver loaded)")
    for n in nodes:
        use = {"capture": "camera: --config.cameras.<name>.device=" + n.path,
               "metadata": "metadata stream, not a picture: use its sibling",
               "other": "not a capture device", "unknown": n.problem}[n.kind]
        lines.append(f"  {n.path}  {n.name!r}  index {n.index}  {n.kind}: {use}")
        for p in n.stable_paths:
            lines.append(f"      stable path: {p}")
    if realsense is None:
        lines.append("RealSense: pyrealsense2 is not installed (pip install pyrealsense2) "
                     "so RealSense cameras are not listed here")
    else:
        lines.append("RealSense devices (pyrealsense2):")
        if not realsense:
            lines.append("  none (check the USB 3 cable; rs-enumerate-devices)")
        for d in realsense:
            lines.append(f"  serial {d['serial']}  {d['name']!r}  firmware {d['firmware']}  "
                         f"USB {d['usb'] or '?'}: --config.cameras.<name>.backend=realsense "
                         f"--config.cameras.<name>.device={d['serial']}")
    return "\n".join(lines) + "\n"
