"""The shared path from raw reports to ``Sample``: latest state, edge queue, conditioning.

``RawInput`` is what a backend writes to (from its reader thread, or synchronously for
replay and decoding): the latest device-frame axes, the raw inputs held now, and, under
one lock, every press edge turned into its bound events and gripper commands at the
moment it happens. A poll drains that queue, so a press and release between two polls is
never lost. ``Pipeline.sample(now)`` then applies the staleness rule and the conditioner
and builds the ``Sample``.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
from collections.abc import Iterable

import numpy as np

from silri_jax import specs
from silri_jax.teleop.base import EVENTS, HOLD_ROLES, Sample
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner, StalenessRule


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """One drain of a ``RawInput``: the state now plus what happened since the last one."""

    axes: np.ndarray
    held: frozenset[str]
    events: tuple[str, ...]
    gripper: int
    t_host: float
    t_device: float
    gone: str
    link_lost_since: float | None
    reports: int


class RawInput:
    """The latest raw state of one device and its queue of edges (thread-safe)."""

    def __init__(self, bindings: Bindings | None = None, t0: float = 0.0) -> None:
        self.bindings = bindings or Bindings.from_mapping({})
        self._lock = threading.Lock()
        self._axes = np.zeros(6)
        self._held: set[str] = set()
        self._events: collections.deque[str] = collections.deque()
        self._close_latched = False
        self._open_latched = False
        self._toggle_state = specs.GRIPPER_OPEN
        self._toggle_cmd: int | None = None
        self._t_host = t0
        self._t_device = t0
        self._gone = ""
        self._link_lost_since: float | None = None
        self._reports = 0

    # ------------------------------------------------------------------ writers
    def report(self, t_host: float, *, axes: np.ndarray | None = None,
               held: Iterable[str] | None = None, pressed: Iterable[str] = (),
               released: Iterable[str] = (), taps: Iterable[str] = (),
               t_device: float | None = None) -> None:
        """One report from the device.

        ``axes``: the device-frame axes now (None: unchanged). ``held``: the full set of
        inputs held now (a report that carries every button); or ``pressed`` /
        ``released``: changes only (event streams). ``taps``: press-and-release in one go
        (a terminal key press, which has no release).
        """
        with self._lock:
            if axes is not None:
                self._axes = np.asarray(axes, np.float64).reshape(6).copy()
            new = set(self._held) if held is None else {str(h) for h in held}
            new |= {str(p) for p in pressed}
            new -= {str(r) for r in released}
            for name in sorted(new - self._held):
                self._press_locked(name)
            for name in taps:
                self._press_locked(str(name))
            self._held = new
            self._t_host = float(t_host)
            self._t_device = float(t_host if t_device is None else t_device)
            self._reports += 1

    def set_axes(self, axes: np.ndarray) -> None:
        """Replaces the axes without counting a report (a value decaying between reports)."""
        with self._lock:
            if not self._gone:
                self._axes = np.asarray(axes, np.float64).reshape(6).copy()

    def event(self, name: str) -> None:
        """Queues an event the device raises itself (scripted or replayed operators)."""
        if name not in EVENTS:
            raise ValueError(f"unknown event {name!r}; known: {EVENTS}")
        with self._lock:
            self._events.append(name)

    def mark_gone(self, problem: str) -> None:
        """The device is gone: zero axes, nothing held, unhealthy until ``mark_back``."""
        with self._lock:
            self._gone = problem or "device gone"
            self._axes = np.zeros(6)
            self._held = set()

    def mark_back(self, t_host: float) -> None:
        """The device is there again (reopened)."""
        with self._lock:
            self._gone = ""
            self._link_lost_since = None
            self._t_host = float(t_host)

    def set_link_lost(self, lost: bool, t_host: float) -> None:
        """The device says its own link is lost (file still open) or back."""
        with self._lock:
            if lost and self._link_lost_since is None:
                self._link_lost_since = float(t_host)
                self._axes = np.zeros(6)
            elif not lost:
                self._link_lost_since = None

    def _press_locked(self, name: str) -> None:
        self._events.extend(self.bindings.events_of(name))
        for role in self.bindings.roles_of(name):
            if role == "gripper_close":
                self._close_latched = True
            elif role == "gripper_open":
                self._open_latched = True
            elif role == "gripper_toggle":
                self._toggle_state = (specs.GRIPPER_CLOSE if self._toggle_state
                                      == specs.GRIPPER_OPEN else specs.GRIPPER_OPEN)
                self._toggle_cmd = self._toggle_state

    # ------------------------------------------------------------------ reader
    @property
    def gone(self) -> str:
        with self._lock:
            return self._gone

    def drain(self) -> Snapshot:
        """The state now and the edges since the previous drain (which are then cleared)."""
        with self._lock:
            roles = self.bindings.held_roles(self._held)
            if self._close_latched or roles["gripper_close"]:
                gripper = specs.GRIPPER_CLOSE
            elif self._open_latched or roles["gripper_open"]:
                gripper = specs.GRIPPER_OPEN
            elif self._toggle_cmd is not None:
                gripper = self._toggle_cmd
            else:
                gripper = specs.GRIPPER_STAY
            snap = Snapshot(axes=self._axes.copy(), held=frozenset(self._held),
                            events=tuple(self._events), gripper=gripper,
                            t_host=self._t_host, t_device=self._t_device, gone=self._gone,
                            link_lost_since=self._link_lost_since, reports=self._reports)
            self._events.clear()
            self._close_latched = self._open_latched = False
            self._toggle_cmd = None
            return snap


class Pipeline:
    """``RawInput`` + staleness + conditioning -> ``Sample`` for one device."""

    def __init__(self, name: str, conditioner: Conditioner | None = None,
                 stale: StalenessRule | None = None, bindings: Bindings | None = None,
                 t0: float = 0.0) -> None:
        self.name = name
        self.conditioner = conditioner or Conditioner()
        self.stale = stale or StalenessRule()
        self.raw = RawInput(bindings, t0)

    def sample(self, now: float, clock_now: float | None = None) -> Sample:
        """The conditioned sample at time ``now``; drains the edge queue.

        ``clock_now`` is the time on the clock the reports were stamped with (the staleness
        rule compares the two); it defaults to ``now``. A live device passes its own clock
        here, so a caller polling with another time base (simulated time) only steps the
        low-pass filter with it.
        """
        snap = self.raw.drain()
        check_now = now if clock_now is None else clock_now
        health = self.stale.check(device=self.name, now=check_now, last_report=snap.t_host,
                                  deflected=bool(np.any(snap.axes != 0.0)), gone=snap.gone,
                                  link_lost_since=snap.link_lost_since)
        if health.zero_motion:
            twist = np.zeros(6)
            self.conditioner.reset(now)
        else:
            twist = self.conditioner(snap.axes, now)
        roles = self.raw.bindings.held_roles(snap.held)
        buttons: dict[str, bool] = {role: roles[role] for role in HOLD_ROLES}
        buttons.update({name: True for name in snap.held})
        gripper = snap.gripper if health.healthy else specs.GRIPPER_STAY
        return Sample(twist=twist, gripper=gripper, buttons=buttons, events=snap.events,
                      t_device=snap.t_device, t_host=snap.t_host, healthy=health.healthy,
                      device=self.name, problem=health.problem)
