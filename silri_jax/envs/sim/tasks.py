"""The three simulated tasks: what is in the scene, how it is randomised, what success is.

A task only describes its objects; the arm, the controller, observations, rewards and the
episode logic live in ``PandaSimEnv`` so the three tasks cannot drift apart. Each task also
exposes privileged state (exact object poses, the hole or the handle) for the scripted
operators, and an honest object state for the policy's observation.
"""

from __future__ import annotations

import abc
import dataclasses
from typing import Any, ClassVar

import mujoco
import numpy as np

from silri_jax.envs import rotations
from silri_jax.envs.sim import scene


@dataclasses.dataclass(frozen=True)
class TaskDefaults:
    """Per-task settings that ``SimConfig`` falls back to when a field is left ``None``."""

    has_gripper: bool
    max_episode_steps: int
    start_pos: tuple[float, float, float]
    start_noise: tuple[float, float, float]
    workspace_low: tuple[float, float, float]
    workspace_high: tuple[float, float, float]
    action_scale_pos: float
    start_gripper_closed: bool = False


class Task(abc.ABC):
    """Base class; subclasses add bodies in ``build`` and fill in the hooks."""

    name: ClassVar[str]
    defaults: ClassVar[TaskDefaults]
    object_state_dim: ClassVar[int]

    @abc.abstractmethod
    def build(self, spec: mujoco.MjSpec) -> None:
        """Implemented by each task."""

    def bind(self, model: mujoco.MjModel) -> None:  # noqa: B027  (optional hook)
        """Looks up ids after compilation; tasks without ids to look up keep this no-op."""

    @abc.abstractmethod
    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        """Implemented by each task."""

    @abc.abstractmethod
    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        """Implemented by each task."""

    @abc.abstractmethod
    def object_state(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        """Implemented by each task."""

    @abc.abstractmethod
    def object_state_bounds(
        self, workspace_low: np.ndarray, workspace_high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """The range each object-state entry normally spans (positions: the workspace),
        so the env can scale the state to about [-1, 1]; values may leave it."""

    @abc.abstractmethod
    def privileged(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, Any]:
        """Exact task state for scripted operators, including ``focus_pos``: where the
        task's precision work happens (the cube, the hole, the handle)."""


def _unit_bounds(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Bounds of entries that already live in [-1, 1] (rotation-matrix columns)."""
    return -np.ones(n), np.ones(n)


def _concat_bounds(*parts: tuple[Any, Any]) -> tuple[np.ndarray, np.ndarray]:
    lows, highs = zip(*parts, strict=True)
    return np.concatenate(lows).astype(np.float64), np.concatenate(highs).astype(np.float64)


def _free_qpos_adr(model: mujoco.MjModel, joint: str) -> int:
    return int(model.jnt_qposadr[model.joint(joint).id])


def _free_dof_adr(model: mujoco.MjModel, joint: str) -> int:
    return int(model.jnt_dofadr[model.joint(joint).id])


class PickCube(Task):
    """Grasp a 4 cm cube placed at random on the table and lift it 10 cm."""

    name = "pick_cube"
    defaults = TaskDefaults(
        has_gripper=True,
        max_episode_steps=100,
        start_pos=(0.45, 0.0, 0.22),
        start_noise=(0.03, 0.03, 0.02),
        workspace_low=(0.3, -0.25, 0.005),
        workspace_high=(0.7, 0.25, 0.35),
        action_scale_pos=0.03,
    )
    object_state_dim = 9
    half = 0.02
    lift_height = 0.10
    x_range = (0.40, 0.60)
    y_range = (-0.15, 0.15)

    def __init__(self, yaw_range: float = 0.0) -> None:
        self.yaw_range = float(yaw_range)

    def build(self, spec: mujoco.MjSpec) -> None:
        body = spec.worldbody.add_body(name="cube", pos=[0.5, 0.0, self.half])
        body.add_freejoint(name="cube_joint")
        scene.add_box(body, "cube_geom", [self.half] * 3, mass=0.05)

    def bind(self, model: mujoco.MjModel) -> None:
        self._qadr = _free_qpos_adr(model, "cube_joint")
        self._dadr = _free_dof_adr(model, "cube_joint")
        self._body = model.body("cube").id

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        x = rng.uniform(*self.x_range)
        y = rng.uniform(*self.y_range)
        yaw = rng.uniform(-self.yaw_range, self.yaw_range)
        data.qpos[self._qadr : self._qadr + 3] = [x, y, self.half + scene.TABLE_HEIGHT]
        data.qpos[self._qadr + 3 : self._qadr + 7] = rotations.yaw_quat(yaw)
        data.qvel[self._dadr : self._dadr + 6] = 0.0

    def cube_pos(self, data: mujoco.MjData) -> np.ndarray:
        return data.xpos[self._body]

    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        lifted = self.cube_pos(data)[2] > scene.TABLE_HEIGHT + self.half + self.lift_height
        near = np.linalg.norm(self.cube_pos(data) - data.site_xpos[model.site("ee_site").id])
        return bool(lifted and near < 0.06)

    def object_state(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        rot = data.xmat[self._body].reshape(3, 3)
        return np.concatenate([self.cube_pos(data), rotations.mat_to_rot6d(rot)])

    def object_state_bounds(
        self, workspace_low: np.ndarray, workspace_high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return _concat_bounds((workspace_low, workspace_high), _unit_bounds(6))

    def privileged(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, Any]:
        return {
            "focus_pos": self.cube_pos(data).copy(),
            "cube_pos": self.cube_pos(data).copy(),
            "cube_quat": data.xquat[self._body].copy(),
            "cube_half": self.half,
            "lift_z": scene.TABLE_HEIGHT + self.half + self.lift_height,
        }


class InsertPeg(Task):
    """Insert a held 25 mm square peg into a hole with 1 mm total clearance.

    The peg starts grasped, so the task is the precision part alone: find the hole, align to
    within half a millimetre per side and push 25 mm down. The hole moves every episode.
    """

    name = "insert_peg"
    defaults = TaskDefaults(
        has_gripper=False,
        max_episode_steps=100,
        start_pos=(0.45, 0.0, 0.20),
        start_noise=(0.03, 0.03, 0.02),
        workspace_low=(0.3, -0.25, 0.045),
        workspace_high=(0.7, 0.25, 0.35),
        action_scale_pos=0.02,
        start_gripper_closed=True,
    )
    object_state_dim = 6
    peg_half = 0.0125
    peg_half_len = 0.045
    clearance = 0.001  # total, both sides together
    depth = 0.04
    wall = 0.02
    insert_depth = 0.025
    x_range = (0.45, 0.60)
    y_range = (-0.12, 0.12)
    # Peg centre 10 mm above the TCP (hand z 0.1034): the pads hold its upper part.
    peg_centre_in_hand = 0.0934

    def build(self, spec: mujoco.MjSpec) -> None:
        fixture = spec.worldbody.add_body(name="hole", pos=[0.5, 0.0, scene.TABLE_HEIGHT])
        h = self.peg_half + 0.5 * self.clearance
        w = self.wall
        d = self.depth
        rgba = (0.3, 0.45, 0.8, 1.0)
        for i, (px, py, sx, sy) in enumerate(
            [
                (h + w / 2, 0.0, w / 2, h + w),
                (-(h + w / 2), 0.0, w / 2, h + w),
                (0.0, h + w / 2, h, w / 2),
                (0.0, -(h + w / 2), h, w / 2),
            ]
        ):
            scene.add_box(
                fixture, f"hole_wall{i}", [sx, sy, d / 2], [px, py, d / 2], rgba, dynamic=False
            )
        fixture.add_site(name="hole_top", pos=[0.0, 0.0, d], size=[0.003, 0.003, 0.003])
        # The peg is held rigidly: a child of the hand. A two-finger grasp of a square peg
        # pivots about the finger axis on the first contact in MuJoCo, which turns the task
        # into a contact-tuning problem rather than the precision problem it is meant to be.
        hand = spec.body("hand")
        peg = hand.add_body(name="peg", pos=[0.0, 0.0, self.peg_centre_in_hand])
        g = scene.add_box(
            peg,
            "peg_geom",
            [self.peg_half, self.peg_half, self.peg_half_len],
            rgba=(0.9, 0.6, 0.1, 1.0),
            mass=0.03,
        )
        g.contype, g.conaffinity = scene.OBJECT_CONTYPE, scene.OBJECT_CONTYPE
        for finger in ("left_finger", "right_finger"):
            spec.add_exclude(bodyname1=finger, bodyname2="peg")

    def bind(self, model: mujoco.MjModel) -> None:
        self._peg = model.body("peg").id
        self._hole = model.body("hole").id
        self._hole_site = model.site("hole_top").id
        self._ee = model.site("ee_site").id

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        # Moving a static body is a model change; kinematics pick it up on the next forward.
        model.body_pos[self._hole] = [
            rng.uniform(*self.x_range),
            rng.uniform(*self.y_range),
            scene.TABLE_HEIGHT,
        ]
        # The grasp is never quite the same: the peg sits a few millimetres off nominal.
        offset = rng.uniform([-0.002, 0.0, -0.004], [0.002, 0.0, 0.004])
        model.body_pos[self._peg] = np.array([0.0, 0.0, self.peg_centre_in_hand]) + offset

    def peg_bottom(self, data: mujoco.MjData) -> np.ndarray:
        # The peg's z axis is the hand's, pointing down along the gripper.
        rot = data.xmat[self._peg].reshape(3, 3)
        return data.xpos[self._peg] + self.peg_half_len * rot[:, 2]

    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        bottom = self.peg_bottom(data)
        top = data.site_xpos[self._hole_site]
        inside_xy = np.linalg.norm(bottom[:2] - top[:2]) < self.peg_half
        return bool(inside_xy and bottom[2] < top[2] - self.insert_depth)

    def object_state(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        return np.concatenate([self.peg_bottom(data), data.site_xpos[self._hole_site]])

    def object_state_bounds(
        self, workspace_low: np.ndarray, workspace_high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        ws = (workspace_low, workspace_high)
        return _concat_bounds(ws, ws)

    def privileged(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, Any]:
        return {
            "focus_pos": data.site_xpos[self._hole_site].copy(),
            "peg_bottom": self.peg_bottom(data).copy(),
            "peg_pos": data.xpos[self._peg].copy(),
            "hole_top": data.site_xpos[self._hole_site].copy(),
            "insert_depth": self.insert_depth,
            "tolerance": 0.5 * self.clearance,
        }


class OpenDrawer(Task):
    """Grasp the fin handle of a drawer and pull it open by at least 12 cm."""

    name = "open_drawer"
    defaults = TaskDefaults(
        has_gripper=True,
        max_episode_steps=100,
        start_pos=(0.42, 0.0, 0.24),
        start_noise=(0.03, 0.03, 0.02),
        workspace_low=(0.3, -0.25, 0.05),
        workspace_high=(0.7, 0.25, 0.35),
        action_scale_pos=0.03,
    )
    object_state_dim = 4
    open_success = 0.12
    travel = 0.25
    height = 0.16
    handle_z = 0.10
    x_range = (0.56, 0.62)  # front face of the cabinet
    y_range = (-0.10, 0.10)

    def build(self, spec: mujoco.MjSpec) -> None:
        cab = spec.worldbody.add_body(name="cabinet", pos=[0.6, 0.0, scene.TABLE_HEIGHT])
        grey = (0.7, 0.7, 0.72, 1.0)
        depth, hw, h = 0.3, 0.16, self.height
        parts = [
            ("cab_top", [depth / 2, hw, 0.01], [depth / 2, 0.0, h + 0.01]),
            ("cab_left", [depth / 2, 0.01, h / 2 + 0.01], [depth / 2, hw - 0.01, h / 2]),
            ("cab_right", [depth / 2, 0.01, h / 2 + 0.01], [depth / 2, -hw + 0.01, h / 2]),
            ("cab_back", [0.01, hw, h / 2 + 0.01], [depth - 0.01, 0.0, h / 2]),
        ]
        for name, half, pos in parts:
            scene.add_box(cab, name, half, pos, grey, dynamic=False)
        drawer = cab.add_body(name="drawer", pos=[0.0, 0.0, 0.0])
        drawer.add_joint(
            name="drawer_joint",
            type=mujoco.mjtJoint.mjJNT_SLIDE,
            axis=[-1.0, 0.0, 0.0],
            range=[0.0, self.travel],
            damping=8.0,
            frictionloss=0.5,
            armature=0.05,
        )
        wood = (0.45, 0.3, 0.2, 1.0)
        # The drawer collides with the robot only (contype 2 & robot conaffinity 2), never
        # with its own cabinet: its travel is bounded by the joint range instead.
        for name, half, pos in [
            ("drawer_front", [0.01, hw - 0.025, h / 2 - 0.01], [0.0, 0.0, h / 2 + 0.005]),
            ("drawer_bottom", [0.12, hw - 0.03, 0.005], [0.13, 0.0, 0.02]),
        ]:
            g = scene.add_box(drawer, name, half, pos, wood, dynamic=False)
            g.contype, g.conaffinity = scene.OBJECT_CONTYPE, 0
        g = scene.add_box(
            drawer,
            "handle",
            [0.03, 0.006, 0.015],
            [-0.04, 0.0, self.handle_z],
            (0.15, 0.15, 0.15, 1.0),
            dynamic=False,
        )
        g.contype, g.conaffinity = scene.OBJECT_CONTYPE, 0
        g.friction = [1.5, 0.01, 0.0005]
        drawer.add_site(name="handle_site", pos=[-0.04, 0.0, self.handle_z], size=[0.004] * 3)

    def bind(self, model: mujoco.MjModel) -> None:
        self._cab = model.body("cabinet").id
        jid = model.joint("drawer_joint").id
        self._qadr = int(model.jnt_qposadr[jid])
        self._dadr = int(model.jnt_dofadr[jid])
        self._handle = model.site("handle_site").id

    def reset(self, model: mujoco.MjModel, data: mujoco.MjData, rng: np.random.Generator) -> None:
        model.body_pos[self._cab] = [
            rng.uniform(*self.x_range),
            rng.uniform(*self.y_range),
            scene.TABLE_HEIGHT,
        ]
        data.qpos[self._qadr] = rng.uniform(0.0, 0.02)
        data.qvel[self._dadr] = 0.0

    def opening(self, data: mujoco.MjData) -> float:
        return float(data.qpos[self._qadr])

    def success(self, model: mujoco.MjModel, data: mujoco.MjData) -> bool:
        return self.opening(data) >= self.open_success

    def object_state(self, model: mujoco.MjModel, data: mujoco.MjData) -> np.ndarray:
        return np.concatenate([data.site_xpos[self._handle], [self.opening(data)]])

    def object_state_bounds(
        self, workspace_low: np.ndarray, workspace_high: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        return _concat_bounds((workspace_low, workspace_high), (np.zeros(1), [self.travel]))

    def privileged(self, model: mujoco.MjModel, data: mujoco.MjData) -> dict[str, Any]:
        return {
            "focus_pos": data.site_xpos[self._handle].copy(),
            "handle_pos": data.site_xpos[self._handle].copy(),
            "drawer_opening": self.opening(data),
            "open_target": self.open_success,
        }


TASKS: dict[str, type[Task]] = {t.name: t for t in (PickCube, InsertPeg, OpenDrawer)}
