"""``CameraRig``: every camera of a robot, read together into one observation.

The control loop calls ``observe()`` once per step. It takes each camera's newest frame,
refuses the step when any is too old (one ``StaleFrameError`` listing every stale
camera, so an operator sees at once that both cameras went, not one at a time), crops
and resizes each to the square the policy was trained on (the same ``resize`` the
simulated pixel tasks use, so real and simulated pictures are made alike), and records
each frame's age at observation: ``ages()`` is what the camera-age benchmark reports and
what a session log can keep.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.cameras.base import Camera, CameraError, Frame, StaleFrameError
from silri_jax.envs.wrappers import resize

Crop = tuple[int, int, int, int]


def parse_crop(value: Any, name: str = "") -> Crop | None:
    """``(top, left, height, width)`` from a tuple/list or ``"t,l,h,w"``; empty -> None."""
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip().strip("()[]")
        if not text:
            return None
        parts: Sequence[Any] = [p for p in text.replace(" ", ",").split(",") if p]
    else:
        parts = list(value)
        if not parts:
            return None
    try:
        crop = tuple(int(p) for p in parts)
    except (TypeError, ValueError):
        crop = ()
    if len(crop) != 4 or min(crop) < 0 or crop[2] <= 0 or crop[3] <= 0:
        raise ValueError(f"crop for camera {name!r} must be four integers top, left, height, "
                         f"width (height and width > 0), got {value!r}")
    return crop  # type: ignore[return-value]


def check_crop(name: str, crop: Crop, height: int, width: int) -> None:
    """Raises ``CameraError`` when ``crop`` does not fit a ``height x width`` frame."""
    top, left, h, w = crop
    if top + h > height or left + w > width:
        raise CameraError(f"crop {crop} (top, left, height, width) for camera {name!r} "
                          f"exceeds its {height}x{width} frame; fix cameras.{name}.crop "
                          "(python -m silri_jax.cameras crop shows the frame)")


def crop_resize(image: np.ndarray, crop: Crop | None, size: int) -> np.ndarray:
    """Crops then resizes to ``size x size`` (area average or nearest, as in simulation)."""
    if crop is not None:
        top, left, h, w = crop
        image = image[top: top + h, left: left + w]
    return resize(image, int(size))


class CameraRig:
    """Named cameras read together.

    ``crops``: per-camera ``(top, left, height, width)`` (absent or empty: whole frame).
    ``size``: the output square side. ``max_age_s``: one limit for all cameras or one per
    camera. ``history``: how many recent ages ``ages()`` keeps per camera.
    """

    def __init__(self, cameras: Mapping[str, Camera],
                 crops: Mapping[str, Any] | None = None, size: int = 128,
                 max_age_s: float | Mapping[str, float] = 0.2, history: int = 10_000) -> None:
        if not cameras:
            raise ValueError("CameraRig needs at least one camera")
        self.cameras = dict(cameras)
        unknown = set(crops or {}) - set(self.cameras)
        if unknown:
            raise ValueError(f"crops given for cameras that are not in the rig: "
                             f"{sorted(unknown)} (cameras: {sorted(self.cameras)})")
        self.crops = {n: parse_crop((crops or {}).get(n), n) for n in self.cameras}
        self.size = int(size)
        if self.size <= 0:
            raise ValueError(f"CameraRig size must be > 0, got {size}")
        if isinstance(max_age_s, Mapping):
            missing = set(self.cameras) - set(max_age_s)
            if missing:
                raise ValueError(f"max_age_s has no limit for cameras {sorted(missing)}")
            self.max_age_s = {n: float(max_age_s[n]) for n in self.cameras}
        else:
            self.max_age_s = {n: float(max_age_s) for n in self.cameras}
        for n, limit in self.max_age_s.items():
            if not limit > 0:
                raise ValueError(f"max_age_s for camera {n!r} must be > 0, got {limit}")
        self._ages = {n: collections.deque(maxlen=int(history)) for n in self.cameras}
        self.stale_count = dict.fromkeys(self.cameras, 0)
        self.last_frames: dict[str, Frame] = {}

    @classmethod
    def from_config(cls, section: Mapping[str, Mapping[str, Any]], size: int | None = None,
                    **kwargs: Any) -> CameraRig:
        """A rig of every camera in a ``cameras`` config section (``make_camera`` builds
        each, with ``kwargs``); ``size`` defaults to the cameras' one ``size``."""
        from silri_jax.cameras.config import make_camera

        sizes = {int(cfg["size"]) for cfg in section.values()}
        if size is None:
            if len(sizes) != 1:
                raise ValueError(f"the cameras' size fields differ ({sorted(sizes)}): the "
                                 "policy takes one square size; set them alike")
            size = sizes.pop()
        return cls({n: make_camera(n, cfg, **kwargs) for n, cfg in section.items()},
                   crops={n: cfg["crop"] for n, cfg in section.items()}, size=size,
                   max_age_s={n: float(cfg["max_age_s"]) for n, cfg in section.items()})

    @property
    def observation_spec(self) -> dict[str, specs.ArraySpec]:
        """The image entries ``observe`` returns, for an ``ObservationSpec``."""
        return {specs.IMAGE_PREFIX + n: specs.ArraySpec((self.size, self.size, 3), "uint8")
                for n in self.cameras}

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> CameraRig:
        """Starts every camera; on a failure closes those already started and re-raises."""
        started: list[Camera] = []
        try:
            for cam in self.cameras.values():
                cam.start()
                started.append(cam)
        except BaseException:
            for cam in started:
                cam.close()
            raise
        return self

    def close(self) -> None:
        for cam in self.cameras.values():
            cam.close()

    def __enter__(self) -> CameraRig:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    # ------------------------------------------------------------------ observation
    def observe(self, now: float | None = None) -> dict[str, np.ndarray]:
        """``{"images/<name>": uint8 size x size x 3}`` from every camera's newest frame.

        ``now``: the time on the cameras' clock (None: each camera's own clock now).
        Raises ``StaleFrameError`` listing every camera whose frame is too old, and
        ``CameraError`` when a camera's reader failed or a crop does not fit its frame.
        """
        frames: dict[str, Frame] = {}
        stale: list[tuple[str, float | None, float]] = []
        for name, cam in self.cameras.items():
            limit = self.max_age_s[name]
            try:
                frames[name] = cam.read(limit, now)
            except StaleFrameError as e:
                stale.extend(e.stale)
                self.stale_count[name] += 1
        if stale:
            raise StaleFrameError(stale)
        out = {}
        for name, frame in frames.items():
            self._ages[name].append(self.cameras[name].age(frame, now))
            crop = self.crops[name]
            if crop is not None:
                check_crop(name, crop, *frame.image.shape[:2])
            out[specs.IMAGE_PREFIX + name] = crop_resize(frame.image, crop, self.size)
        self.last_frames = frames
        return out

    def ages(self) -> dict[str, np.ndarray]:
        """Recent frame ages at observation (seconds, oldest first) per camera."""
        return {n: np.asarray(a, np.float64) for n, a in self._ages.items()}
