"""USB / V4L2 cameras and video files through OpenCV's ``cv2.VideoCapture``.

``device`` is a V4L2 index (``0`` or ``"0"``), a device path (``/dev/video2``,
``/dev/v4l/by-id/...``, stable across reboots) or a video file. OpenCV is optional
(``pip install -e ".[cameras]"`` installs opencv-python-headless); importing this module
works without it and ``start`` says how to install it.

Timestamps: for a device, OpenCV's V4L2 backend reports the kernel's buffer timestamp as
``CAP_PROP_POS_MSEC``; that is CLOCK_MONOTONIC, the clock of ``time.monotonic``, so
frames carry domain ``"monotonic"`` and ``t_host - t_device`` is the capture-to-host
delay (a good way to choose ``latency_s``). A backend that reports no stamp gives domain
``"host"`` (``t_device = t_host``). For a file, ``t_device`` is the position in the file
(domain ``"file"``), continuing across loops.

The reader thread drains the driver's buffers continuously (and asks for one buffer,
where the backend supports it), so the newest frame is the one the camera just sent,
not one that waited in a queue of four.

Settings are requested, then read back: a device that ignores one (many webcams ignore
fps or manual exposure) keeps running, with a warning naming the setting and what the
device reports. ``exposure`` is the device's own ``CAP_PROP_EXPOSURE`` value (V4L2:
exposure_time_absolute, in units of 100 microseconds); -1 leaves auto exposure on.
"""

from __future__ import annotations

import logging
import os
import pathlib
import time
from typing import Any

import numpy as np

from silri_jax.cameras.base import (
    DOMAIN_FILE,
    DOMAIN_HOST,
    DOMAIN_MONOTONIC,
    V4L2_HINT,
    Camera,
    CameraError,
    Clock,
    Frame,
)

log = logging.getLogger(__name__)

# V4L2_CID_EXPOSURE_AUTO values OpenCV's V4L2 backend passes through
_V4L2_EXPOSURE_MANUAL = 1
_V4L2_EXPOSURE_APERTURE_PRIORITY = 3


def import_cv2() -> Any:
    """``cv2``, or a ``CameraError`` saying how to install it."""
    try:
        import cv2
    except ImportError as e:
        raise CameraError("the opencv camera backend needs OpenCV: pip install -e "
                          "\".[cameras]\" (opencv-python-headless)") from e
    return cv2


def parse_device(device: int | str) -> int | str:
    """A V4L2 index for ``0`` / ``"0"``, else the path as given."""
    if isinstance(device, int):
        return device
    text = str(device).strip()
    if not text:
        raise ValueError("opencv camera: device is empty; give a V4L2 index (0), a device "
                         "path (/dev/video0) or a video file")
    return int(text) if text.isdigit() else text


def is_video_file(device: int | str) -> bool:
    """True for a path to a regular file (a recorded video), not a device node."""
    return isinstance(device, str) and pathlib.Path(device).is_file()


