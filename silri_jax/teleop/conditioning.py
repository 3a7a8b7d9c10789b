"""From a device's raw axes to the twist the robot gets, and when a silent device is stale.

Every backend reports six axes in its **device frame**: ``x`` to the operator's right,
``y`` away from the operator, ``z`` up, and ``rx ry rz`` right-handed rotations about
those, each scaled so full deflection is about 1. The ``Conditioner`` then, in order:

1. maps the mounting (``axes``): robot twist component ``i`` (``vx vy vz wx wy wz``, robot
   base frame) takes a signed device axis, e.g. ``"y,-x,z,ry,-rx,rz"`` for an operator
   standing behind the robot and facing the way its x axis points; ``0`` leaves a
   component unused; ``signs`` then flips components without rewriting ``axes``;
2. removes the deadband per axis and rescales what is left, so the output still spans
   [0, 1]: ``sign(x) * max(|x| - d, 0) / (1 - d)`` (a small touch gives a small command,
   not a jump to ``d``);
3. multiplies translation and rotation by their gains and clamps to ``[-clamp, clamp]``
   (never beyond [-1, 1]);
4. optionally low-pass filters (first order, time constant ``lowpass_s`` seconds, using the
   poll times: ``y += (1 - exp(-dt / tau)) * (x - y)``), starting from rest.

Staleness (``StalenessRule``) is decided per backend from how the device reports:

- **continuous** devices (a SpaceMouse over hidraw) send reports all the time while the
  puck is deflected and nothing at rest. Silence at rest is healthy. Silence longer than
  ``stale_s`` while the last report was deflected means reports stopped arriving (a
  wireless link dropped, a USB hub stalled): motion is zeroed and the sample is unhealthy
  until reports come back.
- **on-change** devices (evdev, spacenavd, keyboards) report only when something changes;
  the kernel drops repeated values, so a stick or puck held perfectly still is silent
  while deflected. Silence is never staleness for them: the held state stays valid.
- For every device, **gone** (a read error such as ENODEV, end of file, a closed daemon
  socket) is unhealthy at once, with zero motion. A device that reports its own link as
  lost while its file stays open (a receiver whose wireless device is off) has its motion
  zeroed at once and is marked unhealthy once ``stale_s`` has passed without the link
  coming back, so a brief radio glitch does not end an intervention.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

DEVICE_AXES = ("x", "y", "z", "rx", "ry", "rz")
TWIST_NAMES = ("vx", "vy", "vz", "wx", "wy", "wz")


# ----------------------------------------------------------------------------- mounting
def parse_axes(spec: str | Sequence[int], signs: Sequence[float] | None = None
               ) -> tuple[np.ndarray, np.ndarray]:
    """The mounting as ``(source, sign)`` arrays: twist[i] = sign[i] * device[source[i]].

    ``spec`` is six comma-separated signed device axis names (``"y,-x,z,ry,-rx,rz"``; ``0``
    for an unused component), or a permutation list of device axis indices (-1 unused).
    ``signs`` (six values of +-1) multiply the result.
    """
    if isinstance(spec, str):
        parts = [p.strip().lower() for p in spec.split(",")]
        if len(parts) != 6:
            raise ValueError(f"axes={spec!r}: needs 6 comma-separated entries "
                             f"(one per {', '.join(TWIST_NAMES)}), got {len(parts)}")
        source, sign = [], []
        for p in parts:
            s = 1.0
            if p[:1] in "+-":
                s, p = (-1.0 if p[0] == "-" else 1.0), p[1:].strip()
            if p == "0":
                source.append(-1)
                sign.append(0.0)
                continue
            if p not in DEVICE_AXES:
                raise ValueError(f"axes={spec!r}: {p!r} is not a device axis; use "
                                 f"{', '.join(DEVICE_AXES)} with an optional '-', or 0")
            source.append(DEVICE_AXES.index(p))
            sign.append(s)
    else:
        source = [int(i) for i in spec]
        if len(source) != 6 or any(not -1 <= i < 6 for i in source):
            raise ValueError(f"axes={list(spec)!r}: needs 6 device axis indices in 0..5 "
                             "(-1 for unused)")
        sign = [0.0 if i < 0 else 1.0 for i in source]
    sign_arr = np.asarray(sign, np.float64)
    if signs is not None:
        extra = np.asarray([float(v) for v in signs], np.float64)
        if extra.shape != (6,) or not np.all(np.isin(extra, (-1.0, 1.0))):
            raise ValueError(f"signs={tuple(signs)!r}: needs 6 values, each 1 or -1")
        sign_arr = sign_arr * extra
    return np.asarray(source, np.int64), sign_arr


def apply_mounting(device_axes: np.ndarray, source: np.ndarray, sign: np.ndarray
                   ) -> np.ndarray:
    """Device-frame axes -> robot-frame twist (before deadband and gains)."""
    x = np.asarray(device_axes, np.float64)
    picked = np.where(source >= 0, x[np.clip(source, 0, 5)], 0.0)
    return picked * sign


# ----------------------------------------------------------------------------- shaping
def parse_deadband(value: float | str | Sequence[float]) -> np.ndarray:
    """One deadband for every axis or six (twist order); each in [0, 1)."""
    if isinstance(value, str):
        parts = [p for p in value.replace(" ", "").split(",") if p]
        try:
            vals = [float(p) for p in parts]
        except ValueError:
            raise ValueError(f"deadband={value!r}: needs one number or six comma-separated "
                             "numbers in [0, 1)") from None
    elif isinstance(value, int | float):
        vals = [float(value)]
    else:
        vals = [float(v) for v in value]
    if len(vals) == 1:
        vals = vals * 6
    arr = np.asarray(vals, np.float64)
    if arr.shape != (6,) or not np.all((arr >= 0.0) & (arr < 1.0)):
        raise ValueError(f"deadband={value!r}: needs one value or six values, each in [0, 1)")
    return arr


def deadband(x: np.ndarray, d: np.ndarray | float) -> np.ndarray:
    """Zero inside ``|x| <= d``; outside, ``sign(x) * (|x| - d) / (1 - d)`` (spans [0, 1])."""
    x = np.asarray(x, np.float64)
    d = np.asarray(d, np.float64)
    return np.sign(x) * np.maximum(np.abs(x) - d, 0.0) / (1.0 - d)


class Conditioner:
    """Raw device axes -> conditioned robot twist (see the module docstring)."""

    def __init__(self, axes: str | Sequence[int] = "x,y,z,rx,ry,rz",
                 signs: Sequence[float] | None = None,
                 deadband: float | str | Sequence[float] = 0.0, clamp: float = 1.0,
                 gain_translation: float = 1.0, gain_rotation: float = 1.0,
                 lowpass_s: float = 0.0) -> None:
        self.source, self.sign = parse_axes(axes, signs)
        self.deadband = parse_deadband(deadband)
        if not 0.0 < float(clamp) <= 1.0:
            raise ValueError(f"clamp={clamp!r}: must be in (0, 1]")
        for name, g in (("gain_translation", gain_translation),
                        ("gain_rotation", gain_rotation)):
            if not (math.isfinite(float(g)) and float(g) >= 0.0):
                raise ValueError(f"{name}={g!r}: must be a finite number >= 0")
        if not (math.isfinite(float(lowpass_s)) and float(lowpass_s) >= 0.0):
            raise ValueError(f"lowpass_s={lowpass_s!r}: must be seconds >= 0 (0 = off)")
        self.clamp = float(clamp)
        self.gains = np.asarray([gain_translation] * 3 + [gain_rotation] * 3, np.float64)
        self.lowpass_s = float(lowpass_s)
        self._y = np.zeros(6)
        self._t: float | None = None

    @classmethod
    def from_config(cls, cfg: object) -> Conditioner:
        """From the teleop config section (fields axes, signs, deadband, clamp, ...)."""
        get = cfg.get if hasattr(cfg, "get") else (lambda k, d=None: getattr(cfg, k, d))  # type: ignore[attr-defined]
        return cls(axes=get("axes", "x,y,z,rx,ry,rz"), signs=get("signs", None),
                   deadband=get("deadband", 0.0), clamp=get("clamp", 1.0),
                   gain_translation=get("gain_translation", 1.0),
                   gain_rotation=get("gain_rotation", 1.0), lowpass_s=get("lowpass_s", 0.0))

    def shape(self, device_axes: np.ndarray) -> np.ndarray:
        """Mounting, deadband, gains and clamp: the memoryless part."""
        twist = apply_mounting(device_axes, self.source, self.sign)
        twist = deadband(twist, self.deadband) * self.gains
        return np.clip(twist, -self.clamp, self.clamp)

    def __call__(self, device_axes: np.ndarray, now: float) -> np.ndarray:
        """The conditioned twist at time ``now`` (seconds; the low-pass uses its steps)."""
        x = self.shape(device_axes)
        if self.lowpass_s <= 0.0:
            return x
        if self._t is not None and now > self._t:
            alpha = 1.0 - math.exp(-(now - self._t) / self.lowpass_s)
            self._y = self._y + alpha * (x - self._y)
        if self._t is None or now > self._t:
            self._t = now
        return self._y.copy()

    def reset(self, now: float | None = None) -> None:
        """Back to rest (after a stale or gone device: no filtered tail of old motion)."""
        self._y = np.zeros(6)
        self._t = now


# ----------------------------------------------------------------------------- staleness
@dataclasses.dataclass(frozen=True)
class Health:
    """What the staleness rule decided for one poll."""

    healthy: bool
    zero_motion: bool
    problem: str = ""


@dataclasses.dataclass(frozen=True)
class StalenessRule:
    """When a silent device stops being trusted (the rule is in the module docstring).

    ``continuous``: the device reports continuously while deflected (hidraw SpaceMouse);
    False for devices that report only on change. ``stale_s`` <= 0 turns the silence rule
    off (gone devices are still unhealthy).
    """

    stale_s: float = 0.5
    continuous: bool = False

    def check(self, *, device: str, now: float, last_report: float, deflected: bool,
              gone: str = "", link_lost_since: float | None = None) -> Health:
        if gone:
            return Health(False, True, gone)
        if link_lost_since is not None:
            lost = now - link_lost_since
            if self.stale_s > 0 and lost > self.stale_s:
                return Health(False, True, f"{device} reports its link lost for {lost:.2f} s")
            return Health(True, True, "")
        if self.continuous and deflected and self.stale_s > 0:
            silent = now - last_report
            if silent > self.stale_s:
                return Health(False, True,
                              f"no report for {silent:.2f} s from {device} while it was "
                              f"deflected (it reports continuously when moved); motion "
                              f"zeroed until reports resume")
        return Health(True, False, "")
