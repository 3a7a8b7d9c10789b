"""Several devices as one: ``device = "spacemouse+keyboard"`` moves with the SpaceMouse and
takes success / failure from the keyboard.

The twist comes from the first device (in the order named) whose twist is not zero, the
gripper from the first with a command; held buttons are merged, events are concatenated
in device order (none lost), and the combination is healthy only while every device is.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import numpy as np

from silri_jax import specs
from silri_jax.teleop.base import Device, Sample


class CombinedDevice(Device):
    """Devices polled together (see the module docstring)."""

    def __init__(self, devices: Sequence[Device]) -> None:
        if not devices:
            raise ValueError("CombinedDevice needs at least one device")
        self.devices = list(devices)
        self.name = "+".join(d.name for d in self.devices)

    def start(self) -> None:
        started: list[Device] = []
        try:
            for d in self.devices:
                d.start()
                started.append(d)
        except BaseException:
            for d in started:
                d.close()
            raise

    def poll(self, now: float | None = None) -> Sample:
        now = time.monotonic() if now is None else float(now)
        samples = [d.poll(now) for d in self.devices]
        twist = next((s.twist for s in samples if np.any(s.twist != 0.0)), np.zeros(6))
        gripper = next((s.gripper for s in samples if s.gripper != specs.GRIPPER_STAY),
                       specs.GRIPPER_STAY)
        buttons: dict[str, bool] = {}
        for s in samples:
            for k, v in s.buttons.items():
                buttons[k] = buttons.get(k, False) or bool(v)
        healthy = all(s.healthy for s in samples)
        return Sample(twist=twist if healthy else np.zeros(6),
                      gripper=gripper if healthy else specs.GRIPPER_STAY, buttons=buttons,
                      events=tuple(e for s in samples for e in s.events),
                      t_device=max(s.t_device for s in samples),
                      t_host=max(s.t_host for s in samples), healthy=healthy,
                      device=self.name,
                      problem="; ".join(s.problem for s in samples if s.problem))

    def close(self) -> None:
        for d in reversed(self.devices):
            d.close()
