"""A 3D mouse through the spacenavd daemon and its client library libspnav (ctypes).

Use this when spacenavd already owns the device (it is running for CAD programs): the
daemon delivers motion and button events over a socket, and ``libspnav.so`` reads them.
Nothing is compiled: the library is loaded with ctypes when present, and a missing
library or daemon is a clear error saying what to install or start.

spacenavd's default axis convention is x right, y up, z into the screen (from the device's
HID frame it swaps y and z and flips them); this backend turns that into the device frame
(x right, y away from the operator, z up) by taking (x, z, y, rx, rz, ry), scaled by
``scale`` (350 counts at full deflection, at spacenavd's default sensitivity). A
``~/.spnavrc`` that inverts or swaps axes changes this: check with ``doctor --live``.

Buttons are ``button:b0``, ``button:b1``, ... by spacenavd's button number (on a 2-button
mouse b0 is the left one). spacenavd reports on change, so the on-change staleness rule
applies; a device-removed event from a newer daemon (libspnav >= 1.0) is the device
reporting its link lost.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import select
from collections.abc import Callable
from typing import Any

import numpy as np

from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.reader import ThreadedDevice

SPNAV_EVENT_MOTION, SPNAV_EVENT_BUTTON, SPNAV_EVENT_DEV = 1, 2, 3
SPNAV_DEV_ADD, SPNAV_DEV_RM = 0, 1
SOCKET_PATHS = ("/var/run/spnav.sock", "/run/spnav.sock")


class _Motion(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("x", ctypes.c_int), ("y", ctypes.c_int),
                ("z", ctypes.c_int), ("rx", ctypes.c_int), ("ry", ctypes.c_int),
                ("rz", ctypes.c_int), ("period", ctypes.c_uint),
                ("data", ctypes.POINTER(ctypes.c_int))]


class _Button(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("press", ctypes.c_int), ("bnum", ctypes.c_int)]


class _Dev(ctypes.Structure):
    _fields_ = [("type", ctypes.c_int), ("op", ctypes.c_int), ("id", ctypes.c_int)]


class SpnavEvent(ctypes.Union):
    """``spnav_event``, padded: newer libspnav versions have larger union members."""

    _fields_ = [("type", ctypes.c_int), ("motion", _Motion), ("button", _Button),
                ("dev", _Dev), ("_pad", ctypes.c_char * 256)]


def spnav_to_device(x: int, y: int, z: int, rx: int, ry: int, rz: int,
                    scale: float = 350.0) -> np.ndarray:
    """spacenavd's default frame -> the device frame (see the module docstring)."""
    return np.asarray([x, z, y, rx, rz, ry], np.float64) / scale


def load_library(name: str = "") -> Any:
    """libspnav through ctypes, or a DeviceError saying how to get it."""
    path = name or ctypes.util.find_library("spnav")
    if not path:
        raise DeviceError("libspnav is not installed (Debian/Ubuntu: sudo apt install "
                          "libspnav0 spacenavd); or read the SpaceMouse directly with "
                          "teleop.device=spacemouse")
    try:
        return ctypes.CDLL(path)
    except OSError as e:
        raise DeviceError(f"cannot load libspnav from {path}: {e}") from None


class SpacenavDevice(ThreadedDevice):
    """Events from spacenavd through libspnav (see the module docstring).

    ``library`` replaces the loaded library (tests pass a fake with the same functions).
    """

    continuous = False

    def __init__(self, *, scale: float = 350.0, library: Any = None,
                 library_name: str = "", **kwargs: Any) -> None:
        self.scale = float(scale)
        self._lib_given = library
        self._library_name = library_name
        self._lib: Any = None
        self._fd = -1
        self._axes = np.zeros(6)
        self._quiet_reads = 0
        super().__init__("spacenav:spacenavd", **kwargs)

    def _fix_hint(self) -> str:
        return ("is spacenavd running? (sudo systemctl start spacenavd; its socket is "
                f"{' or '.join(SOCKET_PATHS)})")

    def _open(self) -> None:
        lib = self._lib_given if self._lib_given is not None else load_library(
            self._library_name)
        if lib.spnav_open() == -1:
            raise DeviceError("cannot connect to spacenavd: the daemon is not running or "
                              f"its socket is missing; {self._fix_hint()}")
        self._lib = lib
        self._fd = int(lib.spnav_fd())
        self._axes = np.zeros(6)
        self._quiet_reads = 0

    def _close_handle(self) -> None:
        lib, self._lib = self._lib, None
        if lib is not None:
            lib.spnav_close()

    def _read(self, timeout: float) -> None:
        if self._lib is None:
            raise EOFError("not connected")
        if self._fd >= 0:
            ready, _, _ = select.select([self._fd], [], [], timeout)
            if not ready:
                return
        got = self.drain_events()
        if self._fd >= 0 and not got:
            # readable but no event: the daemon closed the socket
            self._quiet_reads += 1
            if self._quiet_reads >= 3:
                raise EOFError("spacenavd closed the connection")
        else:
            self._quiet_reads = 0

    def drain_events(self) -> int:
        """Handles every queued event; returns how many there were."""
        ev = SpnavEvent()
        count = 0
        poll: Callable[[Any], int] = self._lib.spnav_poll_event
        while poll(ctypes.byref(ev)):
            count += 1
            now = self._clock()
            if ev.type == SPNAV_EVENT_MOTION:
                m = ev.motion
                self._axes = spnav_to_device(m.x, m.y, m.z, m.rx, m.ry, m.rz, self.scale)
                self.pipeline.raw.report(now, axes=self._axes)
            elif ev.type == SPNAV_EVENT_BUTTON:
                name = f"button:b{int(ev.button.bnum)}"
                if ev.button.press:
                    self.pipeline.raw.report(now, pressed=[name])
                else:
                    self.pipeline.raw.report(now, released=[name])
            elif ev.type == SPNAV_EVENT_DEV:
                self.pipeline.raw.set_link_lost(ev.dev.op == SPNAV_DEV_RM, now)
        return count


def daemon_socket() -> str:
    """The spacenavd socket that exists, or ""."""
    return next((p for p in SOCKET_PATHS if os.path.exists(p)), "")
