"""Gamepads (Xbox, PlayStation, Logitech, ...) over evdev, through an editable JSON map.

Controllers differ in which evdev codes their sticks, triggers and buttons use (and the
same controller differs between kernel drivers), so the layout is data:
``gamepad_maps.json`` maps a controller name pattern to its axis codes, trigger axes,
button codes and which stick drives which device-frame axis. A user's map file
(``teleop.gamepad_map``) is tried first, so a new controller needs no code.

Triggers read 0..1 and count as held buttons (``button:lt``, ``button:rt``) past their
threshold, so bindings can put the gripper on them like on any button
(``bindings.gripper_close = "button:rt"``).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import pathlib
import re
from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.conditioning import DEVICE_AXES
from silri_jax.teleop.evdev_device import EvdevDevice, Frame

MAPS_FILE = pathlib.Path(__file__).with_name("gamepad_maps.json")


@dataclasses.dataclass(frozen=True)
class TwistSource:
    """What drives one device axis: a signed map axis, a +/- button pair, or nothing."""

    sign: float = 0.0
    axis: str = ""
    plus: str = ""
    minus: str = ""

    @classmethod
    def parse(cls, spec: str, axes: Mapping[str, int], where: str) -> TwistSource:
        spec = spec.strip().lower()
        if not spec:
            return cls()
        if spec.startswith("buttons:"):
            plus, _, minus = spec[len("buttons:"):].partition(",")
            return cls(plus=plus.strip(), minus=minus.strip())
        sign = -1.0 if spec.startswith("-") else 1.0
        name = spec.lstrip("+-")
        if name not in axes:
            raise ValueError(f"{where}: {spec!r} names no axis of this map (axes: "
                             f"{', '.join(axes)}); use '[-]axis', 'buttons:plus,minus' or ''")
        return cls(sign=sign, axis=name)


@dataclasses.dataclass(frozen=True)
class GamepadMap:
    """One controller's layout (see ``gamepad_maps.json``)."""

    key: str
    match: str
    exclude: str
    axes: Mapping[str, int]
    triggers: tuple[str, ...]
    trigger_threshold: float
    buttons: Mapping[str, int]
    twist: tuple[TwistSource, ...]

    def matches(self, device_name: str) -> bool:
        if not re.search(self.match, device_name, re.I):
            return False
        return not (self.exclude and re.search(self.exclude, device_name, re.I))

    @classmethod
    def parse(cls, key: str, d: Mapping[str, Any], source: str) -> GamepadMap:
        where = f"{source}: controller {key!r}"
        try:
            axes = {str(k): int(v) for k, v in d.get("axes", {}).items()}
            triggers = tuple(str(t) for t in d.get("triggers", ()))
            for t in triggers:
                if t not in axes:
                    raise ValueError(f"trigger {t!r} is not one of its axes")
            twist_d = d.get("twist", {})
            unknown = set(twist_d) - set(DEVICE_AXES)
            if unknown:
                raise ValueError(f"twist keys {sorted(unknown)} are not device axes "
                                 f"{DEVICE_AXES}")
            twist = tuple(TwistSource.parse(str(twist_d.get(a, "")), axes, f"{where} twist.{a}")
                          for a in DEVICE_AXES)
            threshold = float(d.get("trigger_threshold", 0.5))
            if not 0.0 < threshold < 1.0:
                raise ValueError(f"trigger_threshold={threshold} must be in (0, 1)")
            match = str(d.get("match", ""))
            exclude = str(d.get("exclude", ""))
            re.compile(match)
            re.compile(exclude)
            return cls(key=key, match=match, exclude=exclude, axes=axes, triggers=triggers,
                       trigger_threshold=threshold,
                       buttons={str(k).lower(): int(v) for k, v in
                                d.get("buttons", {}).items()},
                       twist=twist)
        except (TypeError, ValueError, re.error) as e:
            raise DeviceError(f"{where}: {e}") from None


@functools.lru_cache(maxsize=8)
def _load(path: str) -> tuple[GamepadMap, ...]:
    try:
        data = json.loads(pathlib.Path(path).read_text())
    except FileNotFoundError:
        raise DeviceError(f"gamepad map {path} not found (teleop.gamepad_map)") from None
    except json.JSONDecodeError as e:
        raise DeviceError(f"gamepad map {path}: not valid JSON ({e})") from None
    controllers = data.get("controllers")
    if not isinstance(controllers, dict):
        raise DeviceError(f"gamepad map {path}: needs a 'controllers' object")
    return tuple(GamepadMap.parse(k, v, path) for k, v in controllers.items())


def load_maps(user_map: str | os.PathLike = "") -> tuple[GamepadMap, ...]:
    """The user's maps (if any) first, then the built-in ones."""
    maps = _load(str(MAPS_FILE))
    return (_load(str(user_map)) + maps) if user_map else maps


def select_map(device_name: str, maps: tuple[GamepadMap, ...]) -> GamepadMap:
    """The first map whose pattern matches the device name."""
    for m in maps:
        if m.matches(device_name):
            return m
    raise DeviceError(f"no gamepad map matches {device_name!r}; add one to a copy of "
                      f"{MAPS_FILE} and set teleop.gamepad_map to it")


class GamepadDevice(EvdevDevice):
    """A gamepad through evdev and its map (see the module docstring)."""

    kinds = ("gamepad", "joystick")
    backend = "gamepad"

    def __init__(self, path: str = "", *, gamepad_map: str | os.PathLike = "",
                 map_key: str = "", **kwargs: Any) -> None:
        self._maps = load_maps(gamepad_map)
        self._map_key = map_key
        self.map: GamepadMap | None = None
        super().__init__(path, **kwargs)

    def _setup(self) -> None:
        if self._map_key:
            found = [m for m in self._maps if m.key == self._map_key]
            if not found:
                raise DeviceError(f"no gamepad map {self._map_key!r}; known: "
                                  f"{', '.join(m.key for m in self._maps)}")
            self.map = found[0]
        else:
            self.map = select_map(self.device_name, self._maps)

    def frame_input(self, frame: Frame) -> tuple[np.ndarray, list[str]]:
        m = self.map
        assert m is not None
        values: dict[str, float] = {}
        for name, code in m.axes.items():
            info = self.absinfo.get(code)
            if info is None or code not in frame.abs:
                values[name] = 0.0
            elif name in m.triggers:
                values[name] = info.unit(frame.abs[code])
            else:
                values[name] = info.centered(frame.abs[code])
        held = {f"button:{name}" for name, code in m.buttons.items() if code in frame.keys}
        held |= {f"button:{t}" for t in m.triggers if values.get(t, 0.0) >= m.trigger_threshold}
        axes = np.zeros(6)
        for i, src in enumerate(m.twist):
            if src.axis:
                axes[i] = src.sign * values[src.axis]
            elif src.plus or src.minus:
                axes[i] = (float(f"button:{src.plus}" in held)
                           - float(f"button:{src.minus}" in held))
        return axes, sorted(held)
