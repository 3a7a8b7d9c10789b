"""The simulated Panda environment: target-pose actions in, observation dicts out.

This is the robot-level env, the simulated twin of a real arm's env: its action is an
absolute end-effector target (position + quaternion, base frame) and a discrete gripper
command. The policy-facing action (normalised end-effector deltas) and the episode rules
shared with real robots (workspace clipping, time limit, crops, interventions) are
wrappers in ``silri_jax.envs.wrappers``; ``silri_jax.envs.make`` stacks them.

One env step holds the target for ``1 / control_hz`` seconds of physics (100 ticks of
1 ms at 10 Hz) under the Cartesian impedance controller.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, ClassVar

import gymnasium as gym
import mujoco
import numpy as np

from silri_jax import specs
from silri_jax.envs import rotations
from silri_jax.envs.controllers import ImpedanceParams, make_controller
from silri_jax.envs.sim import scene
from silri_jax.envs.sim.tasks import TASKS, Task

PROPRIO_DIM = 16  # ee pos 3, ee rot6d 6, ee linear velocity 3, angular velocity 3, gripper 1
# Ranges the proprio velocities and gripper width normally span, for the state scaling:
# the TCP moves at most a few tens of cm/s at 10 Hz, and each finger opens 4 cm.
LINEAR_VELOCITY_RANGE = 0.5  # m/s
ANGULAR_VELOCITY_RANGE = 2.0  # rad/s
GRIPPER_WIDTH_RANGE = (0.0, 0.08)  # m
GRIPPER_OPEN_CTRL, GRIPPER_CLOSED_CTRL = 0.04, 0.0


@dataclasses.dataclass(frozen=True)
class SimConfig:
    """Everything a simulated task run can change. ``None`` means the task's default."""

    task: str = "pick_cube"
    controller: str = "auto"  # "python", "cpp" or "auto"
    control_hz: float = 10.0
    cameras: tuple[str, ...] = ()  # e.g. ("front", "wrist") for pixel observations
    image_size: int = 128  # size the policy sees
    render_size: int | None = None  # rendered size (default image_size); crop + resize wrap
    crops: Mapping[str, tuple[int, int, int, int]] | None = None  # cam -> top, left, h, w
    success_reward: float = 10.0
    step_reward: float = -0.05
    max_episode_steps: int | None = None
    action_mode: str = "xyz"  # "xyz", "xyz_yaw" or "full" (translation + rotation vector)
    action_scale_pos: float | None = None  # metres per unit action
    action_scale_rot: float = 0.1  # radians per unit action
    workspace_low: tuple[float, float, float] | None = None
    workspace_high: tuple[float, float, float] | None = None
    start_noise: tuple[float, float, float] | None = None
    settle_ticks: int = 200
    impedance: ImpedanceParams | None = None
    task_kwargs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    # Scale the state vector to about [-1, 1] by the range each entry normally spans
    # (positions: the workspace; see ``PandaSimEnv.state_bounds``). Raw metres put a 3 cm
    # difference at 0.03 on inputs near 0.5, which networks resolve only slowly; scaled,
    # SAC on pick_cube learns about three times faster (docs/simulation.md).
    normalize_state: bool = True

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"unknown task {self.task!r}; known: {sorted(TASKS)}")
        if self.action_mode not in ("xyz", "xyz_yaw", "full"):
            raise ValueError(f"action_mode must be xyz, xyz_yaw or full, got {self.action_mode!r}")
        if self.control_hz <= 0 or self.image_size <= 0:
            raise ValueError("control_hz and image_size must be positive")
        for cam in self.cameras:
            if cam not in ("front", "wrist"):
                raise ValueError(f"unknown camera {cam!r}; the scenes have 'front' and 'wrist'")

    @classmethod
    def from_mapping(cls, task: str, overrides: Mapping[str, Any] | None) -> SimConfig:
        """Builds a config from plain values (an ml_collections ConfigDict works too)."""
        values = dict(overrides or {})
        unknown = set(values) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise ValueError(f"unknown simulation config fields: {sorted(unknown)}")
        values["task"] = task
        for key in ("cameras", "workspace_low", "workspace_high", "start_noise"):
            if values.get(key) is not None:
                values[key] = tuple(values[key])
        if isinstance(values.get("impedance"), Mapping):
            values["impedance"] = ImpedanceParams(**values["impedance"])
        return cls(**values)

    def resolved(self, name: str) -> Any:
        """A field's value, or the task default when the field is ``None``."""
        v = getattr(self, name)
        return getattr(TASKS[self.task].defaults, name) if v is None else v


