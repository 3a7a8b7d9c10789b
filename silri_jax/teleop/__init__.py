"""Teleoperation input devices: SpaceMouse, spacenavd, evdev joysticks, gamepads, keyboard,
scripted and replayed operators, behind one ``Device`` interface.

    from silri_jax.teleop import InterventionGate, make_device, teleop_config

    cfg = teleop_config()
    cfg.device = "spacemouse"
    gate = InterventionGate.from_config(cfg)
    with make_device(cfg) as device:
        sample = device.poll()            # never blocks
        gate.update(sample).intervening   # who is in control

``python -m silri_jax.teleop doctor`` lists devices and fixes permissions; the device
layer is described in ``docs/teleop.md``.
"""

from silri_jax.teleop.base import EVENTS, Device, DeviceError, Sample
from silri_jax.teleop.config import teleop_config
from silri_jax.teleop.factory import make_device, register_backend
from silri_jax.teleop.intervention import Gate, InterventionGate

__all__ = [
    "EVENTS",
    "Device",
    "DeviceError",
    "Gate",
    "InterventionGate",
    "Sample",
    "make_device",
    "register_backend",
    "teleop_config",
]
