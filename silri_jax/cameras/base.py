"""What every camera backend shares: the ``Frame`` record, the errors and the ``Camera``
base with its one reader thread.

A policy acting at 10 Hz must see what the scene looks like now, not what a buffer held a
second ago, so a camera keeps only its newest frame: the reader thread replaces one
reference (an atomic store under the GIL; no queue that could grow or lag) and the control
loop takes whatever is newest. Because the loop acts on that frame, it must also know how
old it is: ``read(max_age_s)`` refuses a frame older than the limit with a
``StaleFrameError`` naming the camera, the frame's age and the limit, which is also how a
camera that stopped delivering (unplugged, driver hung) shows up. An exception in the
reader thread is kept and raised by the next ``read`` (it is never swallowed into a
healthy-looking camera with an old frame).

Ages are judged on the host: ``age = now - frame.t_host + latency_s``, the time since the
frame reached the host plus the camera's own expected capture-to-host latency, so
``max_age_s`` bounds how old the scene in the picture is. ``t_device`` (with its
``domain``) is the camera's own timestamp, kept to line frames up with each other and
with robot states, not to judge age (device clocks are not the host's).
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import threading
import time
from collections.abc import Callable, Sequence
from types import TracebackType

import numpy as np

log = logging.getLogger(__name__)

Clock = Callable[[], float]

# Timestamp domains of Frame.t_device.
DOMAIN_DEVICE = "device"  # the camera's own clock (RealSense hardware clock, seconds)
DOMAIN_HOST = "host"  # host monotonic time when the frame was received (no device stamp)
DOMAIN_GLOBAL = "global"  # RealSense global time: device clock mapped onto host wall time
DOMAIN_SYSTEM = "system"  # host wall clock (seconds since the epoch) at arrival (RealSense)
DOMAIN_MONOTONIC = "monotonic"  # V4L2 buffer stamp, CLOCK_MONOTONIC (= time.monotonic)
DOMAIN_FILE = "file"  # position in a video file, seconds (continues across loops)
DOMAIN_SIM = "sim"  # MuJoCo simulated time (data.time)

# What a user should check when a camera cannot be reached; backends add their own.
V4L2_HINT = ("check the cable, that the device exists (`v4l2-ctl --list-devices` or "
             "`python -m silri_jax.cameras list`) and that you may read it (/dev/video* "
             "belongs to group video: `sudo usermod -aG video $USER`, then log in again)")
REALSENSE_HINT = ("check the cable (a USB 3 port), that the camera is listed by "
                  "`rs-enumerate-devices` or `python -m silri_jax.cameras list`, and that "
                  "no other program holds it")


class CameraError(RuntimeError):
    """A camera cannot be opened, delivered no frame in time, or its reader failed."""


class StaleFrameError(CameraError):
    """One or more cameras' newest frames are older than allowed (or there are none).

    ``stale`` lists ``(camera, age_s or None when there is no frame yet, limit_s)``.
    """

    def __init__(self, stale: Sequence[tuple[str, float | None, float]]) -> None:
        self.stale = [(str(n), a, float(m)) for n, a, m in stale]
        parts = []
        for name, age, limit in self.stale:
            if age is None:
                parts.append(f"camera {name!r} has delivered no frame yet "
                             f"(limit {limit * 1e3:.0f} ms)")
            else:
                parts.append(f"camera {name!r} frame is {age * 1e3:.0f} ms old "
                             f"(limit {limit * 1e3:.0f} ms)")
        super().__init__("stale frame: " + "; ".join(parts)
                         + "; a camera that stopped delivering shows up here: check its "
                         "cable and that nothing else reads it")

    @property
    def cameras(self) -> list[str]:
        return [n for n, _, _ in self.stale]


@dataclasses.dataclass(frozen=True)
class Frame:
    """One picture and when it was taken.

    ``image``: uint8 HxWx3 RGB. ``t_device``: seconds in the camera's timestamp domain
    ``domain`` (one of the ``DOMAIN_*`` names). ``t_host``: the camera's host clock
    (``time.monotonic`` unless a clock was given) when the frame was received. ``seq``:
    the frame counter (the device's when it has one, else counted on the host).
    """

    image: np.ndarray
    t_device: float
    domain: str
    t_host: float
    seq: int


class Camera(abc.ABC):
    """A camera whose reader thread keeps only the newest frame.

    Subclasses implement ``_open`` (acquire the device; raise ``CameraError`` with what to
    check), ``_grab`` (block up to ``timeout`` s for the next frame; return it, or None on
    a timeout) and ``_release``. ``on_demand`` subclasses produce a frame when asked
    (``latest`` calls ``_grab`` in the caller's thread) instead of on a thread.
    """

    #: True: no thread; ``latest()`` produces a fresh frame in the caller's thread.
    on_demand = False
    #: longest one ``_grab`` call waits, so ``close()`` is noticed soon
    grab_timeout_s = 0.1

    def __init__(self, name: str, *, latency_s: float = 0.0, start_timeout_s: float = 5.0,
                 clock: Clock = time.monotonic) -> None:
        if latency_s < 0 or start_timeout_s <= 0:
            raise ValueError(f"camera {name!r}: latency_s must be >= 0 and start_timeout_s "
                             f"> 0, got {latency_s} and {start_timeout_s}")
        self.name = str(name)
        self.latency_s = float(latency_s)
        self.start_timeout_s = float(start_timeout_s)
        self.clock = clock
        self._latest: Frame | None = None
        self._error: BaseException | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._grab_lock = threading.Lock()  # on-demand cameras: one render at a time
        self.frames_received = 0

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def describe(self) -> str:
        """The device in words for messages (``/dev/video2``, ``RealSense 123456``)."""

    def _open(self) -> None:  # noqa: B027 (optional hook)
        """Acquires the device (in the caller's thread); raises ``CameraError``."""

    def _open_in_thread(self) -> None:  # noqa: B027 (optional hook)
        """Acquisition that must happen in the reader thread (GL contexts)."""

    def _close_in_thread(self) -> None:  # noqa: B027 (optional hook)
        """Releases what ``_open_in_thread`` acquired, in the same thread (idempotent)."""

    @abc.abstractmethod
    def _grab(self, timeout: float) -> Frame | None:
        """The next frame within ``timeout`` s, or None; raises when the device failed."""

    def _release(self) -> None:  # noqa: B027 (optional hook)
        """Releases the device (idempotent)."""

    def _unreachable_hint(self) -> str:
        """What to check when no frame arrives at start."""
        return "check the device and its settings"

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> Camera:
        """Opens the device and waits for its first frame (``start_timeout_s``).

        Raises ``CameraError`` naming the device and what to check when it cannot be
        opened or stays silent; the device is released again in that case.
        """
        if self._started:
            return self
        self._stop.clear()
        self._error = None
        self._latest = None  # a frame from before a close() must not pass for a new one
        self._open()
        try:
            if self.on_demand:
                self._open_in_thread()
                self._store(self._grab(self.start_timeout_s))
            else:
                self._thread = threading.Thread(target=self._run, name=f"camera {self.name}",
                                                daemon=True)
                self._thread.start()
                self._wait_first_frame()
            if self._latest is None:
                raise CameraError(
                    f"camera {self.name!r} ({self.describe()}): no frame within "
                    f"{self.start_timeout_s:g} s of starting; {self._unreachable_hint()}")
        except BaseException:
            self._shutdown()
            raise
        self._started = True
        return self

    def _wait_first_frame(self) -> None:
        deadline = time.monotonic() + self.start_timeout_s
        while self._latest is None and time.monotonic() < deadline:
            if self._error is not None:
                break
            if self._thread is not None and not self._thread.is_alive():
                break
            time.sleep(0.005)
        if self._latest is None and self._error is not None:
            raise self._failure("failed while starting", hint=True)

    def _run(self) -> None:
        try:
            self._open_in_thread()
            while not self._stop.is_set():
                self._store(self._grab(self.grab_timeout_s))
        except BaseException as e:  # kept for the next read(): never lost
            self._error = e
            log.warning("camera %r (%s): reader stopped: %s", self.name, self.describe(), e)
        finally:
            self._close_in_thread()

    def _store(self, frame: Frame | None) -> None:
        if frame is not None:
            self._latest = frame  # one reference store: the newest frame, nothing queued
            self.frames_received += 1

    def close(self) -> None:
        """Stops the reader and releases the device (idempotent)."""
        self._shutdown()
        self._started = False

    def _shutdown(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout=max(2.0, 4 * self.grab_timeout_s))
            if thread.is_alive():
                log.warning("camera %r (%s): reader did not stop; leaving the device open",
                            self.name, self.describe())
                return
        if self.on_demand:
            self._close_in_thread()
        self._release()

    def __enter__(self) -> Camera:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def _failure(self, what: str, hint: bool = False) -> CameraError:
        """The reader's exception as a ``CameraError`` naming this camera (once)."""
        e = self._error
        if isinstance(e, CameraError) and repr(self.name) in str(e):
            error = CameraError(str(e))  # already names the camera and what to check
        else:
            text = f"camera {self.name!r} ({self.describe()}) {what}: {type(e).__name__}: {e}"
            error = CameraError(f"{text}; {self._unreachable_hint()}" if hint else text)
        error.__cause__ = e
        return error

    # ------------------------------------------------------------------ frames
    @property
    def error(self) -> BaseException | None:
        """The exception that stopped the reader thread, if any."""
        return self._error

    def latest(self) -> Frame | None:
        """The newest frame (None before the first); never blocks on a threaded camera."""
        if self.on_demand and self._started and self._error is None:
            with self._grab_lock:
                try:
                    self._store(self._grab(self.start_timeout_s))
                except BaseException as e:
                    self._error = e
        return self._latest

    def age(self, frame: Frame, now: float | None = None) -> float:
        """Seconds since the scene in ``frame`` was captured, as far as the host knows."""
        t = self.clock() if now is None else float(now)
        return t - frame.t_host + self.latency_s

    def read(self, max_age_s: float, now: float | None = None) -> Frame:
        """The newest frame, if it is at most ``max_age_s`` old at ``now`` (the camera's
        clock when None).

        Raises ``CameraError`` when the reader thread failed (with its exception as the
        cause) and ``StaleFrameError`` when the newest frame is too old or there is none.
        """
        if not self._started:
            raise CameraError(f"camera {self.name!r} ({self.describe()}) is not started: "
                              "call start() or use it as a context manager")
        frame = self.latest()
        if self._error is not None:
            raise self._failure("stopped")
        if frame is None:
            raise StaleFrameError([(self.name, None, max_age_s)])
        age = self.age(frame, now)
        if age > max_age_s:
            raise StaleFrameError([(self.name, age, max_age_s)])
        return frame
