"""What every teleop device gives the rest of the system: one ``Sample`` per poll.

A device turns a human's hand into a conditioned twist command (robot base frame, each
component in [-1, 1]), a discrete gripper command, the named buttons held now and the edge
events (success, failure, ...) since the previous poll. Consumers (the intervention gate,
the actor's env wrapper) see only this record, so a SpaceMouse, a gamepad, a keyboard, a
scripted operator and a replayed bug report are interchangeable.

Two promises hold for every backend:

- ``poll`` never blocks: devices with a reader thread keep the latest state and a queue of
  edge events, so a slow control loop never stalls on the device and a fast one never
  waits for it.
- no edge event is lost: a button pressed and released between two polls still yields its
  event (and its gripper command) in the next sample, in the order the presses happened.

A device that is gone (unplugged, daemon stopped) or silent past its staleness rule
(``silri_jax/teleop/conditioning.py``) says so with ``healthy=False`` and a ``problem`` in
words, and its twist is zero: a dropped cable must never keep the arm moving.
"""

from __future__ import annotations

import abc
import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax import specs

# Edge events a device can raise; config bindings map buttons and keys to them.
# The label events label frames for the reward classifier and never end an episode:
# ``label_success`` / ``label_failure`` make every frame after the step of the press
# positive / negative for the rest of the episode ("from this press onward"),
# ``label_undo`` takes back the last label press (``silri_jax.reward.labelling``).
LABEL_EVENTS = ("label_success", "label_failure", "label_undo")
EVENTS = ("success", "failure", "rerecord", "quit", "toggle_intervention", "continue",
          *LABEL_EVENTS)

# Roles a held input can play besides raising an event; their names appear in
# ``Sample.buttons`` (always present, True while any bound input is held).
# ``label_hold`` is hold-to-label: the frames produced while it is held are positive.
HOLD_ROLES = ("clutch", "gripper_close", "gripper_open", "label_hold")
# Roles acted on at the press only.
PRESS_ROLES = ("gripper_toggle",)
ROLES = HOLD_ROLES + PRESS_ROLES

GRIPPER_COMMANDS = (specs.GRIPPER_OPEN, specs.GRIPPER_STAY, specs.GRIPPER_CLOSE)


class DeviceError(RuntimeError):
    """A device that cannot be used; the message names it and says how to fix it."""


@dataclasses.dataclass(frozen=True, eq=False)
class Sample:
    """The conditioned state of a device at one poll (see the module docstring).

    ``twist`` is (6,) float64 ``vx vy vz wx wy wz`` in the robot base frame, each in
    [-1, 1]; ``buttons`` holds the role names of ``HOLD_ROLES`` (always) and the raw inputs
    held now (``"button:left"``, ``"key:space"``); ``events`` are the edge events since the
    previous poll, in order.
    """

    twist: np.ndarray
    gripper: int
    buttons: Mapping[str, bool]
    events: tuple[str, ...]
    t_device: float
    t_host: float
    healthy: bool
    device: str
    problem: str = ""

    def __post_init__(self) -> None:
        twist = np.asarray(self.twist, dtype=np.float64).reshape(-1)
        if twist.shape != (6,):
            raise ValueError(f"Sample.twist must have 6 components, got shape {twist.shape}")
        twist = twist.copy()
        twist.setflags(write=False)
        object.__setattr__(self, "twist", twist)
        if int(self.gripper) not in GRIPPER_COMMANDS:
            raise ValueError(f"Sample.gripper must be one of {GRIPPER_COMMANDS} "
                             f"(open, stay, close), got {self.gripper!r}")
        object.__setattr__(self, "gripper", int(self.gripper))
        unknown = [e for e in self.events if e not in EVENTS]
        if unknown:
            raise ValueError(f"Sample.events has unknown events {unknown}; known: {EVENTS}")
        object.__setattr__(self, "events", tuple(self.events))
        object.__setattr__(self, "buttons", dict(self.buttons))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Sample):
            return NotImplemented
        return all(np.array_equal(getattr(self, f.name), getattr(other, f.name))
                   if f.name == "twist" else getattr(self, f.name) == getattr(other, f.name)
                   for f in dataclasses.fields(self))

    __hash__ = None  # type: ignore[assignment]  (a mutable-looking record: not hashable)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict (the replay file's sample line, without its time)."""
        out: dict[str, Any] = {
            "twist": [round(float(v), 6) + 0.0 for v in self.twist],
            "gripper": self.gripper,
            "buttons": {k: bool(v) for k, v in sorted(self.buttons.items()) if v},
            "events": list(self.events),
            "t_device": round(float(self.t_device), 6),
            "healthy": bool(self.healthy),
        }
        if self.problem:
            out["problem"] = self.problem
        return out


def idle_sample(device: str, now: float, healthy: bool = True, problem: str = "") -> Sample:
    """Zero twist, gripper STAY, no button held: what a device at rest (or gone) says."""
    return Sample(twist=np.zeros(6), gripper=specs.GRIPPER_STAY,
                  buttons={role: False for role in HOLD_ROLES}, events=(), t_device=now,
                  t_host=now, healthy=healthy, device=device, problem=problem)


class Device(abc.ABC):
    """A teleop input. Use as a context manager: ``__enter__`` starts, ``__exit__`` closes.

    ``poll(now)`` takes the host's monotonic time in seconds (``time.monotonic()`` when
    None). Backends that simulate or replay time (scripted, replay) run on ``now`` and are
    deterministic given the values they are polled with. Live devices stamp their reports
    with their own clock (``time.monotonic``) and judge staleness on it whatever ``now``
    is, so polling them with simulated time is safe: ``now`` then only steps the low-pass
    filter.
    """

    name: str = "device"

    def start(self) -> None:  # noqa: B027  (most devices need no start)
        """Opens the device and starts its reader thread, if it has one."""

    @abc.abstractmethod
    def poll(self, now: float | None = None) -> Sample:
        """The latest conditioned state plus the events queued since the last poll."""

    def close(self) -> None:  # noqa: B027
        """Stops the reader and releases the device; safe to call twice."""

    def __enter__(self) -> Device:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"