class PandaSimEnv(gym.Env):
    """A MuJoCo Panda task stepped at 1 kHz under impedance control, acting at 10 Hz."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"]}

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        task_cls = TASKS[config.task]
        self.task: Task = task_cls(**dict(config.task_kwargs))
        spec, home = scene.load_panda_spec()
        scene.add_table(spec)
        self.task.build(spec)
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.task.bind(self.model)
        m = self.model
        self._ee = m.site("ee_site").id
        arm = [m.joint(f"joint{i}").id for i in range(1, 8)]
        self._qadr = m.jnt_qposadr[arm].copy()
        self._dofadr = m.jnt_dofadr[arm].copy()
        fingers = [m.joint(f"finger_joint{i}").id for i in (1, 2)]
        self._fadr = m.jnt_qposadr[fingers].copy()
        self._gripper = m.actuator("gripper").id
        self._body0 = {i: m.body_pos[i].copy() for i in range(m.nbody)}
        self.ticks_per_step = round(1.0 / (config.control_hz * m.opt.timestep))
        if self.ticks_per_step < 1:
            raise ValueError("control_hz is faster than the physics timestep")

        # One IK solve per env: a start configuration at the task's nominal start pose.
        self.data.qpos[self._qadr] = home[:7]
        self.start_pos = np.asarray(task_cls.defaults.start_pos, np.float64)
        self.nominal_quat = scene.DOWN_QUAT.copy()
        self._start_q = scene.solve_ik(
            m, self.data, self._qadr, self._dofadr, self.start_pos, self.nominal_quat
        )
        self.controller = make_controller(
            config.controller, m, self.data, params=config.impedance, posture=self._start_q
        )
        self.has_gripper = bool(task_cls.defaults.has_gripper)
        self.state_dim = PROPRIO_DIM + task_cls.object_state_dim
        self.state_bounds = self._state_bounds()
        low, high = self.state_bounds
        self._state_mid = ((high + low) / 2).astype(np.float32)
        self._state_half = ((high - low) / 2).astype(np.float32)
        obs = {
            specs.STATE_KEY: gym.spaces.Box(-np.inf, np.inf, (self.state_dim,), np.float32)
        }
        size = config.render_size or config.image_size
        for cam in config.cameras:
            obs[specs.IMAGE_PREFIX + cam] = gym.spaces.Box(0, 255, (size, size, 3), np.uint8)
        self.observation_space = gym.spaces.Dict(obs)
        self.action_space = gym.spaces.Dict(
            {
                "pose": gym.spaces.Box(-np.inf, np.inf, (7,), np.float64),
                "gripper": gym.spaces.Discrete(specs.NUM_GRIPPER_ACTIONS),
            }
        )
        self._renderer = None
        if config.cameras:
            from silri_jax.envs.sim.render import CameraRenderer

            self._renderer = CameraRenderer(m, config.cameras, size, size)
        self._rng = np.random.default_rng()
        self._steps = 0
        self._vel = np.zeros(6)

    # ----------------------------------------------------------------- gym API
    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """Seeded from ``seed`` alone (a fresh ``np.random.Generator``); never global state."""
        if seed is not None:
            self._rng = np.random.default_rng(seed)
        super().reset(seed=seed)
        m, d = self.model, self.data
        for i, p in self._body0.items():
            m.body_pos[i] = p
        mujoco.mj_resetData(m, d)
        d.qpos[self._qadr] = self._start_q
        closed = TASKS[self.config.task].defaults.start_gripper_closed
        d.qpos[self._fadr] = GRIPPER_CLOSED_CTRL if closed else GRIPPER_OPEN_CTRL
        if closed and hasattr(self.task, "peg_half"):
            d.qpos[self._fadr] = self.task.peg_half  # fingers resting on the held peg
        d.ctrl[self._gripper] = d.qpos[self._fadr[0]]
        self.task.reset(m, d, self._rng)
        mujoco.mj_forward(m, d)
        noise = np.asarray(self.config.resolved("start_noise"))
        target = self.start_pos + self._rng.uniform(-noise, noise)
        self.controller.reset()
        self.controller.set_target(target, self.nominal_quat)
        self.controller.step(self.config.settle_ticks)
        self._steps = 0
        return self._observation(), {"success": False}

    def step(
        self, action: Mapping[str, Any]
    ) -> tuple[dict[str, np.ndarray], float, bool, bool, dict[str, Any]]:
        pose = np.asarray(action["pose"], np.float64)
        if pose.shape != (7,) or not np.all(np.isfinite(pose)):
            raise ValueError(f"pose target must be 7 finite numbers (pos, quat wxyz), got {pose}")
        g = int(action.get("gripper", specs.GRIPPER_STAY))
        if g == specs.GRIPPER_OPEN:
            self.data.ctrl[self._gripper] = GRIPPER_OPEN_CTRL
        elif g == specs.GRIPPER_CLOSE:
            self.data.ctrl[self._gripper] = GRIPPER_CLOSED_CTRL
        elif g != specs.GRIPPER_STAY:
            raise ValueError(f"gripper command must be 0 (open), 1 (stay) or 2 (close), got {g}")
        self.controller.set_target(pose[:3], pose[3:])
        self.controller.step(self.ticks_per_step)
        self._steps += 1
        success = self.task.success(self.model, self.data)
        cfg = self.config
        reward = cfg.step_reward + (cfg.success_reward if success else 0.0)
        return self._observation(), float(reward), success, False, {"success": success}

    def render(self) -> np.ndarray | None:
        if self._renderer is None:
            from silri_jax.envs.sim.render import CameraRenderer

            self._renderer = CameraRenderer(self.model, ("front",), 128, 128)
        return next(iter(self._renderer.render(self.data).values()))

    def close(self) -> None:
        if self._renderer is not None:
            self._renderer.close()
            self._renderer = None

    # ------------------------------------------------------------- robot API
    def current_pose(self) -> tuple[np.ndarray, np.ndarray]:
        """Measured TCP position and quaternion (wxyz) in the base frame."""
        return (
            self.data.site_xpos[self._ee].copy(),
            rotations.mat_to_quat(self.data.site_xmat[self._ee].reshape(3, 3)),
        )

    def gripper_width(self) -> float:
        return float(self.data.qpos[self._fadr].sum())

    def privileged_state(self) -> dict[str, Any]:
        """Exact simulator state for scripted operators; never part of the observation."""
        pos, quat = self.current_pose()
        out = {
            "task": self.config.task,
            "ee_pos": pos,
            "ee_quat": quat,
            "ee_vel": self._ee_velocity(),
            "gripper_width": self.gripper_width(),
            "gripper_closing": bool(self.data.ctrl[self._gripper] < 0.02),
            "step": self._steps,
            "max_episode_steps": int(self.config.resolved("max_episode_steps")),
            "action_scale_pos": float(self.config.resolved("action_scale_pos")),
            "action_mode": self.config.action_mode,
            "has_gripper": self.has_gripper,
            "success": self.task.success(self.model, self.data),
        }
        out.update(self.task.privileged(self.model, self.data))
        return out

    # -------------------------------------------------------------- internals
    def _ee_velocity(self) -> np.ndarray:
        """Linear then angular TCP velocity in the base frame."""
        mujoco.mj_objectVelocity(
            self.model, self.data, mujoco.mjtObj.mjOBJ_SITE, self._ee, self._vel, 0
        )
        return np.concatenate([self._vel[3:], self._vel[:3]])

    def _state_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-entry (low, high) of the state vector's normal range, in its raw units."""
        ws_low = np.asarray(self.config.resolved("workspace_low"), np.float64)
        ws_high = np.asarray(self.config.resolved("workspace_high"), np.float64)
        obj_low, obj_high = self.task.object_state_bounds(ws_low, ws_high)
        lin, ang = LINEAR_VELOCITY_RANGE, ANGULAR_VELOCITY_RANGE
        low = np.concatenate(
            [ws_low, -np.ones(6), -lin * np.ones(3), -ang * np.ones(3),
             [GRIPPER_WIDTH_RANGE[0]], obj_low]
        )
        high = np.concatenate(
            [ws_high, np.ones(6), lin * np.ones(3), ang * np.ones(3),
             [GRIPPER_WIDTH_RANGE[1]], obj_high]
        )
        if low.shape != (self.state_dim,) or not np.all(high > low):
            raise ValueError(f"task {self.task.name!r}: state bounds do not match the state")
        return low, high

    def _observation(self) -> dict[str, np.ndarray]:
        d = self.data
        state = np.concatenate(
            [
                d.site_xpos[self._ee],
                rotations.mat_to_rot6d(d.site_xmat[self._ee].reshape(3, 3)),
                self._ee_velocity(),
                [self.gripper_width()],
                self.task.object_state(self.model, d),
            ]
        ).astype(np.float32)
        if self.config.normalize_state:
            state = (state - self._state_mid) / self._state_half
        obs = {specs.STATE_KEY: state}
        if self._renderer is not None:
            for cam, frame in self._renderer.render(d).items():
                obs[specs.IMAGE_PREFIX + cam] = frame
        return obs
