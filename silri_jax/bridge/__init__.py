"""Python API of the C++ real-time robot bridge.

``Bridge`` runs the 1 kHz impedance loop (teleop mixing, safety limits, watchdogs) on a
test plant, a MuJoCo simulation, a Franka or a UR arm; see ``docs/bridge.md``.
"""

from silri_jax.bridge.bridge import BACKENDS, Bridge
from silri_jax.bridge.errors import (
    BridgeError,
    ConnectionLost,
    ControlFault,
    SafetyViolation,
    SdkConnectionError,
    SdkError,
)
from silri_jax.bridge.state import BridgeState

__all__ = [
    "BACKENDS",
    "Bridge",
    "BridgeError",
    "BridgeState",
    "ConnectionLost",
    "ControlFault",
    "SafetyViolation",
    "SdkConnectionError",
    "SdkError",
]