class OpenCVCamera(Camera):
    """A V4L2/USB camera or a video file read by OpenCV on the reader thread.

    ``width``, ``height``, ``fps``: requested (0 keeps the device's default); for a file,
    ``fps`` paces playback (0: the file's own rate). ``loop``: replay a file from the start
    when it ends (otherwise the end of the file is an error on the next ``read``).
    """

    def __init__(self, name: str, device: int | str, *, width: int = 0, height: int = 0,
                 fps: float = 0.0, exposure: float = -1.0, loop: bool = False,
                 latency_s: float = 0.0, start_timeout_s: float = 5.0,
                 clock: Clock = time.monotonic) -> None:
        super().__init__(name, latency_s=latency_s, start_timeout_s=start_timeout_s,
                         clock=clock)
        self.device = parse_device(device)
        self.is_file = is_video_file(self.device)
        self.width, self.height, self.fps = int(width), int(height), float(fps)
        self.exposure = float(exposure)
        self.loop = bool(loop)
        self.applied: dict[str, float] = {}
        self._cap: Any = None
        self._cv2: Any = None
        self._seq = 0
        self._file_offset_s = 0.0  # added to file positions after each loop
        self._last_pos_s = 0.0
        self._period_s = 0.0
        self._next_due = 0.0

    def describe(self) -> str:
        if self.is_file:
            return f"video file {self.device}"
        if isinstance(self.device, int):
            return f"V4L2 device index {self.device} (/dev/video{self.device})"
        return f"V4L2 device {self.device}"

    def _unreachable_hint(self) -> str:
        if self.is_file:
            return "check that OpenCV can decode the file (its codec, or an ffmpeg build)"
        return V4L2_HINT

    # ------------------------------------------------------------------ open
    def _check_node(self) -> None:
        """Clear errors for a missing or unreadable device node, before OpenCV's silence."""
        path = (f"/dev/video{self.device}" if isinstance(self.device, int)
                else str(self.device))
        if isinstance(self.device, str) and not path.startswith("/dev/"):
            if not pathlib.Path(path).exists():
                raise CameraError(f"camera {self.name!r}: no such video file or device "
                                  f"{path!r}; for a device give its index or /dev path, "
                                  f"and {V4L2_HINT}")
            return
        if not os.path.exists(path):
            raise CameraError(f"camera {self.name!r}: no such device {path}; {V4L2_HINT}")
        if not os.access(path, os.R_OK | os.W_OK):
            raise CameraError(f"camera {self.name!r}: no permission to open {path}; add "
                              "your user to its group (video): `sudo usermod -aG video "
                              "$USER`, then log in again")

    def _open(self) -> None:
        cv2 = self._cv2 = import_cv2()
        self._check_node()
        if self.is_file:
            cap = cv2.VideoCapture(str(self.device))
        else:
            api = getattr(cv2, "CAP_V4L2", 0) if os.name == "posix" else 0
            cap = cv2.VideoCapture(self.device, api)
        if not cap.isOpened():
            cap.release()
            raise CameraError(f"camera {self.name!r}: OpenCV cannot open {self.describe()}; "
                              f"{self._unreachable_hint()}")
        self._cap = cap
        self._seq = 0
        self._file_offset_s = self._last_pos_s = 0.0
        if self.is_file:
            rate = self.fps or float(cap.get(cv2.CAP_PROP_FPS) or 0.0) or 30.0
            self._period_s = 1.0 / rate
            self._next_due = time.monotonic()
        else:
            self._configure(cap)

    def _configure(self, cap: Any) -> None:
        cv2 = self._cv2
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        wanted: list[tuple[str, int, float]] = []
        if self.width > 0:
            wanted.append(("width", cv2.CAP_PROP_FRAME_WIDTH, self.width))
        if self.height > 0:
            wanted.append(("height", cv2.CAP_PROP_FRAME_HEIGHT, self.height))
        if self.fps > 0:
            wanted.append(("fps", cv2.CAP_PROP_FPS, self.fps))
        if self.exposure < 0:
            wanted.append(("auto_exposure", cv2.CAP_PROP_AUTO_EXPOSURE,
                           _V4L2_EXPOSURE_APERTURE_PRIORITY))
        else:
            wanted.append(("auto_exposure", cv2.CAP_PROP_AUTO_EXPOSURE,
                           _V4L2_EXPOSURE_MANUAL))
            wanted.append(("exposure", cv2.CAP_PROP_EXPOSURE, self.exposure))
        for _label, prop, value in wanted:
            cap.set(prop, value)
        for label, prop, value in wanted:
            got = float(cap.get(prop))
            self.applied[label] = got
            if abs(got - value) > 1e-3 * max(1.0, abs(value)):
                log.warning("camera %r (%s): asked for %s=%g, the device reports %g",
                            self.name, self.describe(), label, value, got)

    # ------------------------------------------------------------------ frames
    def _grab(self, timeout: float) -> Frame | None:
        cv2 = self._cv2
        if self.is_file:
            wait = self._next_due - time.monotonic()
            if wait > timeout:
                self._stop.wait(timeout)
                return None
            if wait > 0:
                self._stop.wait(wait)
            self._next_due = max(self._next_due + self._period_s,
                                 time.monotonic() - self._period_s)
        ok, bgr = self._cap.read()
        if not ok:
            if self.is_file and self.loop:
                self._file_offset_s += self._last_pos_s + self._period_s
                self._cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, bgr = self._cap.read()
            if not ok:
                if self.is_file:
                    raise CameraError(f"camera {self.name!r}: reached the end of "
                                      f"{self.describe()} (set loop to replay it)")
                raise CameraError(f"camera {self.name!r}: {self.describe()} stopped "
                                  f"delivering frames (read failed); {V4L2_HINT}")
        t_host = self.clock()
        pos_s = float(self._cap.get(cv2.CAP_PROP_POS_MSEC)) / 1e3
        if self.is_file:
            self._last_pos_s = pos_s
            t_device, domain = self._file_offset_s + pos_s, DOMAIN_FILE
        elif pos_s > 0:
            t_device, domain = pos_s, DOMAIN_MONOTONIC
        else:
            t_device, domain = t_host, DOMAIN_HOST
        self._seq += 1
        rgb = np.ascontiguousarray(bgr[:, :, ::-1]) if bgr.ndim == 3 else np.repeat(
            bgr[:, :, None], 3, axis=2)
        return Frame(rgb, t_device, domain, t_host, self._seq - 1)

    def _release(self) -> None:
        cap, self._cap = self._cap, None
        if cap is not None:
            cap.release()
