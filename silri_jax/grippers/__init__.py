"""Grippers for real arms (Robotiq over the URCap socket or Modbus RTU, the Franka Hand)
and the simulated Panda's, behind one non-blocking interface.

    from silri_jax import specs
    from silri_jax.grippers import gripper_config, make_gripper

    cfg = gripper_config()
    cfg.kind, cfg.address = "robotiq_socket", "192.168.1.10"
    with make_gripper(cfg) as gripper:      # connects and activates, or says what to check
        gripper.command(specs.GRIPPER_CLOSE)  # returns at once; a worker thread does the I/O
        state = gripper.state()               # latest polled state, no I/O
        if state.fault:
            gripper.recover()                 # explicit: reconnect and re-activate

The worker semantics (latest wins, refractory time, faults) are in
``silri_jax/grippers/base.py`` and ``docs/grippers.md``.
"""

from silri_jax.grippers.base import (
    DriverReading,
    Gripper,
    GripperConnectionError,
    GripperDriver,
    GripperError,
    GripperState,
    GripperWorker,
)
from silri_jax.grippers.config import gripper_config, make_driver, make_gripper

__all__ = [
    "DriverReading",
    "Gripper",
    "GripperConnectionError",
    "GripperDriver",
    "GripperError",
    "GripperState",
    "GripperWorker",
    "gripper_config",
    "make_driver",
    "make_gripper",
]
