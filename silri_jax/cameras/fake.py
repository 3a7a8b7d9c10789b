"""A synthetic camera for tests, benchmarks and dry runs: frames at a given rate, on a
clock the caller may control, that can be told to stall or to fail.

Every frame shows a square moving across a gradient (so crops and resizes have something
to look at) and carries its frame counter in its top-left pixels (``decode_seq``), so a
test can tell which frame it got even after the frame went through a queue or a copy
(the counter does not survive cropping or resizing). The counter counts sensor periods
since start: frames the reader was too slow for leave gaps, as a real camera's frame
numbers do.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from silri_jax.cameras.base import DOMAIN_DEVICE, Camera, CameraError, Clock, Frame

_COUNTER_PIXELS = 4  # the R channel of pixels (0, 0..3) holds the seq, little-endian


class FakeClock:
    """A clock that moves only when told to; cameras waiting on it wake when it does."""

    def __init__(self, t: float = 0.0) -> None:
        self._t = float(t)
        self._cond = threading.Condition()

    def __call__(self) -> float:
        return self._t

    def advance(self, dt: float) -> float:
        """Moves the clock forward by ``dt`` seconds; returns the new time."""
        if dt < 0:
            raise ValueError(f"a clock does not go back: advance({dt})")
        with self._cond:
            self._t += float(dt)
            self._cond.notify_all()
        return self._t

    def wait_until(self, t: float, timeout: float) -> bool:
        """Blocks (up to ``timeout`` real seconds) until the clock reads at least ``t``."""
        with self._cond:
            return self._cond.wait_for(lambda: self._t >= t, timeout)


def encode_seq(image: np.ndarray, seq: int) -> None:
    """Writes ``seq`` (32 bits) into the R channel of the first pixels of row 0."""
    image[0, :_COUNTER_PIXELS, 0] = np.frombuffer(
        int(seq & 0xFFFFFFFF).to_bytes(4, "little"), np.uint8)


def decode_seq(image: np.ndarray) -> int:
    """The frame counter ``encode_seq`` wrote into an uncropped fake frame."""
    return int.from_bytes(np.asarray(image[0, :_COUNTER_PIXELS, 0], np.uint8).tobytes(),
                          "little")


class FakeCamera(Camera):
    """Synthetic ``height x width`` frames at ``fps`` on ``clock``.

    ``stall()`` stops delivery (a hung driver: the newest frame only ages) until
    ``resume()``; ``fail(exc)`` makes the reader raise ``exc`` (a driver error), which the
    next ``read`` reports. ``reachable=False`` makes ``start`` fail as an unplugged device
    does; ``stalled=True`` starts stalled (no first frame: ``start`` times out).
    """

    def __init__(self, name: str, *, width: int = 64, height: int = 48, fps: float = 30.0,
                 device: str = "", clock: Clock = time.monotonic, stalled: bool = False,
                 reachable: bool = True, seed: int = 0, latency_s: float = 0.0,
                 start_timeout_s: float = 5.0) -> None:
        super().__init__(name, latency_s=latency_s, start_timeout_s=start_timeout_s,
                         clock=clock)
        if width < _COUNTER_PIXELS or height < 1 or fps <= 0:
            raise ValueError(f"fake camera {name!r}: needs width >= {_COUNTER_PIXELS}, "
                             f"height >= 1 and fps > 0, got {width}x{height} at {fps}")
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.device = str(device) or "synthetic"
        self.reachable = bool(reachable)
        self._stalled = threading.Event()
        if stalled:
            self._stalled.set()
        self._fail: BaseException | None = None
        self._t0 = 0.0
        self._next = 0
        rng = np.random.default_rng(seed)
        tint = rng.integers(40, 200, 3)
        ys = np.linspace(0, 1, self.height)[:, None, None]
        xs = np.linspace(0, 1, self.width)[None, :, None]
        self._background = (tint * (0.5 + 0.25 * ys + 0.25 * xs)).astype(np.uint8)
        self._side = max(1, min(self.height, self.width) // 4)

    def describe(self) -> str:
        return f"fake {self.device}, {self.width}x{self.height} at {self.fps:g} fps"

    def _unreachable_hint(self) -> str:
        return "the fake camera was told to stall" if self._stalled.is_set() else (
            "check its settings")

    # ------------------------------------------------------------------ controls
    def stall(self) -> None:
        """Stops delivering frames until ``resume()``."""
        self._stalled.set()

    def resume(self) -> None:
        """Delivers frames again (the counter jumps over the stalled periods)."""
        self._stalled.clear()

    def fail(self, exc: BaseException | None = None) -> None:
        """Makes the reader raise ``exc`` (default: a ``CameraError``) on its next grab."""
        self._fail = exc or CameraError(f"fake camera {self.name!r}: injected failure")

    # ------------------------------------------------------------------ backend
    def _open(self) -> None:
        if not self.reachable:
            raise CameraError(f"camera {self.name!r} ({self.describe()}): cannot open the "
                              "device (told to be unreachable); check its settings")
        self._t0 = self.clock()
        self._next = 0

    def _wait(self, t: float, timeout: float) -> None:
        if isinstance(self.clock, FakeClock):
            self.clock.wait_until(t, timeout)
        else:
            self._stop.wait(max(0.0, min(timeout, t - self.clock())))

    def _grab(self, timeout: float) -> Frame | None:
        if self._fail is not None:
            raise self._fail
        if self._stalled.is_set():
            self._stop.wait(min(timeout, 0.01))
            return None
        # a nanosecond of slack: a clock advanced by 1/fps steps sums with rounding error
        due = self._t0 + self._next / self.fps - 1e-9
        if self.clock() < due:
            self._wait(due, timeout)
        now = self.clock()
        if now < due or self._stalled.is_set():
            return None
        # the sensor kept running while nobody read it: the newest period wins
        n = max(self._next, int((now - self._t0) * self.fps + 1e-6))
        self._next = n + 1
        return Frame(self.render(n), n / self.fps, DOMAIN_DEVICE, now, n)

    def render(self, seq: int) -> np.ndarray:
        """The picture of frame ``seq``: the moving square and the encoded counter."""
        img = self._background.copy()
        span = max(1, self.width - self._side)
        x = (seq * 3) % span
        y = (self.height - self._side) // 2
        img[y: y + self._side, x: x + self._side] = (250, 250, 250)
        encode_seq(img, seq)
        return img
