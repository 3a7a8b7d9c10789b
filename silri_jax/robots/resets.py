"""Resets between episodes, as a state machine the env steps through.

    lift -> (scene) -> approach -> compliance -> (wait for the operator) -> done

- ``lift``: precise gains, then straight up by ``reset_lift_m`` (clipped to the
  workspace) from wherever the episode ended, out of contact before moving sideways.
- ``scene``: a callback; in a rehearsal the simulator puts the objects back; on a real
  cell nothing happens here (the person resets the scene during ``wait``).
- ``approach``: to the reset pose plus a random offset (``reset_xy_range_m`` in x and y,
  ``reset_yaw_range_deg`` about the vertical), with the gripper opened.
- ``compliance``: the episode's (softer) gains back on.
- ``wait``: with ``wait_for_operator``, hold until the operator's ``continue`` event (a
  device button, never ``input()``).

Each move ends within ``reset_tolerance_m`` / ``reset_tolerance_rad`` of its goal or
raises ``ResetError`` with the distance left after ``reset_timeout_s``. The phases a reset
went through and how long each took are returned for the step's ``info``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from silri_jax.envs import rotations

log = logging.getLogger(__name__)

PHASES = ("lift", "scene", "approach", "compliance", "wait", "done")
# a move ends inside its tolerance and nearly at rest, so it does not coast out of it
SETTLED_M_S = 0.02
SETTLED_RAD_S = 0.1


class ResetError(RuntimeError):
    """A reset move did not reach its goal in time (the message says how far it was)."""


@dataclasses.dataclass(frozen=True)
class ResetSettings:
    """The cell's reset fields (``silri_jax/robots/config.py``), in SI units."""

    pos: np.ndarray
    quat: np.ndarray
    lift_m: float
    xy_range_m: float
    yaw_range_rad: float
    tolerance_m: float
    tolerance_rad: float
    timeout_s: float
    wait_for_operator: bool
    workspace_low: np.ndarray
    workspace_high: np.ndarray
    precise_gains: dict[str, Any]
    episode_gains: dict[str, Any]
    # largest step of the commanded target per control period, m and rad: a reset walks
    # its goal in waypoints the bridge accepts (it rejects target jumps over 0.1 m /
    # 0.5 rad) at the robot's speed limits
    max_step_m: float = 0.05
    max_step_rad: float = 0.2

    @classmethod
    def from_config(cls, cell: Any, robot: Any, episode_gains: dict[str, Any],
                    precise_gains: dict[str, Any], period_s: float = 0.1) -> ResetSettings:
        return cls(
            pos=np.asarray(cell.reset_pos_m, np.float64),
            quat=rotations.quat_normalize(np.asarray(cell.reset_quat_wxyz, np.float64)),
            lift_m=float(cell.reset_lift_m), xy_range_m=float(cell.reset_xy_range_m),
            yaw_range_rad=np.deg2rad(float(cell.reset_yaw_range_deg)),
            tolerance_m=float(cell.reset_tolerance_m),
            tolerance_rad=float(cell.reset_tolerance_rad),
            timeout_s=float(cell.reset_timeout_s),
            wait_for_operator=bool(cell.wait_for_operator),
            workspace_low=np.asarray(cell.workspace_low_m, np.float64),
            workspace_high=np.asarray(cell.workspace_high_m, np.float64),
            precise_gains=precise_gains, episode_gains=episode_gains,
            max_step_m=min(0.05, float(robot.max_lin_speed_m_s) * period_s),
            max_step_rad=min(0.25, float(robot.max_ang_speed_rad_s) * period_s))


def pose_error(arm: Any, pos: np.ndarray, quat: np.ndarray) -> tuple[float, float]:
    """(metres, radians) between the measured end effector and a goal."""
    p, q = arm.current_pose()
    return (float(np.linalg.norm(p - pos)),
            float(np.linalg.norm(rotations.delta_between(q, quat))))


def waypoint(pos: np.ndarray, quat: np.ndarray, goal_pos: np.ndarray, goal_quat: np.ndarray,
             max_m: float, max_rad: float) -> tuple[np.ndarray, np.ndarray]:
    """One step from (pos, quat) toward the goal, at most ``max_m`` and ``max_rad``."""
    d = goal_pos - pos
    n = float(np.linalg.norm(d))
    p = goal_pos.copy() if n <= max_m else pos + d * (max_m / n)
    rv = rotations.delta_between(quat, goal_quat)
    a = float(np.linalg.norm(rv))
    if a <= max_rad:
        q = goal_quat.copy()
    else:
        q = rotations.compose_delta(quat, rv * (max_rad / a))
    return p, rotations.quat_normalize(q)


