"""``kind="none"``: an arm without a gripper still gets the same worker and state record,
so a robot env needs no special case."""

from __future__ import annotations

from silri_jax.grippers.base import DriverReading, GripperDriver


class NullDriver(GripperDriver):
    """Accepts every command and does nothing; reports a fixed width, never busy."""

    def __init__(self, width_m: float = 0.0) -> None:
        self.name = "no gripper"
        self.width_m = float(width_m)

    def connect(self) -> None:
        """Nothing to connect."""

    def start_motion(self, command: int) -> None:
        """Nothing to move."""

    def read(self) -> DriverReading:
        return DriverReading(self.width_m, False, False)

    def disconnect(self) -> None:
        """Nothing to release."""
