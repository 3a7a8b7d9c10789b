"""A simulated gripper on the project's MuJoCo Panda (``silri_jax/envs/sim/env.py``), so the
worker path (latest wins, refractory time, faults) runs in simulation too.

The driver sets the Panda's ``gripper`` actuator (position control of each finger, ctrl
in [GRIPPER_CLOSED_CTRL, GRIPPER_OPEN_CTRL] = [0, 0.04] m) and reads the width as the sum
of the two finger joints. Whoever steps the physics (the sim env) moves the fingers; the
driver only writes the target, so a command must not be overridden by the env's own
gripper handling (step the env with ``GRIPPER_STAY``).

A real gripper is busy for a while after each command; ``motion_time_s`` reproduces that
on the driver's clock: ``busy`` stays True that long after a motion starts. ``grasped``
is True once a close has ended (not busy) with the fingers at rest yet held apart by more
than ``min_grasp_width_m``, i.e. stopped on something.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import mujoco

from silri_jax import specs
from silri_jax.envs.sim.env import GRIPPER_CLOSED_CTRL, GRIPPER_OPEN_CTRL
from silri_jax.grippers.base import DriverReading, GripperDriver

# finger speed below which the fingers count as stopped (on an object, or at the target)
STILL_MPS = 0.005


class SimGripperDriver(GripperDriver):
    """The Panda's fingers in a MuJoCo model.

    Args:
        model, data: the simulation (``PandaSimEnv.model`` / ``.data``).
        motion_time_s: how long ``busy`` stays True after a motion starts, seconds.
        min_grasp_width_m: a close ending wider than this holds an object.
        actuator, finger_joints: MuJoCo names (the project's Panda by default).
        clock: the clock ``motion_time_s`` runs on (a simulated clock works).
    """

    def __init__(self, model: mujoco.MjModel, data: mujoco.MjData, *,
                 motion_time_s: float = 0.5, min_grasp_width_m: float = 0.003,
                 actuator: str = "gripper",
                 finger_joints: tuple[str, str] = ("finger_joint1", "finger_joint2"),
                 clock: Callable[[], float] = time.monotonic) -> None:
        if not motion_time_s >= 0.0:
            raise ValueError(f"motion_time_s must be >= 0, got {motion_time_s}")
        self.model, self.data = model, data
        self.motion_time_s = float(motion_time_s)
        self.min_grasp_width_m = float(min_grasp_width_m)
        try:
            self._actuator = model.actuator(actuator).id
            joints = [model.joint(j).id for j in finger_joints]
        except KeyError as e:
            raise ValueError(f"the MuJoCo model has no gripper actuator {actuator!r} or "
                             f"finger joints {finger_joints}: {e}") from e
        self._fadr = [int(model.jnt_qposadr[j]) for j in joints]
        self._dadr = [int(model.jnt_dofadr[j]) for j in joints]
        self._clock = clock
        self._started = -float("inf")
        self._closing = False
        self.name = "simulated Panda gripper"

    @classmethod
    def from_env(cls, env: Any, **kwargs: Any) -> SimGripperDriver:
        """For a ``PandaSimEnv`` (or a wrapper around one)."""
        base = getattr(env, "unwrapped", env)
        return cls(base.model, base.data, **kwargs)

    def connect(self) -> None:
        """Nothing to connect; the fingers keep their current target."""

    def start_motion(self, command: int) -> None:
        if command == specs.GRIPPER_OPEN:
            self.data.ctrl[self._actuator] = GRIPPER_OPEN_CTRL
        elif command == specs.GRIPPER_CLOSE:
            self.data.ctrl[self._actuator] = GRIPPER_CLOSED_CTRL
        else:
            raise ValueError(f"the simulated gripper moves on open (0) or close (2), "
                             f"got {command}")
        self._closing = command == specs.GRIPPER_CLOSE
        self._started = self._clock()

    def read(self) -> DriverReading:
        width = float(sum(self.data.qpos[a] for a in self._fadr))
        still = all(abs(self.data.qvel[a]) < STILL_MPS for a in self._dadr)
        busy = self._clock() - self._started < self.motion_time_s
        return DriverReading(width_m=width, busy=busy,
                             grasped=self._closing and not busy and still
                             and width > self.min_grasp_width_m)

    def disconnect(self) -> None:
        """Nothing to release."""
