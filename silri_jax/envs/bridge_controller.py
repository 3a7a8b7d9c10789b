"""The C++ bridge's MuJoCo backend behind the env's controller interface.

In lockstep mode the bridge steps the very ``MjModel``/``MjData`` the env renders (it gets
their C addresses), running the same impedance law as ``PyImpedanceController`` in C++.
The env still writes the gripper actuator's ``ctrl``; it is passed on with each target, as
the fraction of the actuator's range that the bridge expects, because the bridge's MuJoCo
backend owns that actuator and rewrites its ``ctrl`` every tick.

A human's input reaches the arm through the bridge's mixer: ``teleop_source`` (set by
``silri_jax.envs.teleop_intervention``) is called with the simulated time every
``teleop_period_ticks`` ticks inside ``step``, as a device reader thread would write to a
real-time bridge at the device's own rate, so a 10 Hz env step sees ten 100 Hz samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import mujoco
import numpy as np

from silri_jax.envs import rotations
from silri_jax.envs.controller_types import ARM_JOINTS, ControllerState, ImpedanceParams


def bridge_settings(params: ImpedanceParams | None, posture: np.ndarray | None
                    ) -> dict[str, Any]:
    """``Bridge`` keyword settings equal to ``params`` (the Python controller's gains) and
    ``posture`` (the nullspace target). A setting the C++ law does not have is refused by
    name rather than silently ignored."""
    out: dict[str, Any] = {}
    if params is not None:
        if params.pinv_damping != ImpedanceParams.pinv_damping:
            raise ValueError(
                f"ImpedanceParams.pinv_damping={params.pinv_damping}: the C++ bridge's "
                "nullspace projector has no such setting; use the python controller for it")
        k = np.array([params.stiffness_pos] * 3 + [params.stiffness_rot] * 3)
        out["gains"] = {
            "stiffness": k,
            "damping": 2.0 * params.damping_ratio * np.sqrt(k),
            "error_clip": np.array([params.error_clip_pos] * 3 + [params.error_clip_rot] * 3),
            "nullspace_stiffness": params.nullspace_stiffness,
            "nullspace_damping": 2.0 * np.sqrt(params.nullspace_stiffness),
        }
        out["limits"] = {"max_dtau": params.torque_rate_limit}
    if posture is not None:
        q = np.asarray(posture, np.float64).reshape(-1)
        if q.shape != (len(ARM_JOINTS),) or not np.all(np.isfinite(q)):
            raise ValueError(f"posture must be {len(ARM_JOINTS)} finite joint angles, got {q}")
        out["q_nominal"] = q
    return out


class BridgeController:
    """The C++ bridge's MuJoCo backend with the Python controller's interface; ``params``
    and ``posture`` become the bridge's gains, torque-rate limit and nullspace posture."""

    backend = "cpp"

    def __init__(
        self,
        model: mujoco.MjModel,
        data: mujoco.MjData,
        params: ImpedanceParams | None = None,
        posture: np.ndarray | None = None,
        site: str = "ee_site",
        **kwargs: Any,
    ) -> None:
        from silri_jax.bridge import Bridge

        self.model, self.data = model, data
        self._site = model.site(site).id
        self._qadr = np.array([model.jnt_qposadr[model.joint(j).id] for j in ARM_JOINTS])
        self._dadr = np.array([model.jnt_dofadr[model.joint(j).id] for j in ARM_JOINTS])
        self._gripper = model.actuator("gripper").id
        settings = bridge_settings(params, posture)
        for name in ("gains", "limits"):
            if name in settings and name in kwargs:
                settings[name] = {**settings[name], **kwargs.pop(name)}
        # A held clutch with a still hand holds the arm (see silri_jax.envs.teleop_intervention).
        # The human's target leads the arm by at most the error clip, where the impedance
        # force saturates: a slow arm does not wind up a target that runs on after release.
        lead = (params or ImpedanceParams()).error_clip_pos
        settings["mixer"] = {"hold_when_engaged": True, "max_teleop_lead": lead,
                             **kwargs.pop("mixer", {})}
        self._bridge = Bridge(backend="mujoco", model=model, data=data,
                              **{**settings, **kwargs})
        self._dt = float(model.opt.timestep)
        self._ticks = 0
        # Called as ``source(sim_time_s)`` between chunks of ``teleop_period_ticks``.
        self.teleop_source: Callable[[float], None] | None = None
        self.teleop_period_ticks = max(1, round(0.01 / self._dt))

    @property
    def bridge(self) -> Any:
        """The ``silri_jax.bridge.Bridge`` running this arm (teleop input, state, mixer)."""
        return self._bridge

    @property
    def sim_time(self) -> float:
        """Seconds of simulated control since this controller was made."""
        return self._ticks * self._dt

    def gripper_fraction(self, ctrl: float) -> float:
        """A gripper actuator value as the fraction of its range the bridge takes."""
        lo, hi = self.model.actuator_ctrlrange[self._gripper]
        return float(np.clip((ctrl - lo) / (hi - lo), 0.0, 1.0))

    def reset(self) -> None:
        mujoco.mj_forward(self.model, self.data)
        if hasattr(self._bridge, "reset"):
            self._bridge.reset()
        pos = self.data.site_xpos[self._site].copy()
        quat = rotations.mat_to_quat(self.data.site_xmat[self._site].reshape(3, 3))
        self.set_target(pos, quat)

    def set_target(self, pos: np.ndarray, quat_wxyz: np.ndarray) -> None:
        self._bridge.set_policy_target(
            np.asarray(pos, np.float64),
            rotations.quat_normalize(quat_wxyz),
            self._gripper_fraction(),
        )

    def _gripper_fraction(self) -> float:
        """The bridge takes the gripper command as a fraction of the actuator's range."""
        return self.gripper_fraction(float(self.data.ctrl[self._gripper]))

    def step(self, n: int) -> None:
        n = int(n)
        if self.teleop_source is None:
            self._bridge.step(n)
            self._ticks += n
        else:
            done = 0
            while done < n:
                self.teleop_source(self.sim_time)
                k = min(self.teleop_period_ticks, n - done)
                self._bridge.step(k)
                self._ticks += k
                done += k
        mujoco.mj_forward(self.model, self.data)

    def state(self) -> ControllerState:
        d = self.data
        return ControllerState(
            ee_pos=d.site_xpos[self._site].copy(),
            ee_quat=rotations.mat_to_quat(d.site_xmat[self._site].reshape(3, 3)),
            q=d.qpos[self._qadr].copy(),
            dq=d.qvel[self._dadr].copy(),
            tau=d.qfrc_applied[self._dadr].copy(),
        )
