"""The arm controller behind a simulated task: a Cartesian impedance loop at 1 kHz.

The environment talks to one small interface (``set_target``, ``step``, ``state``) so the
same task runs on the pure-Python reference loop here or on the C++ bridge's MuJoCo
backend in lockstep mode (several times faster; the only way to reach hundreds of env
steps per second). The Python loop is also the cross-check for the C++ one: both compute

    tau = J^T (-K e - D J dq) + N (K_null (q0 - q) - D_null dq) + qfrc_bias

with ``e`` the pose error (position, and a base-frame rotation vector) clipped per axis, a
damped pseudo-inverse nullspace projector ``N``, MuJoCo's ``qfrc_bias`` as gravity and
Coriolis compensation, and the torque rate limited per tick (1 Nm/ms, as libfranka
requires of an external loop) and clipped to the joint torque limits.
"""

from __future__ import annotations

import importlib
from typing import Any

import mujoco
import numpy as np

from silri_jax.envs import rotations
from silri_jax.envs.controller_types import (  # re-exported: the env layer's names
    ARM_JOINTS,
    PANDA_TORQUE_LIMITS,
    Controller,
    ControllerState,
    ImpedanceParams,
)

__all__ = ["ARM_JOINTS", "PANDA_TORQUE_LIMITS", "Controller", "ControllerState",
           "ImpedanceParams", "PyImpedanceController", "bridge_available", "make_controller"]

class PyImpedanceController:
    """Reference implementation in numpy; about 50 us a tick, so ~150 env steps/s at most."""

    backend = "python"

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        site: str = "ee_site",
        params: ImpedanceParams | None = None,
        posture: np.ndarray | None = None,
    ) -> None:
        self.model, self.data = model, data
        self.params = params or ImpedanceParams()
        self._site = model.site(site).id
        self._dofs = np.array([model.jnt_dofadr[model.joint(j).id] for j in ARM_JOINTS])
        self._qadr = np.array([model.jnt_qposadr[model.joint(j).id] for j in ARM_JOINTS])
        if not np.all(self._dofs == np.arange(self._dofs[0], self._dofs[0] + 7)):
            raise ValueError("the arm joints must occupy consecutive dofs")
        self._d0 = int(self._dofs[0])
        p = self.params
        self._k = np.array([p.stiffness_pos] * 3 + [p.stiffness_rot] * 3)
        self._d = 2.0 * p.damping_ratio * np.sqrt(self._k)
        self._clip = np.array([p.error_clip_pos] * 3 + [p.error_clip_rot] * 3)
        self._kn = p.nullspace_stiffness
        self._dn = 2.0 * np.sqrt(p.nullspace_stiffness)
        self._posture = (
            np.asarray(posture, np.float64).copy()
            if posture is not None
            else data.qpos[self._qadr].copy()
        )
        self._jacp = np.zeros((3, model.nv))
        self._jacr = np.zeros((3, model.nv))
        self._tau = np.zeros(7)
        self._target_pos = np.zeros(3)
        self._target_quat = np.array([1.0, 0.0, 0.0, 0.0])
        self.reset()

    def reset(self) -> None:
        mujoco.mj_forward(self.model, self.data)
        self._tau[:] = 0.0
        self.data.qfrc_applied[self._d0 : self._d0 + 7] = 0.0
        self._target_pos = self.data.site_xpos[self._site].copy()
        self._target_quat = rotations.mat_to_quat(self.data.site_xmat[self._site].reshape(3, 3))

    def set_target(self, pos: np.ndarray, quat_wxyz: np.ndarray) -> None:
        self._target_pos = np.asarray(pos, np.float64).copy()
        self._target_quat = rotations.quat_normalize(quat_wxyz)

    def _torque(self) -> np.ndarray:
        m, d, s, d0 = self.model, self.data, self._site, self._d0
        mujoco.mj_jacSite(m, d, self._jacp, self._jacr, s)
        jac = np.vstack([self._jacp[:, d0 : d0 + 7], self._jacr[:, d0 : d0 + 7]])
        q = d.qpos[self._qadr]
        dq = d.qvel[d0 : d0 + 7]
        err = np.empty(6)
        err[:3] = d.site_xpos[s] - self._target_pos
        cur = rotations.mat_to_quat(d.site_xmat[s].reshape(3, 3))
        # Error convention e = current - target, so the rotational part is target -> current.
        err[3:] = rotations.delta_between(self._target_quat, cur)
        np.clip(err, -self._clip, self._clip, out=err)
        twist = jac @ dq
        tau_task = jac.T @ (-self._k * err - self._d * twist)
        # Damped pseudo-inverse nullspace projector: posture only acts where the task is free.
        jjt = jac @ jac.T + self.params.pinv_damping * np.eye(6)
        jpinv = jac.T @ np.linalg.solve(jjt, np.eye(6))
        null = np.eye(7) - jac.T @ jpinv.T
        tau_null = null @ (self._kn * (self._posture - q) - self._dn * dq)
        tau = tau_task + tau_null + d.qfrc_bias[d0 : d0 + 7]
        rate = self.params.torque_rate_limit
        tau = np.clip(tau, self._tau - rate, self._tau + rate)
        return np.clip(tau, -PANDA_TORQUE_LIMITS, PANDA_TORQUE_LIMITS)

    def step(self, n: int) -> None:
        m, d, d0 = self.model, self.data, self._d0
        for _ in range(int(n)):
            # step1 computes kinematics and bias forces at the current state, so the torque
            # is computed from fresh values (no one-tick lag) before step2 integrates.
            mujoco.mj_step1(m, d)
            self._tau = self._torque()
            d.qfrc_applied[d0 : d0 + 7] = self._tau
            mujoco.mj_step2(m, d)
        mujoco.mj_forward(m, d)

    def state(self) -> ControllerState:
        d, s = self.data, self._site
        return ControllerState(
            ee_pos=d.site_xpos[s].copy(),
            ee_quat=rotations.mat_to_quat(d.site_xmat[s].reshape(3, 3)),
            q=d.qpos[self._qadr].copy(),
            dq=d.qvel[self._d0 : self._d0 + 7].copy(),
            tau=self._tau.copy(),
        )


def bridge_available() -> bool:
    """True when the C++ bridge extension imports (it is optional at run time)."""
    try:
        mod = importlib.import_module("silri_jax.bridge")
    except Exception:
        return False
    return hasattr(mod, "Bridge")


def make_controller(
    backend: str,
    model: mujoco.MjModel,
    data: mujoco.MjData,
    params: ImpedanceParams | None = None,
    posture: np.ndarray | None = None,
    **bridge_kwargs: Any,
) -> Controller:
    """``backend``: ``"python"``, ``"cpp"`` or ``"auto"`` (C++ when it imports)."""
    if backend not in ("python", "cpp", "auto"):
        raise ValueError(f"controller backend must be python, cpp or auto, got {backend!r}")
    if backend == "auto":
        backend = "cpp" if bridge_available() else "python"
    if backend == "cpp":
        from silri_jax.envs.bridge_controller import BridgeController

        return BridgeController(model, data, params=params, posture=posture, **bridge_kwargs)
    return PyImpedanceController(model, data, params=params, posture=posture)
