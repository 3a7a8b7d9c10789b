"""The gripper seen by a robot env: a non-blocking ``command``/``state`` pair over a worker
thread that owns the driver.

A robot env steps at 10-20 Hz and must never wait on gripper I/O, yet real grippers
answer in milliseconds (Robotiq) or block until a motion ends (libfranka's
``franka::Gripper::move``/``grasp``). HIL-SERL sleeps inside the env step after a gripper
command; here the step only records the command and a ``GripperWorker`` thread does the
I/O:

- ``command(g)`` stores the latest command and returns at once (latest wins: a command
  still waiting is replaced, so an old command never runs after a newer one);
  ``GRIPPER_STAY`` does nothing and never cancels a waiting command;
- the worker sends a waiting command when it is not inside a driver call and the
  **refractory time** has passed since the last motion started, which bounds how often
  a policy flapping between open and close can drive the gripper;
- a command equal to the last one sent is not sent again;
- ``state()`` returns the latest reading the worker polled, without I/O;
- a driver error sets ``fault`` (with the driver's message) and stops all gripper I/O:
  nothing is retried silently and the fault is never cleared automatically;
  ``recover()`` is the explicit, logged way back (reconnect and re-activate).

Drivers (``GripperDriver``) are plain synchronous objects used only by their worker's
thread: ``silri_jax/grippers/robotiq.py``, ``franka_hand.py``, ``sim.py``, ``null.py``.
"""

from __future__ import annotations

import abc
import dataclasses
import logging
import math
import queue
import threading
import time
from collections.abc import Callable
from types import TracebackType

from silri_jax import specs

log = logging.getLogger(__name__)

_VALID_COMMANDS = (specs.GRIPPER_OPEN, specs.GRIPPER_STAY, specs.GRIPPER_CLOSE)
_WAKE = -1  # an inbox item that only wakes the worker (refresh, recover, close)
_COMMAND_NAMES = {specs.GRIPPER_OPEN: "open", specs.GRIPPER_STAY: "stay",
                  specs.GRIPPER_CLOSE: "close"}


def command_name(g: int) -> str:
    """``open``/``stay``/``close`` for log lines and errors."""
    return _COMMAND_NAMES.get(int(g), str(g))


class GripperError(RuntimeError):
    """A gripper failed or answered unexpectedly; the message names the device."""


class GripperConnectionError(GripperError):
    """A gripper could not be reached or its connection dropped; the message names the
    address or serial port and what to check."""


@dataclasses.dataclass(frozen=True)
class GripperState:
    """What the env reads each step (``GripperWorker.state()``).

    Attributes:
        width_m: distance between the fingers, metres (NaN before the first reading).
        grasped: the gripper reports an object between the fingers.
        busy: the fingers are moving, or a command waits to be sent.
        fault: "" when fine; otherwise what failed, naming the device. Stays set until
            ``recover()`` succeeds.
        t_host: host clock (the worker's clock, ``time.monotonic`` by default) of the
            reading these values come from.
        command: the last command sent to the gripper (``GRIPPER_OPEN``/``GRIPPER_CLOSE``),
            ``GRIPPER_STAY`` when none was sent since connecting or recovering.
    """

    width_m: float
    grasped: bool
    busy: bool
    fault: str = ""
    t_host: float = 0.0
    command: int = specs.GRIPPER_STAY


@dataclasses.dataclass(frozen=True)
class DriverReading:
    """One poll of a driver: the physical state without the worker's bookkeeping."""

    width_m: float
    grasped: bool
    busy: bool


