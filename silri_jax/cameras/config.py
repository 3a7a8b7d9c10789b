"""The config of one camera, and ``make_camera`` that builds it.

Each field's comment (the line above it) is its ``--help`` text (``silri_jax/cli.py``
reads comments this way), so every default is documented once, here. An app keeps its
cameras in a section of named entries, ``config.cameras.<name> = camera_config(...)``
(``cameras_section`` builds one), and overrides a field with
``--config.cameras.<name>.<field>=<value>``, e.g. ``--config.cameras.wrist.crop=0,80,480,480``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping
from typing import Any

import ml_collections

from silri_jax.cameras.base import Camera

CONFIG_FILE = pathlib.Path(__file__).resolve()
BACKENDS = ("opencv", "realsense", "fake", "mujoco")


def camera_config(**overrides: Any) -> ml_collections.ConfigDict:
    """One camera's settings with their documented defaults, then ``overrides``."""
    c = _camera()
    for key, value in overrides.items():
        if key not in c:
            raise KeyError(f"camera_config: no field {key!r} (fields: {sorted(c)})")
        c[key] = value
    return c


def cameras_section(**cameras: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """A ``cameras`` section: ``cameras_section(front=camera_config(device="0"), ...)``."""
    section = ml_collections.ConfigDict()
    for name, cfg in cameras.items():
        section[name] = cfg
    return section


def _camera() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # where frames come from: opencv (V4L2/USB cameras and video files), realsense (Intel
    # RealSense colour stream, needs pyrealsense2), fake (synthetic frames, for tests and
    # dry runs) or mujoco (a camera of the simulated scene, for rehearsals). Default opencv
    c.backend = "opencv"
    # which camera: opencv: V4L2 index ("0"), device path (/dev/video2, or a stable
    # /dev/v4l/by-id/... path) or video file; realsense: serial number ("" = the only one
    # connected); mujoco: the camera's name in the model ("" = this camera's name); fake:
    # a label. Default "0"
    c.device = "0"
    # frame width to request, pixels; 0 = the device's default (realsense: 640). Default 640
    c.width = 640
    # frame height to request, pixels; 0 = the device's default (realsense: 480). Default 480
    c.height = 480
    # frames per second to request (video files: playback rate, 0 = the file's own;
    # mujoco: render rate on a thread, 0 = render on demand at each read). Default 30
    c.fps = 30.0
    # exposure in the device's own units (opencv/V4L2: 100 microsecond units; realsense:
    # the RGB Camera's exposure option); -1 = auto exposure. Default -1
    c.exposure = -1.0
    # crop applied before resizing: top, left, height, width in pixels of the full frame
    # (find one with `python -m silri_jax.cameras crop`); empty = the whole frame.
    # Default empty
    c.crop = ()
    # side of the square image the policy sees after crop and resize, pixels. Default 128
    c.size = 128
    # oldest frame the control loop accepts, seconds: an older one (a camera that
    # stopped delivering) stops the step with an error naming the camera. Default 0.2
    c.max_age_s = 0.2
    # the camera's own expected delay from exposure to the host receiving the frame,
    # seconds (USB webcams about 0.05-0.1, RealSense about 0.03-0.06; measure it: opencv
    # frames in domain "monotonic" show it as t_host - t_device); added to every frame's
    # age, so max_age_s bounds how old the scene is. Default 0
    c.latency_s = 0.0
    # seconds start() waits for the first frame before reporting the camera unreachable.
    # Default 5
    c.start_timeout_s = 5.0
    # opencv video files: start again from the beginning at the end (otherwise the end
    # of the file is an error). Default False
    c.loop = False
    return c


def make_camera(name: str, cfg: Mapping[str, Any], **kwargs: Any) -> Camera:
    """Builds (does not start) camera ``name`` from its ``camera_config``.

    ``kwargs`` go to the backend: ``model`` and ``data`` (and an optional ``lock``) for
    mujoco; ``clock`` for any; fake-camera controls (``stalled``, ``reachable``, ``seed``)
    for fake. A bad value is a ``ValueError`` naming ``cameras.<name>.<field>``.
    """
    backend = str(cfg["backend"])
    field = f"cameras.{name}"
    if backend not in BACKENDS:
        raise ValueError(f"{field}.backend={backend!r}: unknown backend; one of "
                         f"{', '.join(BACKENDS)}")
    for key in ("width", "height", "fps", "latency_s"):
        if float(cfg[key]) < 0:
            raise ValueError(f"{field}.{key}={cfg[key]}: must be >= 0")
    if float(cfg["start_timeout_s"]) <= 0:
        raise ValueError(f"{field}.start_timeout_s={cfg['start_timeout_s']}: must be > 0")
    common = {"latency_s": float(cfg["latency_s"]),
              "start_timeout_s": float(cfg["start_timeout_s"])}
    if "clock" in kwargs:
        common["clock"] = kwargs.pop("clock")
    width, height, fps = int(cfg["width"]), int(cfg["height"]), float(cfg["fps"])
    if backend == "opencv":
        from silri_jax.cameras.opencv import OpenCVCamera

        return OpenCVCamera(name, str(cfg["device"]), width=width, height=height, fps=fps,
                            exposure=float(cfg["exposure"]), loop=bool(cfg["loop"]),
                            **common, **kwargs)
    if backend == "realsense":
        from silri_jax.cameras.realsense import RealSenseCamera

        return RealSenseCamera(name, str(cfg["device"]), width=width, height=height,
                               fps=fps, exposure=float(cfg["exposure"]), **common, **kwargs)
    if backend == "fake":
        from silri_jax.cameras.fake import FakeCamera

        if fps <= 0:
            raise ValueError(f"{field}.fps={cfg['fps']}: the fake camera needs fps > 0")
        return FakeCamera(name, width=width or 64, height=height or 48, fps=fps,
                          device=str(cfg["device"]), **common, **kwargs)
    from silri_jax.cameras.mujoco_camera import MujocoCamera

    model, data = kwargs.pop("model", None), kwargs.pop("data", None)
    return MujocoCamera(name, model, data, str(cfg["device"]) or name, width=width,
                        height=height, fps=fps, **common, **kwargs)
