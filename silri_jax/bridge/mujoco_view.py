"""The compiled bridge's window on a ``mujoco.MjModel``/``MjData`` pair, from the installed
mujoco bindings.

The bridge is compiled without MuJoCo's headers and links no libmujoco, so one build
works with any MuJoCo in the supported range (``SUPPORTED_MUJOCO``), whatever the struct
layout of that release. What the 1 kHz loop needs is handed over here as addresses: the
arrays it reads and writes (numpy views of mjData's buffers, which never move), the
indices the joint, site and actuator names resolve to, and three C functions (mj_step1,
mj_step2, mj_jacSite) of the very libmujoco the ``mujoco`` package loaded.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os
from collections.abc import Sequence
from typing import Any

import mujoco
import numpy as np

from silri_jax.cpp_bridge import _bridge

# The releases this module is tested with (CI: the newest allowed by setup.py, and 3.8.x
# beside gym-hil); the functions it takes have kept their signatures across them.
SUPPORTED_MUJOCO = ((3, 8), (4, 0))
FUNCTIONS = ("mj_step1", "mj_step2", "mj_jacSite")


def mujoco_version() -> tuple[int, ...]:
    return tuple(int(x) for x in mujoco.__version__.split(".")[:3] if x.isdigit())


def check_version(version: tuple[int, ...] | None = None) -> None:
    """Refuses a MuJoCo outside the supported range, naming both."""
    v = version or mujoco_version()
    lo, hi = SUPPORTED_MUJOCO
    if not lo <= tuple(v[:2]) <= hi:
        raise RuntimeError(
            f"MuJoCo {'.'.join(map(str, v))} is installed; the bridge supports "
            f"{lo[0]}.{lo[1]} to {hi[0]}.{hi[1]}.x (pip install 'mujoco>={lo[0]}.{lo[1]},"
            f"<{hi[0]}.{hi[1] + 1}')")


@functools.cache
def _library() -> ctypes.CDLL:
    """The libmujoco the ``mujoco`` package loaded (the same file, so the same handle)."""
    here = os.path.dirname(mujoco.__file__)
    found = sorted(glob.glob(os.path.join(here, "libmujoco.so*"))
                   + glob.glob(os.path.join(here, "libmujoco*.dylib"))
                   + glob.glob(os.path.join(here, "mujoco.dll")))
    if not found:
        raise RuntimeError(f"no libmujoco next to the mujoco package in {here}: the bridge "
                           "takes MuJoCo's functions from there")
    return ctypes.CDLL(found[0])


def function_addresses() -> dict[str, int]:
    """``{name: address}`` of the C functions the bridge calls."""
    lib = _library()
    out = {}
    for name in FUNCTIONS:
        try:
            fn = getattr(lib, name)
        except AttributeError as e:
            raise RuntimeError(f"libmujoco {mujoco.__version__} exports no {name}") from e
        out[name] = int(ctypes.cast(fn, ctypes.c_void_p).value or 0)
    return out


def _address(array: np.ndarray, name: str) -> int:
    if array.dtype != np.float64 or not array.flags.c_contiguous:
        raise RuntimeError(f"mjData.{name} is not a contiguous float64 buffer "
                           f"({array.dtype}); the bridge needs MuJoCo with double mjtNum")
    return int(array.ctypes.data)


def make_view(model: Any, data: Any, joints: Sequence[str] | None, site: str,
              gripper_actuator: str) -> Any:
    """A ``_bridge.MujocoView`` of ``model``/``data``; ValueError naming a missing or
    unusable joint, site or integrator."""
    check_version()
    if int(model.opt.integrator) == int(mujoco.mjtIntegrator.mjINT_RK4):
        raise ValueError("mujoco backend: the RK4 integrator is not supported "
                         "(mj_step1/mj_step2 do not split it); use Euler or implicit")
    v = _bridge.MujocoView()
    v.model, v.data = int(model._address), int(data._address)
    fns = function_addresses()
    v.mj_step1, v.mj_step2, v.mj_jacSite = (fns[k] for k in FUNCTIONS)
    v.nq, v.nv, v.nu, v.nsite = int(model.nq), int(model.nv), int(model.nu), int(model.nsite)
    v.qpos, v.qvel = _address(data.qpos, "qpos"), _address(data.qvel, "qvel")
    v.qfrc_bias = _address(data.qfrc_bias, "qfrc_bias")
    v.qfrc_applied = _address(data.qfrc_applied, "qfrc_applied")
    v.ctrl = _address(data.ctrl, "ctrl")
    v.site_xpos = _address(data.site_xpos, "site_xpos")
    v.site_xmat = _address(data.site_xmat, "site_xmat")
    v.timestep = float(model.opt.timestep)
    names = list(joints) if joints is not None else list(_bridge.MujocoConfig().joints)
    hinge_or_slide = (int(mujoco.mjtJoint.mjJNT_HINGE), int(mujoco.mjtJoint.mjJNT_SLIDE))
    qadr, dadr = [], []
    for j in names:
        jid = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_JOINT, j)
        if jid < 0:
            raise ValueError(f"mujoco backend: no joint named '{j}'")
        if int(model.jnt_type[jid]) not in hinge_or_slide:
            raise ValueError(f"mujoco backend: joint '{j}' must be hinge or slide")
        qadr.append(int(model.jnt_qposadr[jid]))
        dadr.append(int(model.jnt_dofadr[jid]))
    v.qpos_adr, v.dof_adr = qadr, dadr
    v.site = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_SITE, site)
    if v.site < 0:
        raise ValueError(f"mujoco backend: no site named '{site}'")
    if gripper_actuator:
        g = mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_ACTUATOR, gripper_actuator)
        if g >= 0:
            v.gripper = int(g)
            v.gripper_lo, v.gripper_hi = (float(x) for x in model.actuator_ctrlrange[g])
    return v