class GripperDriver(abc.ABC):
    """Synchronous access to one gripper. Only its worker's thread calls it, one call at a
    time, so drivers need no locks of their own for the worker's sake.

    Any exception a method raises becomes the worker's ``fault``; its message should say
    what happened and what to check, since the worker shows it verbatim after ``name``.
    """

    #: names the device and where it is, e.g. "Robotiq 2F-85 (URCap socket 10.0.0.2:63352)"
    name: str = "gripper"

    @abc.abstractmethod
    def connect(self) -> None:
        """Connects and activates (homes) the gripper; raises ``GripperConnectionError``
        naming the address and what to check when it cannot. Also used by ``recover()``
        after ``disconnect()``."""

    @abc.abstractmethod
    def start_motion(self, command: int) -> None:
        """Starts opening (``GRIPPER_OPEN``) or closing (``GRIPPER_CLOSE``) and returns
        once the gripper accepted it, without waiting for the fingers; a motion in
        progress is preempted."""

    @abc.abstractmethod
    def read(self) -> DriverReading:
        """Polls the gripper; raises when it reports a fault or cannot be read."""

    @abc.abstractmethod
    def disconnect(self) -> None:
        """Releases the connection; idempotent and safe after a failure."""


class Gripper(abc.ABC):
    """What a robot env uses: neither ``command`` nor ``state`` blocks a step."""

    @abc.abstractmethod
    def command(self, g: int) -> None:
        """Requests ``GRIPPER_OPEN``/``GRIPPER_STAY``/``GRIPPER_CLOSE``; returns at once."""

    @abc.abstractmethod
    def state(self) -> GripperState:
        """The latest known state, without I/O."""

    @abc.abstractmethod
    def recover(self, timeout_s: float | None = None) -> GripperState:
        """Clears a fault by reconnecting and re-activating; blocks until done."""

    @abc.abstractmethod
    def close(self) -> None:
        """Stops using the gripper; idempotent."""

    def __enter__(self) -> Gripper:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def describe_error(e: BaseException) -> str:
    """An exception as one line: its message, or its type when the message is empty."""
    text = str(e).strip()
    return text if text else type(e).__name__


class _RecoverRequest:
    """A ``recover()`` call waiting for the worker thread to carry it out."""

    def __init__(self) -> None:
        self.done = threading.Event()
        self.error: BaseException | None = None


