"""No device: always healthy, zero twist, gripper STAY, no events.

For unattended runs (the policy alone, evaluation) where code that expects a device should
not need to know there is none.
"""

from __future__ import annotations

import time

from silri_jax.teleop.base import Device, Sample, idle_sample


class NoDevice(Device):
    """The ``none`` backend."""

    def __init__(self) -> None:
        self.name = "none"

    def poll(self, now: float | None = None) -> Sample:
        return idle_sample(self.name, time.monotonic() if now is None else float(now))
