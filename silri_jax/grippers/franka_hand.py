"""The Franka Hand through libfranka's ``franka::Gripper`` semantics.

The driver talks to a *gripper client*: any object with libfranka's methods

    homing() -> bool
    move(width, speed) -> bool
    grasp(width, speed, force, epsilon_inner, epsilon_outer) -> bool
    stop() -> bool
    readOnce() -> state with .width, .max_width, .is_grasped

so the real client can be a pybind11 binding of ``franka::Gripper`` in the C++ bridge
and tests use a fake. A client factory (called with the robot's address) creates it, so
``recover()`` can reconnect.

libfranka's ``move`` and ``grasp`` block until the fingers stop, so each motion runs in
its own short-lived thread; a new command first calls ``stop()`` (from the worker's
thread: libfranka allows ``stop()`` and ``readOnce()`` while a motion runs in another
thread, as franka_gripper's ROS node does), waits for that motion to return, then starts
its own. A motion that was stopped on purpose is not an error. A ``grasp`` that finds
nothing in its width window returns False: that is an empty grasp, not a fault.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from silri_jax import specs
from silri_jax.grippers.base import (
    DriverReading,
    GripperConnectionError,
    GripperDriver,
    GripperError,
    describe_error,
)

log = logging.getLogger(__name__)


class FrankaGripperState(Protocol):
    """The fields of ``franka::GripperState`` the driver reads."""

    width: float
    max_width: float
    is_grasped: bool


class FrankaGripperClient(Protocol):
    """``franka::Gripper``'s methods, as a binding or a fake exposes them."""

    def homing(self) -> bool: ...
    def move(self, width: float, speed: float) -> bool: ...
    def grasp(self, width: float, speed: float, force: float, epsilon_inner: float,
              epsilon_outer: float) -> bool: ...
    def stop(self) -> bool: ...
    def readOnce(self) -> FrankaGripperState: ...  # libfranka's name


ClientFactory = Callable[[str], FrankaGripperClient]


class _Motion:
    """One ``move``/``grasp`` call running in its own thread."""

    def __init__(self, what: str, call: Callable[[], Any], empty_ok: bool) -> None:
        self.what = what
        self.empty_ok = empty_ok  # a False result is fine (an empty grasp)
        self.preempted = False
        self.error: str = ""
        self._call = call
        self.thread = threading.Thread(target=self._run, name=f"franka-hand {what}",
                                       daemon=True)

    def _run(self) -> None:
        try:
            ok = bool(self._call())
        except Exception as e:
            if not self.preempted:
                self.error = f"{self.what} failed: {describe_error(e)}"
            return
        if not ok and not self.empty_ok and not self.preempted:
            self.error = f"{self.what} did not complete (fingers blocked?)"


