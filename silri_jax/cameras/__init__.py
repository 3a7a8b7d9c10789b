"""Cameras for real robots (and their simulated rehearsal) behind one ``Camera`` interface:
OpenCV (V4L2/USB cameras, video files), Intel RealSense, MuJoCo-rendered and synthetic.

    from silri_jax.cameras import CameraRig, camera_config, cameras_section

    section = cameras_section(front=camera_config(device="/dev/video0", crop=(0, 80, 480, 480)),
                              wrist=camera_config(backend="realsense", device="123456789"))
    with CameraRig.from_config(section) as rig:
        images = rig.observe()            # {"images/front": uint8 128x128x3, ...}; stale -> error

Each camera keeps only its newest frame on its own reader thread; ``read(max_age_s)`` and
``CameraRig.observe`` refuse frames older than the limit, naming the camera.
``python -m silri_jax.cameras list`` finds devices, ``... crop`` helps pick crops; the
layer is described in ``docs/cameras.md``.
"""

from silri_jax.cameras.base import Camera, CameraError, Frame, StaleFrameError
from silri_jax.cameras.config import camera_config, cameras_section, make_camera
from silri_jax.cameras.fake import FakeCamera, FakeClock
from silri_jax.cameras.pipeline import CameraRig, crop_resize, parse_crop

__all__ = [
    "Camera",
    "CameraError",
    "CameraRig",
    "FakeCamera",
    "FakeClock",
    "Frame",
    "StaleFrameError",
    "camera_config",
    "cameras_section",
    "crop_resize",
    "make_camera",
    "parse_crop",
]
