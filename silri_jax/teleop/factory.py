"""``make_device(cfg)``: the teleop config section -> a ready-to-start ``Device``.

Backends are looked up by ``cfg.device`` in a registry, so another module can add one
(``register_backend("simulated", build)``) without touching this file; a name of the form
``"<module>:<factory>"`` imports ``factory`` and calls it with the section. Devices joined
with ``+`` (``"spacemouse+keyboard"``) are combined (``combined.py``); ``path`` then
applies to the first.

Hardware backends are imported only when chosen, so configs that never use a device do
not import them.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import ml_collections

from silri_jax.teleop.base import Device, DeviceError
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner
from silri_jax.teleop.config import bindings_mapping

Builder = Callable[..., Device]
_BACKENDS: dict[str, Builder] = {}


def register_backend(name: str, builder: Builder) -> None:
    """Makes ``cfg.device = name`` build its device with ``builder(cfg)`` (and the keyword
    arguments given to ``make_device``, if any)."""
    if not name or "+" in name or ":" in name:
        raise ValueError(f"backend name {name!r} must be non-empty without '+' or ':'")
    _BACKENDS[name] = builder


def backend_names() -> tuple[str, ...]:
    return tuple(sorted(_BACKENDS))


def _get(cfg: Any, path: str, default: Any = None) -> Any:
    node = cfg
    for key in path.split("."):
        if node is None or key not in node:
            return default
        node = node[key]
    return node


def common_kwargs(cfg: ml_collections.ConfigDict) -> dict[str, Any]:
    """Conditioning, bindings, staleness and reopening: what every live backend takes."""
    return {"conditioner": Conditioner.from_config(cfg),
            "bindings": Bindings.from_mapping(bindings_mapping(cfg)),
            "stale_s": float(_get(cfg, "stale_s", 0.5)),
            "reopen_s": float(_get(cfg, "reopen_s", 1.0))}


def _spacemouse(cfg: ml_collections.ConfigDict, **where: Any) -> Device:
    from silri_jax.teleop.spacemouse import SpaceMouseDevice

    return SpaceMouseDevice(str(cfg.path), entry=_get(cfg, "spacemouse.model") or None,
                            table=_get(cfg, "spacemouse.table") or None,
                            reader=str(_get(cfg, "spacemouse.reader", "hidraw")),
                            **where, **common_kwargs(cfg))


def _spacenav(cfg: ml_collections.ConfigDict) -> Device:
    from silri_jax.teleop.spacenav import SpacenavDevice

    return SpacenavDevice(scale=float(_get(cfg, "spacenav.scale", 350.0)),
                          library_name=str(_get(cfg, "spacenav.library", "")),
                          **common_kwargs(cfg))


def _evdev(cfg: ml_collections.ConfigDict, **where: Any) -> Device:
    from silri_jax.teleop.evdev_device import EvdevDevice

    return EvdevDevice(str(cfg.path), axes=str(_get(cfg, "evdev.axes", "x,-y,-z,rx,-ry,-rz")),
                       rel_scale=float(_get(cfg, "evdev.rel_scale", 350.0)),
                       **where, **common_kwargs(cfg))


def _gamepad(cfg: ml_collections.ConfigDict, **where: Any) -> Device:
    from silri_jax.teleop.gamepad import GamepadDevice

    return GamepadDevice(str(cfg.path), gamepad_map=str(_get(cfg, "gamepad_map", "")),
                         map_key=str(_get(cfg, "gamepad_controller", "")),
                         **where, **common_kwargs(cfg))


def _keyboard(cfg: ml_collections.ConfigDict) -> Device:
    from silri_jax.teleop.keyboard import DEFAULT_MOTION, make_keyboard

    return make_keyboard(str(_get(cfg, "keyboard.backend", "auto")),
                         motion=str(_get(cfg, "keyboard.motion", DEFAULT_MOTION)),
                         speed=float(_get(cfg, "keyboard.speed", 1.0)),
                         impulse_s=float(_get(cfg, "keyboard.impulse_s", 0.15)),
                         **common_kwargs(cfg))


def _import(spec: str, what: str) -> Any:
    module, _, attr = spec.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise DeviceError(f"{what}={spec!r}: cannot import it ({e})") from None


def _scripted(cfg: ml_collections.ConfigDict) -> Device:
    from silri_jax.teleop.scripted import ScriptedDevice

    path = str(cfg.path)
    if path.endswith(".json"):
        return ScriptedDevice.from_file(path)
    if ":" in path:
        return ScriptedDevice(_import(path, "teleop.path"), name=f"scripted:{path}")
    raise DeviceError(f"teleop.path={path!r}: the scripted device needs segments (a .json "
                      "file) or '<module>:<function of t>'")


def _replay(cfg: ml_collections.ConfigDict) -> Device:
    from silri_jax.teleop.replay import ReplayDevice

    if not str(cfg.path):
        raise DeviceError("teleop.path is empty: the replay device needs a .jsonl file")
    kw = common_kwargs(cfg)
    kw.pop("reopen_s")
    return ReplayDevice(str(cfg.path), table=_get(cfg, "spacemouse.table") or None, **kw)


def _none(cfg: ml_collections.ConfigDict) -> Device:
    from silri_jax.teleop.none_device import NoDevice

    return NoDevice()


for _name, _builder in (("spacemouse", _spacemouse), ("spacenav", _spacenav),
                        ("evdev", _evdev), ("gamepad", _gamepad), ("keyboard", _keyboard),
                        ("scripted", _scripted), ("replay", _replay), ("none", _none)):
    register_backend(_name, _builder)


def make_device(cfg: ml_collections.ConfigDict, **where: Any) -> Device:
    """The device ``cfg.device`` names, built from the teleop section ``cfg`` (not started:
    use it as a context manager, or call ``start()``).

    ``where`` (``sysfs_root``, ``dev_root``) points discovery at other roots (tests, the
    doctor's ``--sysfs``); backends that discover nothing ignore it.
    """
    name = str(cfg.device).strip()
    if "+" in name:
        from silri_jax.teleop.combined import CombinedDevice

        parts = [p.strip() for p in name.split("+")]
        devices = []
        for i, part in enumerate(parts):
            sub = cfg.copy_and_resolve_references()
            sub.device = part
            if i:
                sub.path = ""
            devices.append(make_device(sub, **where))
        return CombinedDevice(devices)
    if name in _BACKENDS:
        builder = _BACKENDS[name]
        if where and builder in (_spacemouse, _evdev, _gamepad):
            return builder(cfg, **where)
        return builder(cfg)
    if ":" in name:
        device = _import(name, "teleop.device")(cfg)
        if not isinstance(device, Device):
            raise DeviceError(f"teleop.device={name!r} returned {type(device).__name__}, "
                              "not a silri_jax.teleop.base.Device")
        return device
    raise ValueError(f"teleop.device={name!r}: unknown backend; known: "
                     f"{', '.join(backend_names())}, or '<module>:<factory>', or several "
                     "joined with '+'")
