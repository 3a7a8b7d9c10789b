"""What the bridge reports: a typed view of one published control-loop state."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from silri_jax.cpp_bridge import _bridge


@dataclasses.dataclass(frozen=True)
class BridgeState:
    """The newest state published by the control loop.

    ``intervened_ticks`` and ``ticks_since_last_read`` count since the previous
    ``state()`` call, so a 10 Hz env step that reads once per step learns whether the human
    acted at any tick of its window even if the latest tick was not an intervention.
    Poses: position in metres, quaternion (w, x, y, z). ``wrench``: the measured external
    wrench (N, Nm; base frame) where the backend has one (Franka ``O_F_ext_hat_K``, UR TCP
    force), zeros otherwise. ``rejected_targets``: policy targets rejected so far (non-finite
    ones at the call, jumps beyond ``max_target_jump_m``/``_rad`` in the loop).
    ``near_joint_limit``: a joint is inside its limit margin this tick.
    ``intervention_total``: ticks the human drove since the loop started; unlike
    ``intervened_ticks`` it does not depend on who else read the state in between.
    """

    time: float
    tick: int
    ee_position: np.ndarray
    ee_quat: np.ndarray
    ee_twist: np.ndarray
    q: np.ndarray
    dq: np.ndarray
    tau: np.ndarray
    target_position: np.ndarray
    target_quat: np.ndarray
    mode: str
    intervention: bool
    intervened_ticks: int
    ticks_since_last_read: int
    policy_stale: bool
    teleop_stale: bool
    gripper: float
    fault: str
    fault_message: str
    wrench: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(6))
    rejected_targets: int = 0
    near_joint_limit: bool = False
    intervention_total: int = 0

    @property
    def faulted(self) -> bool:
        return self.fault != "none"

    @classmethod
    def from_raw(cls, raw: dict[str, Any]) -> BridgeState:
        values = dict(raw)
        values["mode"] = _bridge.Mode(raw["mode"]).name.lower()
        values["fault"] = _FAULT_NAMES[_bridge.Fault(raw["fault"])]
        for key in ("tick", "intervened_ticks", "ticks_since_last_read", "rejected_targets",
                    "intervention_total"):
            values[key] = int(raw[key])
        return cls(**values)


_FAULT_NAMES = {
    _bridge.Fault.NONE: "none",
    _bridge.Fault.BACKEND_STALE: "backend_stale",
    _bridge.Fault.DISCONNECTED: "disconnected",
    _bridge.Fault.NON_FINITE_STATE: "non_finite_state",
    _bridge.Fault.BACKEND_ERROR: "backend_error",
    _bridge.Fault.JOINT_LIMIT: "joint_limit",
    _bridge.Fault.WATCHDOG_STOP: "watchdog_stop",
}
FAULT_NAMES = tuple(_FAULT_NAMES.values())