def move_to(arm: Any, pos: np.ndarray, quat: np.ndarray, s: ResetSettings, period_s: float,
            phase: str, gripper: float = -1.0) -> float:
    """Walks the commanded target to the goal in waypoints (``max_step_m`` /
    ``max_step_rad`` per period) and advances by control periods until the arm is there
    (within tolerance, and slower than ``SETTLED_M_S`` / ``SETTLED_RAD_S``);
    returns the time it took (the arm's clock). Raises ``ResetError`` after ``timeout_s``."""
    t0 = arm.sim_time
    cmd_p, cmd_q = arm.current_pose()
    cmd_p, cmd_q = np.asarray(cmd_p, np.float64), np.asarray(cmd_q, np.float64)
    while True:
        # A fresh set-point every period, also once at the goal: the watchdog stays calm.
        cmd_p, cmd_q = waypoint(cmd_p, cmd_q, pos, quat, s.max_step_m, s.max_step_rad)
        arm.set_target(cmd_p, cmd_q, gripper)
        arm.advance(period_s)
        arm.check()
        lin, ang = pose_error(arm, pos, quat)
        twist = np.asarray(arm.state().ee_twist, np.float64)
        settled = np.linalg.norm(twist[:3]) <= SETTLED_M_S and \
            np.linalg.norm(twist[3:]) <= SETTLED_RAD_S
        if lin <= s.tolerance_m and ang <= s.tolerance_rad and settled:
            return arm.sim_time - t0
        if arm.sim_time - t0 > s.timeout_s:
            raise ResetError(f"reset {phase}: the arm is still {lin * 1000:.1f} mm and "
                             f"{np.rad2deg(ang):.1f} deg from its goal after "
                             f"{s.timeout_s:g} s (blocked? raise reset_timeout_s or the "
                             "reset gains)")


class ResetSequence:
    """Runs the phases of the module docstring on ``arm``.

    Args:
        settings: the cell's reset settings.
        period_s: the env's control period (each move advances by whole periods).
        scene: called with the episode's rng between lift and approach (rehearsal).
        open_gripper: called before the approach (the gripper worker's open command).
        operator_continue: returns True once the operator said continue (polled while
            waiting); required when ``wait_for_operator``.
    """

    def __init__(self, settings: ResetSettings, period_s: float,
                 scene: Callable[[np.random.Generator], None] | None = None,
                 open_gripper: Callable[[], None] | None = None,
                 operator_continue: Callable[[], bool] | None = None) -> None:
        self.s, self.period_s = settings, float(period_s)
        self.scene, self.open_gripper = scene, open_gripper
        self.operator_continue = operator_continue
        self.phase = "done"
        # the pose the last approach went to (this episode's randomised start)
        self.last_goal: tuple[np.ndarray, np.ndarray] | None = None

    def start_pose(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """The reset pose with this episode's random offset, inside the workspace."""
        s = self.s
        pos = s.pos.copy()
        pos[:2] += rng.uniform(-s.xy_range_m, s.xy_range_m, 2)
        pos = np.clip(pos, s.workspace_low, s.workspace_high)
        yaw = rng.uniform(-s.yaw_range_rad, s.yaw_range_rad) if s.yaw_range_rad > 0 else 0.0
        quat = rotations.quat_normalize(rotations.quat_mul(rotations.yaw_quat(yaw), s.quat))
        return pos, quat

    def run(self, arm: Any, rng: np.random.Generator) -> dict[str, float]:
        """Runs every phase; returns seconds per phase."""
        s, took = self.s, {}
        self.phase = "lift"
        arm.set_gains(**s.precise_gains)
        p, q = arm.current_pose()
        up = np.clip(p + np.array([0.0, 0.0, s.lift_m]), s.workspace_low, s.workspace_high)
        took["lift"] = move_to(arm, up, q, s, self.period_s, "lift")
        self.phase = "scene"
        if self.scene is not None:
            self.scene(rng)
        self.phase = "approach"
        if self.open_gripper is not None:
            self.open_gripper()
        pos, quat = self.start_pose(rng)
        self.last_goal = (pos, quat)
        took["approach"] = move_to(arm, pos, quat, s, self.period_s, "approach", 1.0)
        self.phase = "compliance"
        arm.set_gains(**s.episode_gains)
        arm.advance(self.period_s)
        if s.wait_for_operator:
            self.phase = "wait"
            if self.operator_continue is None:
                raise ResetError("wait_for_operator is set but no teleop device can say "
                                 "continue (set config.teleop.device)")
            # said once, where the person at the robot reads it (the actor's log)
            log.warning("reset: waiting for the operator: set the scene up, then press "
                        "continue on the teleop device")
            t0 = time.monotonic()
            while not self.operator_continue():
                arm.set_target(pos, quat, 1.0)
                arm.advance(self.period_s)
                arm.check()
            took["wait"] = time.monotonic() - t0
        self.phase = "done"
        return took