class FrankaHandDriver(GripperDriver):
    """The Franka Hand over a ``franka::Gripper``-like client.

    Args:
        address: the robot's address (for the client factory and messages).
        client_factory: called with ``address``; returns a connected client.
        speed_mps: finger speed (of the width) for move and grasp, m/s.
        force_n: grasp force, N.
        open_width_m: width an open command moves to (clamped to the hand's max_width).
        grasp_width_m: the width a close grasps at: the fingers close towards it and stop
            on an object; the grasp counts when the final width lies within
            (grasp_width_m - epsilon_inner_m, grasp_width_m + epsilon_outer_m).
        min_grasp_width_m: narrower than this the fingers hold nothing, so ``grasped`` is
            False whatever libfranka says (an empty close ends inside a window at 0).
        homing: run ``homing()`` when connecting (calibrates the width; the fingers close
            and open once).
        stop_timeout_s: longest a preempted motion may take to return after ``stop()``.
    """

    def __init__(self, address: str, client_factory: ClientFactory, *, speed_mps: float = 0.1,
                 force_n: float = 40.0, open_width_m: float = 0.08, grasp_width_m: float = 0.0,
                 epsilon_inner_m: float = 0.005, epsilon_outer_m: float = 0.08,
                 min_grasp_width_m: float = 0.003, homing: bool = True,
                 stop_timeout_s: float = 2.0) -> None:
        self.address = address
        self._factory = client_factory
        self.speed_mps, self.force_n = float(speed_mps), float(force_n)
        self.open_width_m, self.grasp_width_m = float(open_width_m), float(grasp_width_m)
        self.epsilon_inner_m, self.epsilon_outer_m = float(epsilon_inner_m), float(epsilon_outer_m)
        self.min_grasp_width_m = float(min_grasp_width_m)
        self.homing = bool(homing)
        self.stop_timeout_s = float(stop_timeout_s)
        self.name = f"Franka Hand ({address})"
        self._client: FrankaGripperClient | None = None
        self._max_width = self.open_width_m
        self._motion: _Motion | None = None

    def connect(self) -> None:
        """Creates the client (libfranka connects in its constructor), homes the fingers
        if configured, and reads the hand's maximum width."""
        try:
            client = self._factory(self.address)
            if self.homing and not client.homing():
                raise GripperError("homing() returned False")
            state = client.readOnce()
        except Exception as e:
            raise GripperConnectionError(
                f"cannot connect to the Franka Hand at {self.address} ({describe_error(e)}); "
                f"check: the robot is on and reachable (ping {self.address}), FCI is "
                "activated in Desk, the Hand is enabled in Desk's end-effector settings, no "
                "other program (e.g. Desk's apps) is using the gripper, and libfranka's "
                "version matches the robot's system version") from e
        self._client = client
        self._max_width = float(state.max_width) or self.open_width_m
        self._motion = None

    def _require_client(self) -> FrankaGripperClient:
        if self._client is None:
            raise GripperConnectionError(f"{self.name} is not connected")
        return self._client

    def _preempt(self) -> None:
        motion, client = self._motion, self._require_client()
        if motion is None or not motion.thread.is_alive():
            return
        motion.preempted = True
        client.stop()
        motion.thread.join(self.stop_timeout_s)
        if motion.thread.is_alive():
            raise GripperError(f"{motion.what} did not return within {self.stop_timeout_s} s "
                               "of stop(); check the robot's state in Desk")

    def start_motion(self, command: int) -> None:
        """Stops a running move or grasp, then starts the new one in its own thread."""
        client = self._require_client()
        self._check_motion_error()
        self._preempt()
        if command == specs.GRIPPER_OPEN:
            width = min(self.open_width_m, self._max_width)
            motion = _Motion(f"move({width:.4f} m)",
                             lambda: client.move(width, self.speed_mps), empty_ok=False)
        elif command == specs.GRIPPER_CLOSE:
            width = self.grasp_width_m
            motion = _Motion(
                f"grasp({width:.4f} m)",
                lambda: client.grasp(width, self.speed_mps, self.force_n,
                                     self.epsilon_inner_m, self.epsilon_outer_m),
                empty_ok=True)
        else:
            raise ValueError(f"the Franka Hand moves on open (0) or close (2), got {command}")
        self._motion = motion
        motion.thread.start()

    def _check_motion_error(self) -> None:
        motion = self._motion
        if motion is not None and motion.error:
            raise GripperError(motion.error)

    def read(self) -> DriverReading:
        state = self._require_client().readOnce()
        self._check_motion_error()
        width = float(state.width)
        motion = self._motion
        return DriverReading(
            width_m=width,
            grasped=bool(state.is_grasped) and width >= self.min_grasp_width_m,
            busy=motion is not None and motion.thread.is_alive())

    def disconnect(self) -> None:
        """Stops a running motion (best effort) and drops the client."""
        client, motion = self._client, self._motion
        self._client, self._motion = None, None
        if client is not None and motion is not None and motion.thread.is_alive():
            motion.preempted = True
            try:
                client.stop()
            except Exception as e:
                log.warning("%s: stop() while disconnecting failed: %s", self.name,
                            describe_error(e))
            motion.thread.join(self.stop_timeout_s)
