"""Typed errors of the robot bridge.

The compiled module raises these (it imports this module when translating C++ errors),
so callers can tell a latched control fault from a lost link and from rejected input.
"""

from __future__ import annotations


class BridgeError(RuntimeError):
    """Base class of every error the bridge raises."""


class ControlFault(BridgeError):
    """A fault is latched: the loop is stopping the robot until ``recover()``.

    Attributes:
        fault: the fault's name (``"backend_error"``, ``"non_finite_state"``,
            ``"joint_limit"``, ``"watchdog_stop"``, ...).
        tick: the control tick at which it latched.
    """

    def __init__(self, message: str, fault: str = "unknown", tick: int = -1) -> None:
        super().__init__(message)
        self.fault = fault
        self.tick = tick

    def __reduce__(self) -> tuple[type, tuple[str, str, int]]:
        return (type(self), (str(self), self.fault, self.tick))


class ConnectionLost(ControlFault):
    """The backend stopped answering (disconnected, or its state stopped advancing)."""


class SafetyViolation(BridgeError, ValueError):
    """An input was rejected before it reached the loop (NaN, infinity, bad limits)."""


class SdkError(BridgeError):
    """A vendor SDK call outside the control loop failed (e.g. ``franka::Gripper`` raised
    ``franka::CommandException``); the message is the SDK's."""


class SdkConnectionError(SdkError, ConnectionError):
    """The SDK could not reach the robot or lost its link (``franka::NetworkException``)."""
