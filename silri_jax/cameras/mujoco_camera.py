"""A named camera of a MuJoCo model behind the ``Camera`` interface.

The simulation rehearsal of a real session runs the same camera rig, crops and staleness
checks as the robot, with pictures rendered from the simulated scene instead of read from
USB. ``fps=0`` renders on demand (every ``read`` renders the current ``data``, in the
caller's thread: deterministic, what a synchronous loop wants); ``fps>0`` renders on the
reader thread at that rate (wall clock), as a real camera delivers, so a rehearsal sees
the same frame ages a robot would.

Frames carry ``t_device = data.time`` (domain ``"sim"``). Rendering reads ``data`` while
the simulation may be stepping it on another thread; pass the ``lock`` the stepping code
holds around ``mj_step`` so a picture never shows half a step. The OpenGL context is made
and used in the thread that renders (EGL and OSMesa contexts belong to one thread);
``silri_jax.gl_backend`` picks a headless backend.
"""

from __future__ import annotations

import contextlib
import threading
import time
from typing import Any

from silri_jax.cameras.base import DOMAIN_SIM, Camera, CameraError, Clock, Frame


class MujocoCamera(Camera):
    """Renders ``camera`` of ``model`` / ``data`` at ``height x width``."""

    def __init__(self, name: str, model: Any, data: Any, camera: str, *, width: int = 128,
                 height: int = 128, fps: float = 0.0, lock: threading.Lock | None = None,
                 latency_s: float = 0.0, start_timeout_s: float = 5.0,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(name, latency_s=latency_s, start_timeout_s=start_timeout_s,
                         clock=clock)
        if model is None or data is None:
            raise CameraError(f"camera {name!r}: the mujoco backend needs the simulation's "
                              "model and data (make_camera(..., model=..., data=...))")
        self.model, self.data = model, data
        self.camera = str(camera) or str(name)
        self.width, self.height = int(width) or 128, int(height) or 128
        self.fps = float(fps)
        self.on_demand = self.fps <= 0
        self._lock = lock
        self._renderer: Any = None
        self._seq = 0
        self._next_due = 0.0

    def describe(self) -> str:
        mode = "on demand" if self.on_demand else f"at {self.fps:g} fps"
        return f"MuJoCo camera {self.camera!r}, {self.width}x{self.height} {mode}"

    def _unreachable_hint(self) -> str:
        return ("check that an offscreen OpenGL backend works (MUJOCO_GL=egl or osmesa; "
                "install libegl1 or libosmesa6)")

    def _open(self) -> None:
        import mujoco

        if mujoco.mj_name2id(self.model, mujoco.mjtObj.mjOBJ_CAMERA, self.camera) < 0:
            names = [self.model.camera(i).name for i in range(self.model.ncam)]
            raise CameraError(f"camera {self.name!r}: the MuJoCo model has no camera "
                              f"{self.camera!r} (it has {names})")
        self._seq = 0
        self._next_due = time.monotonic()

    def _open_in_thread(self) -> None:
        from silri_jax.envs.sim.render import CameraRenderer, RenderUnavailableError

        try:
            self._renderer = CameraRenderer(self.model, [self.camera], self.height,
                                            self.width)
        except RenderUnavailableError as e:
            raise CameraError(f"camera {self.name!r} ({self.describe()}): {e}") from e

    def _grab(self, timeout: float) -> Frame | None:
        if not self.on_demand:
            wait = self._next_due - time.monotonic()
            if wait > timeout:
                self._stop.wait(timeout)
                return None
            if wait > 0:
                self._stop.wait(wait)
            period = 1.0 / self.fps
            self._next_due = max(self._next_due + period, time.monotonic() - period)
        with self._lock if self._lock is not None else contextlib.nullcontext():
            image = self._renderer.render(self.data)[self.camera]
            t_sim = float(self.data.time)
        self._seq += 1
        return Frame(image, t_sim, DOMAIN_SIM, self.clock(), self._seq - 1)

    def _close_in_thread(self) -> None:
        renderer, self._renderer = self._renderer, None
        if renderer is not None:
            renderer.close()
