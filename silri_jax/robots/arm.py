"""The arm as the robot env sees it: a bridge, and how time passes between two env steps.

``LockstepArm`` advances a lockstep bridge by exactly one control period per env step
(the rehearsal: the simulated arm runs as fast as the machine allows and every run
repeats). ``RealtimeArm`` holds a bridge whose own thread runs the 1 kHz (Franka) or
500 Hz (UR) loop: an env step writes the set-point and sleeps to the next period's
deadline, so the policy's rate does not drift with the time a step takes.

Both expose what ``silri_jax.envs.teleop_intervention`` needs of a controller: ``bridge``,
``sim_time``, ``gripper_fraction`` and (lockstep) ``teleop_source``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from silri_jax.envs import rotations

# Gripper fractions the bridge carries: 1 fully open, 0 closed (the simulated Panda's
# finger ctrl of 0.04 m is fully open).
_OPEN_CTRL = 0.04


class ArmError(RuntimeError):
    """The arm faulted (a reflex, a lost connection, a watchdog stop): the message names
    the fault; nothing clears it but an explicit ``recover()``."""


class _ArmBase:
    bridge: Any
    realtime: bool

    def gripper_fraction(self, ctrl: float) -> float:
        """A simulated finger ctrl value (metres per finger) as the bridge's fraction."""
        return float(np.clip(ctrl / _OPEN_CTRL, 0.0, 1.0))

    def set_target(self, pos: np.ndarray, quat: np.ndarray, gripper: float = -1.0) -> None:
        self.bridge.set_policy_target(np.asarray(pos, np.float64),
                                      rotations.quat_normalize(quat), float(gripper))

    def state(self) -> Any:
        return self.bridge.state()

    def current_pose(self) -> tuple[np.ndarray, np.ndarray]:
        s = self.bridge.state()
        return np.asarray(s.ee_position, np.float64), np.asarray(s.ee_quat, np.float64)

    def check(self) -> None:
        """Raises ``ArmError`` naming a latched fault."""
        s = self.bridge.state()
        if s.faulted:
            why = s.fault_message or "no message"
            raise ArmError(f"the arm stopped: fault {s.fault} ({why}); it holds until "
                           "recover() is called")

    def recover(self) -> bool:
        """Clears a latched fault: the explicit, logged call (never done automatically)."""
        return bool(self.bridge.recover())

    def set_gains(self, **gains: Any) -> None:
        self.bridge.set_gains(**gains)


class LockstepArm(_ArmBase):
    """A lockstep bridge (``BridgeController``) advanced by whole control periods."""

    realtime = False

    def __init__(self, controller: Any, lock: Any = None) -> None:
        self.controller = controller
        self.bridge = controller.bridge
        self._lock = lock
        self._dt = float(controller.bridge.period)

    @property
    def teleop_source(self) -> Callable[[float], None] | None:
        return self.controller.teleop_source

    @teleop_source.setter
    def teleop_source(self, fn: Callable[[float], None] | None) -> None:
        self.controller.teleop_source = fn

    @property
    def sim_time(self) -> float:
        return float(self.controller.sim_time)

    def advance(self, seconds: float) -> None:
        n = max(1, round(seconds / self._dt))
        if self._lock is None:
            self.controller.step(n)
        else:
            with self._lock:
                self.controller.step(n)


class RealtimeArm(_ArmBase):
    """A bridge running its own real-time loop; ``advance`` sleeps to the next deadline.

    ``clock``/``sleep`` are injectable for tests. A step that overran its period starts
    the next period from now (no burst of catch-up steps), and counts the overrun.
    """

    realtime = True
    teleop_source = None

    def __init__(self, bridge: Any, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.bridge = bridge
        self._clock, self._sleep = clock, sleep
        self._deadline: float | None = None
        self._t0 = clock()
        self.overruns = 0

    @property
    def sim_time(self) -> float:
        return self._clock() - self._t0

    def start(self, timeout_s: float = 5.0) -> None:
        """Starts the loop and waits for its first published state (a pose read before
        that would be zeros)."""
        if not self.bridge.running:
            self.bridge.start()
        end = self._clock() + timeout_s
        while self.bridge.state().tick == 0:
            self.check()
            if self._clock() > end:
                raise ArmError(f"the {getattr(self.bridge, 'backend', '')} arm's control "
                               f"loop published no state within {timeout_s:g} s of "
                               "starting; check its connection")
            self._sleep(0.002)

    def restart_clock(self) -> None:
        """The next ``advance`` measures its period from now (after a reset)."""
        self._deadline = None

    def advance(self, seconds: float) -> None:
        now = self._clock()
        if self._deadline is None:
            self._deadline = now
        self._deadline += seconds
        delay = self._deadline - now
        if delay > 0:
            self._sleep(delay)
        else:
            self.overruns += 1
            self._deadline = self._clock()

    def close(self) -> None:
        self.bridge.close()
