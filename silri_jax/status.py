"""The one-line terminal status of the trainers, and the formatting it shares.

On a terminal the line is rewritten in place and cut to the terminal's width (80 columns
when unknown); events (``event``) are printed on their own line above it. When the
output is not a terminal (a log file, a pipe, the launcher reading a child's log) every
status is a plain, uncut line starting with ``STATUS_PREFIX``, so a reader can tell a status
from an event, and a status is written again only when it changed (waiting messages,
whose elapsed time always changes, at most every ``repeat_s`` seconds).
"""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Sequence
from typing import TextIO

STATUS_PREFIX = "[status] "
DEFAULT_WIDTH = 80


def count(n: float) -> str:
    """``950`` -> ``950``, ``12000`` -> ``12k``, ``12345`` -> ``12.3k``, ``2.5e6`` -> ``2.5M``."""
    n = float(n)
    for div, unit in ((1e6, "M"), (1e3, "k")):
        if abs(n) >= div:
            v = n / div
            text = f"{v:.1f}" if abs(v) < 100 else f"{v:.0f}"
            return text.removesuffix(".0") + unit
    return f"{n:.0f}"


def duration(seconds: float) -> str:
    """``45`` -> ``45s``, ``185`` -> ``3m05s``, ``3720`` -> ``1h02m``."""
    if not math.isfinite(seconds) or seconds < 0:
        return "?"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def bar(fraction: float, width: int = 8) -> str:
    """``[#####-------]`` filled to ``fraction`` (clipped to [0, 1])."""
    f = min(max(float(fraction), 0.0), 1.0) if math.isfinite(fraction) else 0.0
    filled = round(f * width)
    return "[" + "#" * filled + "-" * (width - filled) + "]"


def percent(x: float) -> str:
    """``0.853`` -> ``85%``; NaN (nothing measured yet) -> ``--``."""
    return "--" if not math.isfinite(x) else f"{100 * x:.0f}%"


def progress(done: float, total: float, rate: float, unit: str = "steps") -> str:
    """``[###-----] 42% 5k/12k steps, 3m05s left`` (time left from ``rate`` per s)."""
    left = (total - done) / rate if rate > 0 else float("nan")
    eta = f", {duration(left)} left" if math.isfinite(left) else ""
    return f"{bar(done / max(total, 1))} {100 * done / max(total, 1):.0f}% " \
           f"{count(done)}/{count(total)} {unit}{eta}"


def fit(parts: Sequence[str], width: int, sep: str = " | ") -> str:
    """The leading ``parts`` that fit in ``width`` columns, joined by ``sep`` (the first
    part is always kept, cut if it alone is too long)."""
    out = parts[0][:width] if parts else ""
    for p in parts[1:]:
        if len(out) + len(sep) + len(p) > width:
            break
        out += sep + p
    return out


class Status:
    """A status line on ``stream``: in place on a terminal, plain lines otherwise."""

    def __init__(self, stream: TextIO | None = None, tty: bool | None = None,
                 width: int | None = None, repeat_s: float = 30.0,
                 quiet: bool = False) -> None:
        self.stream = stream or sys.stdout
        self.tty = self.stream.isatty() if tty is None else tty
        self._width = width
        self.repeat_s = repeat_s
        self.quiet = quiet
        self._shown = ""  # the status currently on the terminal line
        self._last_key: str | None = None
        self._last_t = -math.inf

    @property
    def width(self) -> int:
        if self._width is not None:
            return self._width
        if not self.tty:
            return DEFAULT_WIDTH
        return max(20, min(shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns, 200))

    def show(self, text: str, key: str | None = None) -> None:
        """Shows ``text`` as the status. ``key`` groups statuses that differ only in a
        running number (a waiting time): in plain mode one of a group is written at most
        every ``repeat_s``."""
        if self.quiet:
            return
        if self.tty:
            text = text[: self.width]
            self._shown = text
            self.stream.write("\r\x1b[2K" + text)
            self.stream.flush()
            return
        key = text if key is None else key
        now = time.monotonic()
        if key == self._last_key and now - self._last_t < self.repeat_s:
            return
        self._last_key, self._last_t = key, now
        self.stream.write(STATUS_PREFIX + text + "\n")
        self.stream.flush()

    def waiting(self, what: str, since: float) -> None:
        """``waiting for <what> (12s)``, ``since`` a ``time.monotonic()`` reading."""
        self.show(f"waiting for {what} ({duration(time.monotonic() - since)})",
                  key="waiting for " + what)

    def event(self, text: str) -> None:
        """A line that stays (above the status on a terminal)."""
        if self.quiet:
            return
        if self.tty:
            self.stream.write("\r\x1b[2K" + text + "\n" + self._shown)
        else:
            self.stream.write(text + "\n")
            self._last_key = None  # the next status is written again after an event
        self.stream.flush()

    def close(self) -> None:
        """Ends an in-place line so what follows starts on a new one."""
        if self.tty and self._shown and not self.quiet:
            self.stream.write("\n")
            self.stream.flush()
        self._shown = ""