class GripperWorker(Gripper):
    """Owns a driver in a thread; see the module docstring for the semantics.

    Args:
        driver: the gripper's driver; from ``start()`` on, only the worker's thread uses it.
        refractory_s: least time between the starts of two motions, seconds.
        poll_s: period of the state polls, seconds.
        clock: monotonic clock (injectable for tests); ``t_host`` is on it.
    """

    def __init__(self, driver: GripperDriver, *, refractory_s: float = 0.3,
                 poll_s: float = 0.02, clock: Callable[[], float] = time.monotonic) -> None:
        if not refractory_s >= 0.0:
            raise ValueError(f"refractory_s must be >= 0, got {refractory_s}")
        if not poll_s > 0.0:
            raise ValueError(f"poll_s must be > 0, got {poll_s}")
        self.driver = driver
        self.name = driver.name
        self.refractory_s = float(refractory_s)
        self.poll_s = float(poll_s)
        self._clock = clock
        self._cv = threading.Condition()
        # The env's thread hands commands over through this queue and never takes _cv: a
        # put never waits on the worker (a lock the worker holds while descheduled would
        # delay the step by a scheduler slice). The worker sleeps on it, too.
        self._inbox: queue.SimpleQueue[int] = queue.SimpleQueue()
        self._early: list[int] = []  # items the worker took while sleeping, not yet drained
        self._queued = False  # a command may sit in the inbox (state().busy)
        # All of the following are guarded by _cv; none is held during driver I/O.
        self._pending: int | None = None  # the command waiting to be sent
        self._last_sent: int | None = None  # the last command taken for sending
        self._last_start = -math.inf  # clock time the last motion was accepted
        self._reading = DriverReading(math.nan, False, False)
        self._t_reading = 0.0
        # (reading, t_reading) as one object, so state() reads them together lock-free
        self._latest = (self._reading, self._t_reading)
        self._fault = ""
        self._recover: _RecoverRequest | None = None
        self._refresh = False  # refresh() asked for a reading now
        self._readings = 0  # readings stored so far (refresh() waits for the next)
        self._stopping = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self.commands_sent = 0

    # ------------------------------------------------------------------ env-facing API
    def start(self) -> GripperWorker:
        """Connects (raising the driver's clear error when the gripper is unreachable),
        takes a first reading, then starts the worker thread. Returns ``self``."""
        if self._thread is not None:
            raise GripperError(f"{self.name}: the worker is already started")
        log.info("%s: connecting", self.name)
        self.driver.connect()
        try:
            reading = self.driver.read()
        except BaseException:
            self.driver.disconnect()
            raise
        with self._cv:
            self._reading, self._t_reading = reading, self._clock()
            self._latest = (self._reading, self._t_reading)
        self._thread = threading.Thread(target=self._run, name=f"gripper-worker[{self.name}]",
                                        daemon=True)
        self._thread.start()
        log.info("%s: ready (width %.4f m)", self.name, reading.width_m)
        return self

    def command(self, g: int) -> None:
        """Stores ``g`` as the command to send next and returns at once (no I/O, no wait).

        ``GRIPPER_STAY`` changes nothing. A command equal to the last one sent cancels a
        different one still waiting (the latest wins) and is not sent again. While the
        gripper is faulted, commands are dropped: ``state().fault`` says why."""
        g = int(g)
        if g not in _VALID_COMMANDS:
            raise ValueError(f"gripper command must be 0 (open), 1 (stay) or 2 (close), got {g}")
        if g == specs.GRIPPER_STAY:
            return
        # Lock-free on purpose (see _inbox): single attribute reads and a queue put.
        if self._closed:
            raise GripperError(f"{self.name}: command({command_name(g)}) after close()")
        if self._fault:
            return
        self._queued = True
        self._inbox.put(g)

    def state(self) -> GripperState:
        """The latest polled state (no I/O, no lock); ``busy`` also counts a command not
        yet sent."""
        reading, t_reading = self._latest
        last = self._last_sent
        return GripperState(
            width_m=reading.width_m, grasped=reading.grasped,
            busy=reading.busy or self._pending is not None or self._queued,
            fault=self._fault, t_host=t_reading,
            command=specs.GRIPPER_STAY if last is None else last)

    def refresh(self, timeout_s: float = 1.0) -> GripperState:
        """Has the worker send what is pending (when its refractory time allows) and read
        the gripper now, and waits for that reading.

        For a lockstep rehearsal, whose simulated time jumps by a whole control period per
        step: the step then observes the gripper at its own simulated time, so runs repeat
        whatever the machine's speed. A real arm's step never calls it (it would wait on
        I/O); there ``state()`` returns the latest poll at once.
        """
        with self._cv:
            if self._closed or self._thread is None:
                raise GripperError(f"{self.name}: refresh() needs a started, open worker")
            target = self._readings + 1
            self._refresh = True
            self._cv.notify_all()
            self._inbox.put(_WAKE)
            end = time.monotonic() + float(timeout_s)
            while self._readings < target and not self._fault:
                left = end - time.monotonic()
                if left <= 0:
                    raise GripperError(f"{self.name}: no reading within {timeout_s:g} s")
                self._cv.wait(left)
        return self.state()

    def recover(self, timeout_s: float | None = None) -> GripperState:
        """Reconnects and re-activates the gripper on the worker thread, then clears the
        fault; logged. Raises ``GripperError`` when that fails (the fault then says why)
        or takes longer than ``timeout_s``. Also usable without a fault (re-activates)."""
        with self._cv:
            if self._closed or self._thread is None:
                raise GripperError(f"{self.name}: recover() needs a started, open worker")
            log.warning("%s: recovering (fault: %s): reconnecting and re-activating",
                        self.name, self._fault or "none")
            request = _RecoverRequest()
            self._recover = request
            self._cv.notify_all()
            self._inbox.put(_WAKE)
        if not request.done.wait(timeout_s):
            raise GripperError(f"{self.name}: recovery did not finish within {timeout_s} s; "
                               "state().fault will say how it ended")
        if request.error is not None:
            raise GripperError(f"{self.name}: recovery failed: "
                               f"{describe_error(request.error)}") from request.error
        log.warning("%s: recovered", self.name)
        return self.state()

    def close(self) -> None:
        """Stops the worker thread, then disconnects the driver; idempotent."""
        with self._cv:
            if self._closed:
                return
            self._closed = self._stopping = True
            self._cv.notify_all()
            self._inbox.put(_WAKE)
        if self._thread is not None:
            self._thread.join()
        try:
            self.driver.disconnect()
        except Exception as e:  # closing must not fail on a connection that is gone
            log.warning("%s: disconnect failed: %s", self.name, describe_error(e))

    # ------------------------------------------------------------------ worker thread
    def _run(self) -> None:
        next_poll = self._clock() + self.poll_s
        while True:
            send: int | None = None
            with self._cv:
                while True:
                    self._drain()
                    if self._stopping:
                        if self._recover is not None:  # never leave recover() waiting
                            self._recover.error = GripperError("the worker was closed")
                            self._recover.done.set()
                        return
                    if self._recover is not None:
                        break
                    now = self._clock()
                    if self._fault:
                        self._sleep(None)
                        continue
                    ready_at = self._last_start + self.refractory_s
                    if self._pending is not None and now >= ready_at:
                        send, self._pending = self._pending, None
                        self._last_sent = send
                        break
                    if now >= next_poll or self._refresh:
                        break
                    wait = next_poll - now
                    if self._pending is not None:
                        wait = min(wait, ready_at - now)
                    self._sleep(wait)
                recover, self._recover = self._recover, None
            if recover is not None:
                self._do_recover(recover)
                next_poll = self._clock() + self.poll_s
                continue
            try:
                if send is not None:
                    log.debug("%s: %s", self.name, command_name(send))
                    self.driver.start_motion(send)
                    with self._cv:
                        self._last_start = self._clock()
                        self.commands_sent += 1
                reading = self.driver.read()
            except Exception as e:
                self._set_fault(e)
                continue
            with self._cv:
                self._reading, self._t_reading = reading, self._clock()
                self._latest = (self._reading, self._t_reading)
                self._refresh = False
                self._readings += 1
                self._cv.notify_all()
            next_poll = self._clock() + self.poll_s

    def _drain(self) -> None:
        """Takes the commands handed over (under _cv, worker thread): the latest wins, and
        one equal to the last sent cancels a different one still waiting."""
        self._queued = False
        items, self._early = self._early, []
        while True:
            try:
                items.append(self._inbox.get_nowait())
            except queue.Empty:
                break
        for g in items:
            if g != _WAKE and not self._fault:
                self._pending = None if g == self._last_sent else g

    def _sleep(self, timeout: float | None) -> None:
        """Waits (under _cv, worker thread) for an inbox item or ``timeout`` seconds, with
        _cv released meanwhile; the item is kept for the next ``_drain``."""
        self._cv.release()
        try:
            self._early.append(self._inbox.get(timeout=None if timeout is None
                                               else max(0.0, timeout)))
        except queue.Empty:
            pass
        finally:
            self._cv.acquire()

    def _set_fault(self, e: BaseException) -> None:
        message = f"{self.name}: {describe_error(e)}"
        log.error("gripper fault (commands are dropped until recover()): %s", message)
        with self._cv:
            self._fault = message
            self._pending = None
            self._reading = dataclasses.replace(self._reading, busy=False)
            self._latest = (self._reading, self._t_reading)

    def _do_recover(self, request: _RecoverRequest) -> None:
        try:
            try:
                self.driver.disconnect()
            except Exception as e:
                log.warning("%s: disconnect before recovery failed: %s", self.name,
                            describe_error(e))
            self.driver.connect()
            reading = self.driver.read()
        except Exception as e:
            with self._cv:
                self._fault = f"{self.name}: recovery failed: {describe_error(e)}"
                self._pending = None
            request.error = e
            log.error("%s", self._fault)
        else:
            with self._cv:
                self._fault = ""
                self._pending = self._last_sent = None
                self._last_start = -math.inf
                self._reading, self._t_reading = reading, self._clock()
                self._latest = (self._reading, self._t_reading)
        finally:
            request.done.set()
