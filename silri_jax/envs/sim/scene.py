"""Building blocks of the simulated scenes: the Panda, a table, lights, inverse kinematics.

Scenes are assembled with ``mujoco.MjSpec`` from the one Panda asset plus a few primitives
per task, so every task shares the same robot and its rendering stays cheap.
"""

from __future__ import annotations

import pathlib
from collections.abc import Sequence

import mujoco
import numpy as np

from silri_jax.envs import rotations

ASSETS = pathlib.Path(__file__).parent / "assets"
PANDA_XML = ASSETS / "panda.xml"

# Collision bits; see the comment at the top of panda.xml.
OBJECT_CONTYPE, OBJECT_CONAFFINITY = 2, 3
STATIC_CONTYPE, STATIC_CONAFFINITY = 2, 1
TABLE_HEIGHT = 0.0  # the robot base and the table top share z = 0

# The gripper pointing straight down with the fingers closing along the base y axis.
DOWN_QUAT = np.array([0.0, 1.0, 0.0, 0.0])

BOX = mujoco.mjtGeom.mjGEOM_BOX
CAPSULE = mujoco.mjtGeom.mjGEOM_CAPSULE
CYLINDER = mujoco.mjtGeom.mjGEOM_CYLINDER


def load_panda_spec() -> tuple[mujoco.MjSpec, np.ndarray]:
    """The Panda spec without its keyframe, and the keyframe's qpos (arm + fingers).

    The keyframe is dropped because every task adds joints and a keyframe must cover all
    of them; tasks set the arm's home configuration by joint name instead.
    """
    spec = mujoco.MjSpec.from_file(str(PANDA_XML))
    home = np.array(spec.keys[0].qpos, dtype=np.float64)
    spec.delete(spec.keys[0])
    return spec, home


def add_table(spec: mujoco.MjSpec) -> None:
    """A table top at z = 0 in front of the robot, a floor below, one shadowless light."""
    spec.worldbody.add_geom(
        name="table",
        type=BOX,
        size=[0.45, 0.6, 0.02],
        pos=[0.55, 0.0, TABLE_HEIGHT - 0.02],
        rgba=[0.55, 0.45, 0.35, 1.0],
        contype=STATIC_CONTYPE,
        conaffinity=STATIC_CONAFFINITY,
        condim=3,
        friction=[1.0, 0.005, 0.0001],
    )
    light = spec.worldbody.add_light(name="top", pos=[0.5, 0.0, 1.5], dir=[0, 0, -1])
    light.castshadow = False
    light.diffuse = [0.5, 0.5, 0.5]


def add_box(
    body: mujoco.MjsBody,
    name: str,
    half: Sequence[float],
    pos: Sequence[float] = (0.0, 0.0, 0.0),
    rgba: Sequence[float] = (0.8, 0.2, 0.2, 1.0),
    dynamic: bool = True,
    collide: bool = True,
    mass: float | None = None,
) -> mujoco.MjsGeom:
    """A box geom with the collision bits of a task object (dynamic) or of static scenery."""
    g = body.add_geom(name=name, type=BOX, size=list(half), pos=list(pos), rgba=list(rgba))
    if not collide:
        g.contype, g.conaffinity = 0, 0
    elif dynamic:
        g.contype, g.conaffinity = OBJECT_CONTYPE, OBJECT_CONAFFINITY
    else:
        g.contype, g.conaffinity = STATIC_CONTYPE, STATIC_CONAFFINITY
    g.condim = 4 if dynamic else 3
    g.friction = [1.2, 0.01, 0.0005]
    g.solref = [0.002, 1.0]
    g.solimp = [0.95, 0.99, 0.001, 0.5, 2.0]
    if mass is not None:
        g.mass = mass
    return g


def solve_ik(
    model: mujoco.MjModel,
    data: mujoco.MjData,
    qadr: np.ndarray,
    dofadr: np.ndarray,
    pos: np.ndarray,
    quat: np.ndarray,
    site: str = "ee_site",
    iters: int = 200,
) -> np.ndarray:
    """Damped least-squares IK for the arm joints, starting from ``data.qpos``.

    Used once per scene to find a start configuration near the workspace, so resets do not
    spend simulated seconds flying the arm there from Franka's ready pose.
    """
    sid = model.site(site).id
    jacp, jacr = np.zeros((3, model.nv)), np.zeros((3, model.nv))
    lo, hi = model.jnt_range[[model.joint(f"joint{i}").id for i in range(1, 8)]].T
    for _ in range(iters):
        mujoco.mj_kinematics(model, data)
        mujoco.mj_comPos(model, data)
        cur = rotations.mat_to_quat(data.site_xmat[sid].reshape(3, 3))
        err = np.concatenate([pos - data.site_xpos[sid], rotations.quat_error(quat, cur)])
        if np.linalg.norm(err) < 1e-6:
            break
        mujoco.mj_jacSite(model, data, jacp, jacr, sid)
        jac = np.vstack([jacp[:, dofadr], jacr[:, dofadr]])
        dq = jac.T @ np.linalg.solve(jac @ jac.T + 1e-4 * np.eye(6), err)
        data.qpos[qadr] = np.clip(data.qpos[qadr] + dq, lo, hi)
    return data.qpos[qadr].copy()
