"""A scripted operator: a function of time or a list of timed segments, deterministic.

For tests and demonstrations without hardware. The twist it gives is already the
conditioned robot-frame command (no mounting, deadband or gains are applied). Time is
``t = now - t0``, where ``t0`` is given or is the ``now`` of the first poll, so the same
sequence of ``now`` values always gives the same samples.

- ``fn(t) -> dict`` may return ``twist`` (6 values), ``gripper`` (0 open, 1 stay, 2
  close), ``buttons`` ({name: held}), ``events`` (raised at this poll), ``healthy`` and
  ``problem``; missing keys mean rest.
- ``segments``: dicts with ``t`` (start, seconds) and the same keys; each lasts until the
  next one starts. A segment's ``events`` are raised once, at the first poll at or after
  its start; a poll that skips over several segments raises all their events, in order.
"""

from __future__ import annotations

import bisect
import json
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.teleop.base import HOLD_ROLES, Device, DeviceError, Sample

Script = Callable[[float], Mapping[str, Any]]


def sample_from_dict(d: Mapping[str, Any], *, device: str, now: float, t: float,
                     events: Sequence[str] | None = None) -> Sample:
    """A ``Sample`` from a script's (or replay line's) dict of fields."""
    buttons = {role: False for role in HOLD_ROLES}
    buttons.update({str(k): bool(v) for k, v in dict(d.get("buttons") or {}).items()})
    healthy = bool(d.get("healthy", True))
    twist = np.asarray(d.get("twist", np.zeros(6)), np.float64)
    return Sample(twist=twist if healthy else np.zeros(6),
                  gripper=int(d.get("gripper", specs.GRIPPER_STAY)) if healthy
                  else specs.GRIPPER_STAY,
                  buttons=buttons, events=tuple(d.get("events", ()) if events is None
                                                else events),
                  t_device=float(d.get("t_device", t)), t_host=now, healthy=healthy,
                  device=device, problem=str(d.get("problem", "")))


class ScriptedDevice(Device):
    """A device driven by ``fn(t)`` or by timed ``segments`` (see the module docstring)."""

    def __init__(self, fn: Script | None = None, segments: Sequence[Mapping[str, Any]] = (),
                 *, t0: float | None = None, name: str = "scripted") -> None:
        if (fn is None) == (not segments):
            raise ValueError("ScriptedDevice needs exactly one of fn or segments")
        self.name = name
        self.fn = fn
        self.segments = sorted((dict(s) for s in segments), key=lambda s: float(s["t"]))
        self._starts = [float(s["t"]) for s in self.segments]
        self.t0 = t0
        self._last_index = -1

    @classmethod
    def from_file(cls, path: str, **kwargs: Any) -> ScriptedDevice:
        """Segments from a JSON file (a list of segment dicts)."""
        try:
            segments = json.loads(pathlib.Path(path).read_text())
        except (OSError, json.JSONDecodeError) as e:
            raise DeviceError(f"scripted segments {path}: {e}") from None
        if not isinstance(segments, list) or not segments:
            raise DeviceError(f"scripted segments {path}: needs a non-empty JSON list")
        return cls(segments=segments, name=f"scripted:{path}", **kwargs)

    def poll(self, now: float | None = None) -> Sample:
        now = time.monotonic() if now is None else float(now)
        if self.t0 is None:
            self.t0 = now
        t = now - self.t0
        if self.fn is not None:
            return sample_from_dict(self.fn(t), device=self.name, now=now, t=t)
        index = bisect.bisect_right(self._starts, t) - 1
        events: list[str] = []
        for i in range(self._last_index + 1, index + 1):
            events.extend(self.segments[i].get("events", ()))
        self._last_index = max(self._last_index, index)
        current = self.segments[index] if index >= 0 else {}
        return sample_from_dict(current, device=self.name, now=now, t=t, events=events)

    def reset_time(self, t0: float | None = None) -> None:
        """Starts the script over (at ``t0``, or at the next poll)."""
        self.t0 = t0
        self._last_index = -1
