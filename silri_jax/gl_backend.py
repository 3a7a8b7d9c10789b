"""Chooses a headless OpenGL backend for MuJoCo before ``mujoco`` is first imported.

MuJoCo reads ``MUJOCO_GL`` once, at import, so ``silri_jax`` imports this module first.
On a machine without a display the default (GLFW) cannot open a context, so unless the
user chose a backend we pick EGL when its library is present and OSMesa otherwise.
Importing this module is enough.
"""

from __future__ import annotations

import ctypes.util
import os
import sys


def _pick_backend() -> str | None:
    if os.environ.get("MUJOCO_GL"):
        return os.environ["MUJOCO_GL"]
    if os.environ.get("DISPLAY") or sys.platform != "linux":
        return None
    if ctypes.util.find_library("EGL"):
        return "egl"
    if ctypes.util.find_library("OSMesa"):
        return "osmesa"
    return None


BACKEND = _pick_backend()
if BACKEND and "mujoco" not in sys.modules and not os.environ.get("MUJOCO_GL"):
    os.environ["MUJOCO_GL"] = BACKEND
    os.environ.setdefault("PYOPENGL_PLATFORM", BACKEND)
