"""The simulated operator as one more teleop device.

``OperatorDevice`` puts any ``Operator`` (``SimulatedOperator`` with a skill profile, or a
user's factory) behind the ``silri_jax.teleop`` interface, so the path a human's SpaceMouse
takes (device -> intervention gate -> the bridge's mixer -> what the bridge applied ->
the buffers) is exercised end to end in simulation with no human.

A person decides at their own pace and holds the puck while the arm moves; the operator
decides once per env step. ``TeleopIntervention`` calls ``begin_step(state, proposed)``
before each step; the operator's decision is then held for every poll of that step: the
clutch held and the twist equal to its normalised action while it takes over, the clutch
released otherwise. A gripper command other than "stay" is sent as the gripper field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.operators.base import Operator
from silri_jax.teleop.base import HOLD_ROLES, Device, Sample


def action_to_twist(action: np.ndarray, mode: str) -> np.ndarray:
    """A normalised action of an env action mode as the device's normalised twist."""
    a = np.asarray(action, np.float64).reshape(-1)
    twist = np.zeros(6)
    twist[:3] = a[:3]
    if mode == "xyz_yaw":
        twist[5] = a[3]
    elif mode == "full":
        twist[3:6] = a[3:6]
    return np.clip(twist, -1.0, 1.0)


class OperatorDevice(Device):
    """An ``Operator`` seen through the teleop interface (see the module docstring)."""

    def __init__(self, operator: Operator, action_mode: str, name: str = "sim_operator") -> None:
        self.operator = operator
        self.action_mode = action_mode
        self.name = name
        self._sample = self._idle(0.0)

    def reset(self, seed: int | None) -> None:
        if hasattr(self.operator, "reset"):
            self.operator.reset(seed)
        self._sample = self._idle(0.0)

    def _idle(self, now: float) -> Sample:
        return Sample(twist=np.zeros(6), gripper=specs.GRIPPER_STAY,
                      buttons={role: False for role in HOLD_ROLES}, events=(),
                      t_device=now, t_host=now, healthy=True, device=self.name)

    def begin_step(self, state: Mapping[str, Any], proposed: Any, now: float = 0.0) -> bool:
        """Asks the operator once for this step; returns whether it takes over."""
        takeover = self.operator(state, proposed)
        if takeover is None:
            self._sample = self._idle(now)
            return False
        if isinstance(takeover, Mapping):
            a = np.asarray(takeover["action"], np.float64)
            g = int(takeover.get("gripper", specs.GRIPPER_STAY))
        else:
            a, g = np.asarray(takeover, np.float64), specs.GRIPPER_STAY
        buttons = {role: False for role in HOLD_ROLES}
        buttons["clutch"] = True
        self._sample = Sample(twist=action_to_twist(a, self.action_mode), gripper=g,
                              buttons=buttons, events=(), t_device=now, t_host=now,
                              healthy=True, device=self.name)
        return True

    def poll(self, now: float | None = None) -> Sample:
        return self._sample
