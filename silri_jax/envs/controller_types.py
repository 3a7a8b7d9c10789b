"""The types both arm controllers share (the Python reference loop in ``controllers`` and
the C++ bridge's in ``bridge_controller``), in a module of their own so neither controller
module imports the other."""

from __future__ import annotations

import dataclasses
from typing import Protocol

import numpy as np

ARM_JOINTS = tuple(f"joint{i}" for i in range(1, 8))
PANDA_TORQUE_LIMITS = np.array([87.0, 87.0, 87.0, 87.0, 12.0, 12.0, 12.0])


@dataclasses.dataclass(frozen=True)
class ImpedanceParams:
    """Gains of the Cartesian impedance law; defaults follow HIL-SERL's Franka settings."""

    stiffness_pos: float = 2000.0  # N/m
    stiffness_rot: float = 150.0  # Nm/rad
    damping_ratio: float = 1.0
    error_clip_pos: float = 0.02  # m per axis: bounds the commanded force (and speed)
    error_clip_rot: float = 0.10  # rad per axis
    nullspace_stiffness: float = 10.0
    torque_rate_limit: float = 1.0  # Nm per control tick
    pinv_damping: float = 1e-4

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if not getattr(self, f.name) > 0:
                raise ValueError(f"ImpedanceParams.{f.name} must be positive")


@dataclasses.dataclass
class ControllerState:
    """What the loop knows after a step; read by the env and by tests."""

    ee_pos: np.ndarray
    ee_quat: np.ndarray
    q: np.ndarray
    dq: np.ndarray
    tau: np.ndarray


class Controller(Protocol):
    """Steps the physics with the arm held by an impedance law around a target pose."""

    backend: str

    def reset(self) -> None:
        """Forgets torque history and holds the current pose (call after setting qpos)."""

    def set_target(self, pos: np.ndarray, quat_wxyz: np.ndarray) -> None: ...

    def step(self, n: int) -> None:
        """Advances ``n`` physics ticks (one control update per tick)."""

    def state(self) -> ControllerState: ...
