"""``RobotEnv``: a real arm (or its rehearsal) as a robot-level gymnasium env.

The same interface as the simulated ``PandaSimEnv``: the action is an absolute end
effector target ``{"pose": [x, y, z, qw, qx, qy, qz], "gripper": 0|1|2}`` (the policy's
normalised deltas, the workspace rule, the time limit and interventions are the shared
wrappers of ``silri_jax.envs.wrappers``), and the env exposes ``current_pose()``,
``privileged_state()`` and ``controller`` (the arm) for the teleop layer.

One step: the target goes to the bridge, which clips it to the workspace box and the
orientation cone inside its real-time loop; the arm advances one control period (a
lockstep rehearsal steps the simulated loop; a real arm's own thread runs while the step
sleeps to its deadline); the gripper command the bridge applied (the policy's, or the
human's through the mixer) goes to the gripper worker, which never blocks; then the
observation is read. Observation keys (all float32, scaled to about [-1, 1]):

- ``tcp_pose``: end-effector position scaled to the workspace box (3) and the first two
  columns of its rotation matrix (6);
- ``tcp_vel``: linear and angular velocity scaled by the speed limits (6);
- ``gripper`` (when there is one): width scaled to [-1, 1] of its range, and 1 when
  grasping else -1 (2);
- ``tcp_wrench`` (with ``cell.wrench_scale_n`` set): the measured external force and
  torque over the cell's scales (6);
- ``images/<camera>``: uint8 frames from the camera rig, cropped and resized.

Faults never pass silently: an arm fault (lost connection, reflex, watchdog stop) ends the
episode as truncated with ``info["robot_fault"]`` naming it (the arm holds, then stops;
the next reset waits for the operator's ``continue`` on the teleop device and then
recovers, or raises without a device until ``recover()`` is called); a camera frame
older than its
``max_age_s`` is refused, and the episode ends as truncated with ``info["stale_cameras"]``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from silri_jax import specs
from silri_jax.envs import rotations
from silri_jax.robots.arm import ArmError
from silri_jax.robots.resets import ResetSequence, ResetSettings

log = logging.getLogger(__name__)

GRIPPER_WIDTH_RANGE_M = (0.0, 0.085)
_FRACTION = {specs.GRIPPER_OPEN: 1.0, specs.GRIPPER_CLOSE: 0.0}


def impedance_gains(robot: Any, reset: bool = False) -> dict[str, Any]:
    """``Bridge.set_gains`` values of the robot config's episode (or reset) gains."""
    kp = float(robot.reset_stiffness_pos_n_m if reset else robot.stiffness_pos_n_m)
    kr = float(robot.reset_stiffness_rot_nm_rad if reset else robot.stiffness_rot_nm_rad)
    k = np.array([kp] * 3 + [kr] * 3)
    return {"stiffness": k, "damping": 2.0 * float(robot.damping_ratio) * np.sqrt(k),
            "error_clip": np.array([float(robot.error_clip_pos_m)] * 3
                                   + [float(robot.error_clip_rot_rad)] * 3)}


def safety_limits(robot: Any, cell: Any) -> dict[str, Any]:
    """``Bridge`` safety limits from the robot and cell configs (enforced at 1 kHz)."""
    return {"box_min": np.asarray(cell.workspace_low_m, np.float64),
            "box_max": np.asarray(cell.workspace_high_m, np.float64),
            "orientation_ref": rotations.quat_normalize(
                np.asarray(cell.reset_quat_wxyz, np.float64)),
            "max_orientation_error": float(np.deg2rad(float(cell.max_orientation_error_deg))),
            "max_lin_speed": float(robot.max_lin_speed_m_s),
            "max_ang_speed": float(robot.max_ang_speed_rad_s),
            "max_dtau": float(robot.max_dtau_nm)}


