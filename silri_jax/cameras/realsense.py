"""Intel RealSense colour streams through ``pyrealsense2`` (optional: ``pip install
pyrealsense2``; importing this module works without it, ``start`` says how to install it).

The camera is chosen by serial number (``device``; empty: the only one connected). A
RealSense device has several sensors (on a D400: "Stereo Module" first, "RGB Camera"
second), and setting exposure on ``query_sensors()[0]`` silently changes the depth
sensor's exposure, not the colour picture's, a known trap in HIL-SERL's camera code. Here
the colour sensor is picked BY NAME ("RGB Camera"), and a device without one is an error
listing the sensors it has.

``exposure``: -1 turns the RGB sensor's auto exposure on; otherwise auto exposure is
turned off and the RGB sensor's ``exposure`` option is set to this value, in that
option's own units (its range is checked, and an out-of-range value is an error naming
it; ``rs-enumerate-devices -o`` shows it).

Timestamps come from the frame metadata: ``get_timestamp()`` (ms) in the domain
``get_frame_timestamp_domain()`` reports: ``"global"`` (global time: the device clock
mapped onto the host's wall clock, the default on D400), ``"device"`` (hardware clock) or
``"system"`` (the host's wall clock when it received the frame). The frame counter is the device's.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from silri_jax.cameras.base import (
    DOMAIN_DEVICE,
    DOMAIN_GLOBAL,
    DOMAIN_SYSTEM,
    REALSENSE_HINT,
    Camera,
    CameraError,
    Clock,
    Frame,
)

COLOR_SENSOR_NAME = "RGB Camera"


def import_rs() -> Any:
    """``pyrealsense2``, or a ``CameraError`` saying how to install it."""
    try:
        import pyrealsense2 as rs
    except ImportError as e:
        raise CameraError("the realsense camera backend needs pyrealsense2: pip install "
                          "pyrealsense2 (and the udev rules of librealsense for non-root "
                          "access)") from e
    return rs


def connected_devices(rs: Any) -> list[dict[str, str]]:
    """``[{"serial", "name", "firmware", "usb"}]`` of the RealSense devices connected."""
    out = []
    for dev in rs.context().query_devices():
        def info(key: str, dev: Any = dev) -> str:
            field = getattr(rs.camera_info, key)
            return str(dev.get_info(field)) if dev.supports(field) else ""

        out.append({"serial": info("serial_number"), "name": info("name"),
                    "firmware": info("firmware_version"),
                    "usb": info("usb_type_descriptor")})
    return out


def color_sensor(device: Any, rs: Any) -> Any:
    """The device's sensor named "RGB Camera" (never picked by index)."""
    names = []
    for sensor in device.query_sensors():
        name = str(sensor.get_info(rs.camera_info.name))
        if name == COLOR_SENSOR_NAME:
            return sensor
        names.append(name)
    raise CameraError(f"RealSense device has no sensor named {COLOR_SENSOR_NAME!r} (it has "
                      f"{names}); use a model with a colour camera")


class RealSenseCamera(Camera):
    """The colour stream (RGB8, ``width x height`` at ``fps``) of one RealSense camera."""

    def __init__(self, name: str, serial: str = "", *, width: int = 640, height: int = 480,
                 fps: float = 30.0, exposure: float = -1.0, latency_s: float = 0.0,
                 start_timeout_s: float = 5.0, clock: Clock = time.monotonic) -> None:
        super().__init__(name, latency_s=latency_s, start_timeout_s=start_timeout_s,
                         clock=clock)
        self.serial = str(serial).strip()
        self.width, self.height = int(width) or 640, int(height) or 480
        self.fps = round(fps) or 30
        self.exposure = float(exposure)
        self._rs: Any = None
        self._pipeline: Any = None

    def describe(self) -> str:
        return f"RealSense serial {self.serial}" if self.serial else "RealSense (any serial)"

    def _unreachable_hint(self) -> str:
        return REALSENSE_HINT

    def _open(self) -> None:
        rs = self._rs = import_rs()
        found = connected_devices(rs)
        serials = [d["serial"] for d in found]
        if not self.serial:
            if len(serials) != 1:
                raise CameraError(
                    f"camera {self.name!r}: no RealSense serial given and "
                    f"{len(serials)} connected ({serials}); set the camera's device to one "
                    f"serial; {REALSENSE_HINT}")
            self.serial = serials[0]
        elif self.serial not in serials:
            raise CameraError(f"camera {self.name!r}: RealSense serial {self.serial} is not "
                              f"connected (connected: {serials or 'none'}); {REALSENSE_HINT}")
        config = rs.config()
        config.enable_device(self.serial)
        config.enable_stream(rs.stream.color, self.width, self.height, rs.format.rgb8,
                             self.fps)
        pipeline = rs.pipeline()
        try:
            profile = pipeline.start(config)
        except RuntimeError as e:
            raise CameraError(f"camera {self.name!r}: {self.describe()} cannot stream colour "
                              f"{self.width}x{self.height} at {self.fps} fps: {e}; check "
                              f"the mode is supported (rs-enumerate-devices) and "
                              f"{REALSENSE_HINT}") from e
        self._pipeline = pipeline
        try:
            self._set_exposure(color_sensor(profile.get_device(), rs), rs)
        except BaseException:
            self._release()
            raise

    def _set_exposure(self, sensor: Any, rs: Any) -> None:
        if self.exposure < 0:
            sensor.set_option(rs.option.enable_auto_exposure, 1)
            return
        rng = sensor.get_option_range(rs.option.exposure)
        if not rng.min <= self.exposure <= rng.max:
            raise CameraError(f"camera {self.name!r}: exposure {self.exposure:g} is outside "
                              f"the RGB Camera's range [{rng.min:g}, {rng.max:g}] "
                              f"({self.describe()})")
        sensor.set_option(rs.option.enable_auto_exposure, 0)
        sensor.set_option(rs.option.exposure, self.exposure)

    def _grab(self, timeout: float) -> Frame | None:
        rs = self._rs
        ok, frames = self._pipeline.try_wait_for_frames(max(1, int(timeout * 1e3)))
        if not ok:
            return None
        color = frames.get_color_frame()
        if not color:
            return None
        t_host = self.clock()
        image = np.array(np.asanyarray(color.get_data()), np.uint8, copy=True)
        domain = {rs.timestamp_domain.global_time: DOMAIN_GLOBAL,
                  rs.timestamp_domain.hardware_clock: DOMAIN_DEVICE,
                  rs.timestamp_domain.system_time: DOMAIN_SYSTEM}.get(
            color.get_frame_timestamp_domain(), DOMAIN_DEVICE)
        return Frame(image, float(color.get_timestamp()) / 1e3, domain, t_host,
                     int(color.get_frame_number()))

    def _release(self) -> None:
        pipeline, self._pipeline = self._pipeline, None
        if pipeline is not None:
            try:
                pipeline.stop()
            except RuntimeError:
                pass
