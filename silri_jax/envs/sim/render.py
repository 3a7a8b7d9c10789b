"""Cheap headless camera rendering: one offscreen context, one buffer per camera.

Rendering cost in software GL is dominated by multisampling, shadows and reflections; the
scene's visual options turn those off (see panda.xml), and here one ``mujoco.Renderer``
renders every camera into preallocated arrays so a frame costs about a millisecond.
"""

from __future__ import annotations

from collections.abc import Sequence

import mujoco
import numpy as np

from silri_jax import gl_backend as _gl  # selects EGL or OSMesa before first use


class RenderUnavailableError(RuntimeError):
    """No OpenGL backend could create an offscreen context on this machine."""


class CameraRenderer:
    """Renders the named cameras of ``model`` at ``height x width`` into uint8 frames."""

    def __init__(
        self, model: mujoco.MjModel, cameras: Sequence[str], height: int, width: int
    ) -> None:
        for cam in cameras:
            if mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_CAMERA, cam) < 0:
                raise ValueError(f"camera {cam!r} is not in the model")
        if height > model.vis.global_.offheight or width > model.vis.global_.offwidth:
            model.vis.global_.offheight = max(height, model.vis.global_.offheight)
            model.vis.global_.offwidth = max(width, model.vis.global_.offwidth)
        try:
            self._renderer = mujoco.Renderer(model, height, width)
        except Exception as e:  # the GL stack raises a variety of types
            raise RenderUnavailableError(
                f"cannot open an offscreen OpenGL context (MUJOCO_GL="
                f"{_gl.BACKEND!r}): {e}. Install libegl1 or libosmesa6, or set MUJOCO_GL."
            ) from e
        self.cameras = tuple(cameras)
        self._option = mujoco.MjvOption()
        self._buffers = {c: np.zeros((height, width, 3), np.uint8) for c in self.cameras}

    def render(self, data: mujoco.MjData) -> dict[str, np.ndarray]:
        """Fresh frames (copies, safe to keep) for every camera."""
        out = {}
        for cam in self.cameras:
            self._renderer.update_scene(data, camera=cam, scene_option=self._option)
            self._renderer.render(out=self._buffers[cam])
            out[cam] = self._buffers[cam].copy()
        return out

    def close(self) -> None:
        self._renderer.close()