class RobotEnv(gym.Env):
    """A robot-level env over an arm, a gripper, cameras and (in a rehearsal) a scene.

    Args:
        robot, cell: the validated robot and cell configs (``silri_jax.robots.config``).
        arm: a ``LockstepArm`` or ``RealtimeArm``.
        gripper: a started gripper worker (``silri_jax.grippers``), or None.
        cameras: a ``CameraRig`` (started at the first reset), or None.
        scene: a ``SimCell`` in a rehearsal (objects, success, privileged state), or None.
        operator_continue: polled while a reset waits for the operator.
        gripper_pickup_s: lockstep only: how long a step waits (wall clock) for the
            gripper worker's reading at the step's simulated time (``refresh``).
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, robot: Any, cell: Any, arm: Any, *, gripper: Any = None,
                 cameras: Any = None, scene: Any = None,
                 operator_continue: Callable[[], bool] | None = None,
                 gripper_pickup_s: float = 0.5) -> None:
        self.robot, self.cell, self.config = robot, cell, cell
        self.arm, self.controller = arm, arm
        self.gripper, self.cameras, self.scene = gripper, cameras, scene
        self.period_s = 1.0 / float(cell.control_hz)
        self.has_gripper = gripper is not None
        self.gripper_pickup_s = float(gripper_pickup_s)
        self.nominal_quat = rotations.quat_normalize(np.asarray(cell.reset_quat_wxyz))
        self._low = np.asarray(cell.workspace_low_m, np.float64)
        self._high = np.asarray(cell.workspace_high_m, np.float64)
        self._lin = float(robot.max_lin_speed_m_s)
        self._ang = float(robot.max_ang_speed_rad_s)
        self.resets = ResetSequence(
            ResetSettings.from_config(cell, robot, impedance_gains(robot),
                                      impedance_gains(robot, reset=True), self.period_s),
            self.period_s, scene=None if scene is None else scene.reset_scene,
            open_gripper=self._open_gripper if self.has_gripper else None,
            operator_continue=operator_continue)
        obs: dict[str, gym.Space] = {
            "tcp_pose": gym.spaces.Box(-np.inf, np.inf, (9,), np.float32),
            "tcp_vel": gym.spaces.Box(-np.inf, np.inf, (6,), np.float32),
        }
        if self.has_gripper:
            obs["gripper"] = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self._wrench_scale = np.array([float(cell.wrench_scale_n)] * 3
                                      + [float(cell.wrench_scale_nm)] * 3)
        if self._wrench_scale[0] > 0:
            obs["tcp_wrench"] = gym.spaces.Box(-np.inf, np.inf, (6,), np.float32)
        if cameras is not None:
            for key, s in cameras.observation_spec.items():
                obs[key] = gym.spaces.Box(0, 255, s.shape, np.uint8)
        self.observation_space = gym.spaces.Dict(obs)
        self.action_space = gym.spaces.Dict({
            "pose": gym.spaces.Box(-np.inf, np.inf, (7,), np.float64),
            "gripper": gym.spaces.Discrete(specs.NUM_GRIPPER_ACTIONS)})
        self._rng = np.random.default_rng()
        self._cameras_started = False
        self._steps = 0
        self._fraction = 1.0  # the gripper fraction sent with each target (open)
        self._forwarded = specs.GRIPPER_STAY
        self._images: dict[str, np.ndarray] = {}
        self.fault = ""

    # ----------------------------------------------------------------- gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None
              ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        super().reset(seed=seed)
        if self.fault:
            self._recover_with_operator()
        if self.scene is not None and not self.scene.placed:
            self.scene.place_arm()
        if hasattr(self.arm, "restart_clock"):
            self.arm.restart_clock()
        if self.cameras is not None and not self._cameras_started:
            self.cameras.start()
            self._cameras_started = True
        took = self.resets.run(self.arm, self._rng)
        self._steps = 0
        self._fraction = 1.0
        obs, stale = self._observe()
        if stale:
            raise RuntimeError(f"cameras {stale} delivered no fresh frame at reset")
        return obs, {"success": False, "reset_s": took}

    def step(self, action: Mapping[str, Any]
             ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        pose = np.asarray(action["pose"], np.float64)
        if pose.shape != (7,) or not np.all(np.isfinite(pose)):
            raise ValueError(f"pose target must be 7 finite numbers (pos, quat wxyz), got {pose}")
        g = int(action.get("gripper", specs.GRIPPER_STAY))
        if g not in (specs.GRIPPER_OPEN, specs.GRIPPER_STAY, specs.GRIPPER_CLOSE):
            raise ValueError(f"gripper command must be 0 (open), 1 (stay) or 2 (close), got {g}")
        if g != specs.GRIPPER_STAY and self.has_gripper:
            self._fraction = _FRACTION[g]
        info: dict[str, Any] = {}
        truncated = False
        human_before = int(getattr(self.arm.state(), "intervention_total", 0))
        try:
            self.arm.set_target(pose[:3], pose[3:], self._fraction if self.has_gripper else -1.0)
            self.arm.advance(self.period_s)
            self.arm.check()
        except (ArmError, RuntimeError) as e:
            self.fault = str(e)
            info["robot_fault"] = self.fault
            truncated = True
            log.error("robot fault: %s", e)
        self._steps += 1
        if self.has_gripper and not truncated:
            self._forward_gripper(human_before)
        obs, stale = self._observe()
        if stale:
            info["stale_cameras"] = stale
            truncated = True
        success = bool(self.scene.success()) if self.scene is not None \
            and self.cell.reward == "sim" else False
        reward = float(self.cell.step_reward) + (float(self.cell.success_reward)
                                                 if success else 0.0)
        info["success"] = success
        return obs, reward, success, truncated and not success, info

    def close(self) -> None:
        if self.cameras is not None:
            self.cameras.close()
        if self.gripper is not None:
            self.gripper.close()
        close = getattr(self.arm, "close", None)
        if close is not None:
            close()

    # ------------------------------------------------------------- robot API
    def current_pose(self) -> tuple[np.ndarray, np.ndarray]:
        return self.arm.current_pose()

    def recover(self) -> bool:
        """Clears the arm's latched fault: the explicit call a person makes after
        checking the robot (logged). Returns whether the arm recovered."""
        log.warning("recover() requested after: %s", self.fault or "no fault")
        ok = self.arm.recover()
        if ok or not self.arm.state().faulted:
            self.fault = ""
        return not self.fault

    def _recover_with_operator(self, poll_s: float = 0.05) -> None:
        """After a fault: with a teleop device, waits for the person's ``continue`` (they
        have checked the robot) and then recovers, logged; without one, raises."""
        wait = self.resets.operator_continue
        if wait is None:
            raise ArmError(f"the arm faulted in the last episode ({self.fault}); it holds "
                           "until recovered: call recover() (logged), then reset")
        log.warning("the arm faulted (%s): check the robot, then press continue on the "
                    "teleop device to recover it", self.fault)
        import time

        while not wait():
            time.sleep(poll_s)
        if not self.recover():
            raise ArmError(f"the arm did not recover from: {self.fault}")

    def gripper_width(self) -> float:
        if self.gripper is None:
            return 0.0
        w = float(self.gripper.state().width_m)
        return 0.0 if not np.isfinite(w) else w

    def privileged_state(self) -> dict[str, Any]:
        """What a simulated operator sees (the scene's objects only in a rehearsal)."""
        s = self.arm.state()
        out = {
            "task": str(self.cell.sim_scene),
            "ee_pos": np.asarray(s.ee_position, np.float64),
            "ee_quat": np.asarray(s.ee_quat, np.float64),
            "ee_vel": np.asarray(s.ee_twist, np.float64),
            "gripper_width": self.gripper_width(),
            "gripper_closing": self.has_gripper and self._fraction < 0.5,
            "step": self._steps,
            "max_episode_steps": int(self.cell.max_episode_steps),
            "action_scale_pos": float(np.max(self.cell.action_scale_pos_m)),
            "action_mode": str(self.cell.action_mode),
            "has_gripper": self.has_gripper,
            "success": bool(self.scene.success()) if self.scene is not None else False,
        }
        if self.scene is not None:
            out.update(self.scene.privileged())
        return out

    # -------------------------------------------------------------- internals
    def _open_gripper(self) -> None:
        self._send_gripper(specs.GRIPPER_OPEN)
        self._fraction = 1.0

    def _forward_gripper(self, human_before: int) -> None:
        """The step's gripper command to the worker, as open or close: the policy's own,
        or, when the human drove during the step, what the bridge applied (their command
        through the mixer), which the next set-points then carry, so a human's close
        outlasts the takeover until someone commands otherwise."""
        g = specs.GRIPPER_OPEN if self._fraction >= 0.5 else specs.GRIPPER_CLOSE
        s = self.arm.state()
        if int(getattr(s, "intervention_total", 0)) > human_before and float(s.gripper) >= 0:
            g = specs.GRIPPER_OPEN if float(s.gripper) >= 0.5 else specs.GRIPPER_CLOSE
            self._fraction = _FRACTION[g]
        if g != self._forwarded:
            self._send_gripper(g)

    def _send_gripper(self, g: int) -> None:
        """Hands the command to the worker and returns at once (a real arm); a lockstep
        rehearsal also lets the worker take it at this simulated time."""
        self._forwarded = g
        self.gripper.command(g)
        if not self.arm.realtime:
            self.gripper.refresh(self.gripper_pickup_s)

    def _observe(self) -> tuple[dict[str, np.ndarray], list[str]]:
        s = self.arm.state()
        pos = np.asarray(s.ee_position, np.float64)
        mid, half = (self._high + self._low) / 2, (self._high - self._low) / 2
        rot6 = rotations.mat_to_rot6d(rotations.quat_to_mat(np.asarray(s.ee_quat)))
        twist = np.asarray(s.ee_twist, np.float64)
        obs: dict[str, np.ndarray] = {
            "tcp_pose": np.concatenate([(pos - mid) / half, rot6]).astype(np.float32),
            "tcp_vel": np.concatenate([twist[:3] / self._lin,
                                       twist[3:] / self._ang]).astype(np.float32),
        }
        if self._wrench_scale[0] > 0:
            wrench = np.asarray(getattr(s, "wrench", np.zeros(6)), np.float64)
            obs["tcp_wrench"] = (wrench / self._wrench_scale).astype(np.float32)
        if self.has_gripper:
            # lockstep: read at this step's simulated time (the run repeats exactly)
            st = self.gripper.state() if self.arm.realtime else self.gripper.refresh(
                self.gripper_pickup_s)
            lo, hi = GRIPPER_WIDTH_RANGE_M
            w = 0.0 if not np.isfinite(st.width_m) else float(st.width_m)
            obs["gripper"] = np.array([2 * (w - lo) / (hi - lo) - 1,
                                       1.0 if st.grasped else -1.0], np.float32)
        stale: list[str] = []
        if self.cameras is not None:
            from silri_jax.cameras.base import StaleFrameError

            try:
                self._images = self.cameras.observe()
            except StaleFrameError as e:
                stale = [str(item[0]) for item in e.stale]
                if not self._images:
                    raise
            obs.update(self._images)
        return obs, stale
