"""The keyboard as a teleop device: hold-to-move where the desktop allows, a terminal else.

Two readers, chosen by ``teleop.keyboard.backend`` (``auto`` picks the first that works):

- ``pynput``: a global listener (the ``pynput`` package, an X11 session, or macOS /
  Windows). It sees presses and releases, so holding ``w`` moves forward until released
  and the clutch can be held like a button. Wayland sessions do not give global key
  events to ordinary programs; ``auto`` then uses the terminal.
- ``terminal``: raw key bytes from the controlling terminal (cbreak mode, restored on
  close). A terminal sends no key releases, so it **cannot hold**: each key press moves
  for ``impulse_s`` seconds (a held key's auto-repeat after the terminal's repeat delay
  gives a jerky, repeated motion) and the clutch cannot be held; use
  ``intervention.mode=motion`` or ``toggle`` with it. The device says so when it starts.

Motion keys (``teleop.keyboard.motion``) press a device axis at ``speed``: ``"w:+y"``
means ``w`` pushes away from the operator. Every key is also an input ``key:<name>``
(``key:s``, ``key:space``, ``key:enter``, ``key:esc``, ``key:up``) for the bindings.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from silri_jax.teleop.base import Device, DeviceError, Sample
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import DEVICE_AXES, Conditioner, StalenessRule
from silri_jax.teleop.pipeline import Pipeline
from silri_jax.teleop.reader import ThreadedDevice

log = logging.getLogger(__name__)

DEFAULT_MOTION = ("w:+y, s:-y, d:+x, a:-x, e:+z, q:-z, "
                  "i:+rx, k:-rx, l:+ry, j:-ry, u:+rz, o:-rz")
TERMINAL_LIMITS = ("keyboard (terminal): a terminal sends no key releases, so keys cannot "
                   "be held: each press moves for {impulse:g} s and the clutch cannot be "
                   "held (use intervention.mode=motion or toggle); for hold-to-move run on "
                   "an X11 desktop with pynput installed")
_SEQUENCES = {b"\x1b[A": "up", b"\x1b[B": "down", b"\x1b[C": "right", b"\x1b[D": "left",
              b"\x1bOA": "up", b"\x1bOB": "down", b"\x1bOC": "right", b"\x1bOD": "left"}
_SINGLE = {b" ": "space", b"\r": "enter", b"\n": "enter", b"\t": "tab", b"\x7f": "backspace",
           b"\x08": "backspace", b"\x1b": "esc"}


def parse_motion(spec: str) -> dict[str, tuple[int, float]]:
    """``"w:+y, s:-y"`` -> ``{"w": (1, +1.0), "s": (1, -1.0)}`` (key -> device axis, sign)."""
    out: dict[str, tuple[int, float]] = {}
    for item in (p.strip() for p in spec.split(",")):
        if not item:
            continue
        key, _, axis = item.rpartition(":")
        axis = axis.strip().lower()
        sign = -1.0 if axis.startswith("-") else 1.0
        axis = axis.lstrip("+-")
        if not key or axis not in DEVICE_AXES:
            raise ValueError(f"keyboard.motion={spec!r}: {item!r} must be key:[+-]axis with "
                             f"axis one of {', '.join(DEVICE_AXES)}")
        out[key.strip().lower()] = (DEVICE_AXES.index(axis), sign)
    return out


def motion_axes(keys: Iterable[str], motion: dict[str, tuple[int, float]], speed: float
                ) -> np.ndarray:
    """The device axes while ``keys`` are pressed (opposite keys cancel)."""
    axes = np.zeros(6)
    for k in keys:
        if k in motion:
            i, sign = motion[k]
            axes[i] += sign * speed
    return np.clip(axes, -1.0, 1.0)


def parse_terminal_bytes(data: bytes) -> list[str]:
    """Terminal input bytes -> key names (letters lower-cased; arrows and escapes named)."""
    keys, i = [], 0
    while i < len(data):
        for seq, name in _SEQUENCES.items():
            if data.startswith(seq, i):
                keys.append(name)
                i += len(seq)
                break
        else:
            ch = data[i:i + 1]
            if ch in _SINGLE:
                keys.append(_SINGLE[ch])
            elif 0x21 <= ch[0] < 0x7F:
                keys.append(ch.decode().lower())
            i += 1
    return keys


class TerminalKeyboard(ThreadedDevice):
    """Keys from a terminal in cbreak mode; presses are impulses (see module docstring)."""

    continuous = False
    read_timeout_s = 0.01

    def __init__(self, fd: int | None = None, *, motion: str = DEFAULT_MOTION,
                 speed: float = 1.0, impulse_s: float = 0.15, **kwargs: Any) -> None:
        self._fd_given = fd
        self.fd = -1
        self.motion = parse_motion(motion)
        self.speed = float(speed)
        self.impulse_s = float(impulse_s)
        self.limitations = TERMINAL_LIMITS.format(impulse=self.impulse_s)
        self._until: dict[str, float] = {}
        self._saved: Any = None
        super().__init__("keyboard:terminal", **kwargs)

    def _open(self) -> None:
        if self._fd_given is not None:
            self.fd = self._fd_given
        else:
            try:
                self.fd = sys.stdin.fileno()
            except (ValueError, OSError):  # io.UnsupportedOperation is an OSError
                self.fd = -1
        if self.fd < 0 or not os.isatty(self.fd):
            raise DeviceError("the keyboard's terminal reader needs a terminal on stdin (it "
                              "is redirected); run from a terminal, or use another device")
        import termios
        import tty

        self._saved = termios.tcgetattr(self.fd)
        tty.setcbreak(self.fd)

    def start(self) -> None:
        super().start()
        log.warning(self.limitations)

    def _close_handle(self) -> None:
        saved, self._saved = self._saved, None
        if saved is not None:
            import termios

            termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)

    def feed(self, data: bytes, now: float) -> None:
        """Handles terminal bytes read at ``now`` (public so tests drive it directly)."""
        keys = parse_terminal_bytes(data)
        for k in keys:
            if k in self.motion:
                self._until[k] = now + self.impulse_s
        self.pipeline.raw.report(now, axes=self._axes(now), taps=[f"key:{k}" for k in keys])

    def _axes(self, now: float) -> np.ndarray:
        self._until = {k: t for k, t in self._until.items() if t > now}
        return motion_axes(self._until, self.motion, self.speed)

    def _read(self, timeout: float) -> None:
        import select

        ready, _, _ = select.select([self.fd], [], [], timeout)
        now = self._clock()
        if ready:
            data = os.read(self.fd, 64)
            if not data:
                raise EOFError("the terminal closed")
            self.feed(data, now)
        elif self._until:
            self.pipeline.raw.set_axes(self._axes(now))


def key_name(key: Any) -> str:
    """A pynput key (``KeyCode`` with ``char``, or ``Key`` with ``name``) as a key name."""
    char = getattr(key, "char", None)
    if char:
        return str(char).lower()
    name = getattr(key, "name", None) or str(key)
    name = str(name).lower().removeprefix("key.")
    for side in ("_l", "_r", "_gr"):
        if name.endswith(side) and name[: -len(side)] in ("shift", "ctrl", "alt", "cmd"):
            return name[: -len(side)]
    return name


class PynputKeyboard(Device):
    """Global key presses and releases through pynput: hold-to-move, holdable clutch."""

    def __init__(self, *, motion: str = DEFAULT_MOTION, speed: float = 1.0,
                 conditioner: Conditioner | None = None, bindings: Bindings | None = None,
                 stale_s: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 listener_factory: Callable[..., Any] | None = None, **_: Any) -> None:
        self.name = "keyboard:pynput"
        self.motion = parse_motion(motion)
        self.speed = float(speed)
        self._clock = clock
        self._held: set[str] = set()
        self.pipeline = Pipeline(self.name, conditioner, StalenessRule(stale_s, False),
                                 bindings, t0=clock())
        self._factory = listener_factory
        self._listener: Any = None

    def start(self) -> None:
        if self._listener is not None:
            return
        factory = self._factory
        if factory is None:
            try:
                from pynput import keyboard as pk  # type: ignore[import-not-found]
            except ImportError:
                raise DeviceError("pynput is not installed (pip install pynput); or set "
                                  "teleop.keyboard.backend=terminal") from None
            factory = pk.Listener
        try:
            self._listener = factory(on_press=self.on_press, on_release=self.on_release)
            self._listener.start()
        except Exception as e:  # (pynput raises various errors per platform)
            self._listener = None
            raise DeviceError(f"pynput cannot listen to the keyboard here ({e}); on Wayland "
                              "or without a desktop use teleop.keyboard.backend=terminal"
                              ) from None

    def on_press(self, key: Any) -> None:
        name = key_name(key)
        if name in self._held:
            return  # auto-repeat of a held key
        self._held.add(name)
        self.pipeline.raw.report(self._clock(), axes=self._axes(),
                                 pressed=[f"key:{name}"])

    def on_release(self, key: Any) -> None:
        name = key_name(key)
        self._held.discard(name)
        self.pipeline.raw.report(self._clock(), axes=self._axes(),
                                 released=[f"key:{name}"])

    def _axes(self) -> np.ndarray:
        return motion_axes(self._held, self.motion, self.speed)

    def poll(self, now: float | None = None) -> Sample:
        t = self._clock()
        return self.pipeline.sample(t if now is None else float(now), clock_now=t)

    def close(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.stop()


def pynput_usable() -> bool:
    """Whether a global listener can work here: pynput installed, and an X11 session (or
    macOS / Windows)."""
    try:
        import pynput  # type: ignore[import-not-found]  # noqa: F401
    except ImportError:
        return False
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY")) and not os.environ.get("WAYLAND_DISPLAY")


def make_keyboard(backend: str = "auto", **kwargs: Any) -> Device:
    """The keyboard reader for ``backend`` (auto, pynput or terminal)."""
    if backend not in ("auto", "pynput", "terminal"):
        raise ValueError(f"keyboard.backend={backend!r}: must be auto, pynput or terminal")
    if backend == "pynput" or (backend == "auto" and pynput_usable()):
        return PynputKeyboard(**kwargs)
    kwargs.pop("listener_factory", None)
    return TerminalKeyboard(**kwargs)
