"""A reader thread per device: reads reports as they come, so ``poll`` never blocks.

``ThreadedDevice`` is the base of the hardware backends (hidraw SpaceMouse, spacenavd,
evdev, gamepad, keyboard). A subclass opens its file and reads what is there within a
short timeout, writing each report into ``self.pipeline.raw`` (the latest state and the
edge queue, ``silri_jax/teleop/pipeline.py``); this class owns the thread, the error
handling and the reconnection:

- a read error (ENODEV when a USB device is unplugged, EIO, end of file) marks the device
  gone: the next samples are unhealthy, with zero twist and a problem naming the device
  and what happened;
- the thread then tries to reopen the device every ``reopen_s`` seconds (a subclass may
  look for it again, e.g. under a new /dev/hidraw number) and, once it is back, samples
  are healthy again;
- any other exception in the reader also marks the device gone, with the exception in
  the problem, rather than leaving a dead thread behind a healthy-looking device.
"""

from __future__ import annotations

import abc
import errno
import logging
import threading
import time
from collections.abc import Callable

from silri_jax.teleop.base import Device, DeviceError, Sample
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner, StalenessRule
from silri_jax.teleop.pipeline import Pipeline

log = logging.getLogger(__name__)

RawListener = Callable[[bytes, float], None]


def describe_os_error(e: BaseException) -> str:
    """``ENODEV (No such device)``-style words for an OSError, for problems and messages."""
    if isinstance(e, OSError) and e.errno is not None:
        code = errno.errorcode.get(e.errno, str(e.errno))
        return f"{code} ({e.strerror or 'error'})"
    if isinstance(e, EOFError):
        return "end of file (the device closed)"
    return f"{type(e).__name__}: {e}"


class ThreadedDevice(Device):
    """Base of the backends that read a file or socket in their own thread."""

    # True for devices that report continuously while deflected (see StalenessRule)
    continuous = False
    # longest a read may wait before the thread checks for close()
    read_timeout_s = 0.05

    def __init__(self, name: str, *, conditioner: Conditioner | None = None,
                 bindings: Bindings | None = None, stale_s: float = 0.5,
                 reopen_s: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.name = name
        self.reopen_s = float(reopen_s)
        self._clock = clock
        self.pipeline = Pipeline(name, conditioner, StalenessRule(stale_s, self.continuous),
                                 bindings, t0=clock())
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._listeners: list[RawListener] = []
        self.reopen_attempts = 0

    # ------------------------------------------------------------------ subclass hooks
    @abc.abstractmethod
    def _open(self) -> None:
        """Opens the device; raises OSError or DeviceError when it cannot."""

    @abc.abstractmethod
    def _read(self, timeout: float) -> None:
        """Reads what arrives within ``timeout`` s into ``self.pipeline.raw``; raises
        OSError or EOFError when the device is gone."""

    def _close_handle(self) -> None:
        """Releases the open file or socket (idempotent)."""

    def _reopen(self) -> None:
        """Opens the device again after it was gone (subclasses may rediscover it)."""
        self._open()

    def _fix_hint(self) -> str:
        """What to try when the device cannot be opened."""
        return "run `python -m silri_jax.teleop doctor` to check devices and permissions"

    # ------------------------------------------------------------------ raw taps
    def add_raw_listener(self, fn: RawListener) -> None:
        """Calls ``fn(report_bytes, t_host)`` for every raw report (recording, debugging)."""
        self._listeners.append(fn)

    def _emit_raw(self, report: bytes, t_host: float) -> None:
        for fn in list(self._listeners):
            fn(bytes(report), t_host)

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> None:
        if self._thread is not None:
            return
        try:
            self._open()
        except OSError as e:
            raise DeviceError(f"cannot open {self.name}: {describe_os_error(e)}; "
                              f"{self._fix_hint()}") from None
        self.pipeline.raw.mark_back(self._clock())
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"teleop {self.name}",
                                        daemon=True)
        self._thread.start()

    def poll(self, now: float | None = None) -> Sample:
        """The latest sample. Staleness is judged on the device's own clock (the one its
        reports are stamped with), whatever ``now`` is; ``now`` steps the low-pass."""
        t = self._clock()
        return self.pipeline.sample(t if now is None else float(now), clock_now=t)

    def close(self) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=2.0)
        self._close_quietly()

    # ------------------------------------------------------------------ the thread
    def _close_quietly(self) -> None:
        try:
            self._close_handle()
        except Exception:  # (closing a dead handle may fail; nothing to do)
            pass

    def _run(self) -> None:
        open_ = True
        while not self._stop.is_set():
            if not open_:
                if self._stop.wait(self.reopen_s):
                    break
                self.reopen_attempts += 1
                try:
                    self._reopen()
                except (OSError, DeviceError):
                    continue
                except Exception as e:
                    log.warning("teleop: reopening %s failed: %r", self.name, e)
                    continue
                open_ = True
                self.pipeline.raw.mark_back(self._clock())
                log.warning("teleop: %s is back", self.name)
                continue
            try:
                self._read(self.read_timeout_s)
            except (OSError, EOFError) as e:
                problem = (f"{self.name} is gone: read failed with {describe_os_error(e)}"
                           f"{' - unplugged?' if _unplug_like(e) else ''}; motion zeroed, "
                           f"reopening every {self.reopen_s:g} s")
                self._gone(problem)
                open_ = False
            except Exception as e:  # (a dead reader must not look healthy)
                self._gone(f"{self.name}: reader failed with {type(e).__name__}: {e}; "
                           f"motion zeroed, reopening every {self.reopen_s:g} s")
                open_ = False
        self._close_quietly()

    def _gone(self, problem: str) -> None:
        self._close_quietly()
        self.pipeline.raw.mark_gone(problem)
        log.warning("teleop: %s", problem)


def _unplug_like(e: BaseException) -> bool:
    return isinstance(e, EOFError) or (isinstance(e, OSError) and e.errno in (
        errno.ENODEV, errno.EIO, errno.ENXIO, errno.ESHUTDOWN, errno.EPIPE))
