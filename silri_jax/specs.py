"""One definition of what flows through the system: observation/action specs and batches.

The environment, the actor, the wire codec and the replay buffers all read these, so a
camera added in one place is seen everywhere. Observations are dicts read by key:
``"state"`` for proprioception (float32) and ``"images/<camera>"`` for uint8 HxWx3 frames.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

STATE_KEY = "state"
IMAGE_PREFIX = "images/"

# Discrete gripper commands. The continuous action never carries the gripper; a separate
# integer field does, so it cannot be decoded by truncation of a float (a known peer bug).
GRIPPER_OPEN, GRIPPER_STAY, GRIPPER_CLOSE = 0, 1, 2
NUM_GRIPPER_ACTIONS = 3


@dataclasses.dataclass(frozen=True)
class ArraySpec:
    """Shape and dtype of one observation entry (without the batch axis)."""

    shape: tuple[int, ...]
    dtype: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "shape", tuple(int(s) for s in self.shape))
        object.__setattr__(self, "dtype", np.dtype(self.dtype).name)

    @property
    def nbytes(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64)) * np.dtype(self.dtype).itemsize

    def zeros(self, batch: tuple[int, ...] = ()) -> np.ndarray:
        return np.zeros(batch + self.shape, dtype=self.dtype)


@dataclasses.dataclass(frozen=True)
class ObservationSpec:
    """Named observation entries. Keys are ``"state"`` and ``"images/<camera>"``."""

    entries: Mapping[str, ArraySpec]

    def __post_init__(self) -> None:
        for key, spec in self.entries.items():
            if key.startswith(IMAGE_PREFIX):
                if spec.dtype != "uint8" or len(spec.shape) != 3 or spec.shape[-1] != 3:
                    raise ValueError(f"camera {key!r} must be uint8 HxWx3, got {spec}")
            elif spec.dtype not in ("float32",):
                raise ValueError(f"observation {key!r} must be float32, got {spec.dtype}")
        object.__setattr__(self, "entries", dict(sorted(self.entries.items())))

    @property
    def image_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.entries if k.startswith(IMAGE_PREFIX))

    @property
    def vector_keys(self) -> tuple[str, ...]:
        return tuple(k for k in self.entries if not k.startswith(IMAGE_PREFIX))

    def zeros(self, batch: tuple[int, ...] = ()) -> dict[str, np.ndarray]:
        return {k: s.zeros(batch) for k, s in self.entries.items()}

    def validate(self, obs: Mapping[str, Any], batch_ndim: int = 0) -> None:
        """Raises ``ValueError`` naming the key when ``obs`` does not match the spec."""
        missing = set(self.entries) - set(obs)
        extra = set(obs) - set(self.entries)
        if missing or extra:
            raise ValueError(
                f"observation keys differ from spec: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        for key, spec in self.entries.items():
            arr = np.asarray(obs[key])
            if arr.shape[batch_ndim:] != spec.shape:
                raise ValueError(f"observation {key!r} has shape {arr.shape}, spec {spec.shape}")
            if arr.dtype != np.dtype(spec.dtype):
                raise ValueError(f"observation {key!r} has dtype {arr.dtype}, spec {spec.dtype}")
            if spec.dtype != "uint8" and not np.all(np.isfinite(arr)):
                raise ValueError(f"observation {key!r} holds NaN or infinite values")

    def to_dict(self) -> dict[str, Any]:
        return {k: {"shape": list(s.shape), "dtype": s.dtype} for k, s in self.entries.items()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> ObservationSpec:
        return cls({k: ArraySpec(tuple(v["shape"]), v["dtype"]) for k, v in d.items()})


@dataclasses.dataclass(frozen=True)
class ActionSpec:
    """Continuous action in ``[-1, 1]^dim`` plus an optional discrete gripper command."""

    dim: int
    has_gripper: bool = False

    def validate(self, action: Any, batch_ndim: int = 0) -> None:
        a = np.asarray(action)
        if a.shape[batch_ndim:] != (self.dim,):
            raise ValueError(f"action has shape {a.shape}, expected (..., {self.dim})")
        if not np.all(np.isfinite(a)):
            raise ValueError("action holds NaN or infinite values")


@dataclasses.dataclass(frozen=True)
class EnvSpec:
    """What an agent is built from: the observation and action specs."""

    observation: ObservationSpec
    action: ActionSpec

    def to_dict(self) -> dict[str, Any]:
        return {
            "observation": self.observation.to_dict(),
            "action": {"dim": self.action.dim, "has_gripper": self.action.has_gripper},
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> EnvSpec:
        return cls(ObservationSpec.from_dict(d["observation"]), ActionSpec(**d["action"]))


def state_env_spec(state_dim: int, action_dim: int, has_gripper: bool = False) -> EnvSpec:
    """Spec for a proprio-only task."""
    return EnvSpec(
        ObservationSpec({STATE_KEY: ArraySpec((state_dim,), "float32")}),
        ActionSpec(action_dim, has_gripper),
    )


def pixel_env_spec(
    state_dim: int,
    action_dim: int,
    cameras: tuple[str, ...] = ("front", "wrist"),
    image_size: int = 128,
    has_gripper: bool = False,
) -> EnvSpec:
    """Spec for a task with proprioception and one or more cameras."""
    entries = {STATE_KEY: ArraySpec((state_dim,), "float32")}
    for cam in cameras:
        entries[IMAGE_PREFIX + cam] = ArraySpec((image_size, image_size, 3), "uint8")
    return EnvSpec(ObservationSpec(entries), ActionSpec(action_dim, has_gripper))


# A training batch is a plain dict pytree so that it crosses jit, pmap and scan unchanged:
#   observations / next_observations: dict[str, array[B, ...]]
#   actions: float32[B, dim]        (the executed action, after clipping)
#   gripper_actions: int32[B]       (only when the action spec has a gripper)
#   rewards: float32[B]
#   terminated, truncated, is_intervention: float32[B] in {0, 1}
# ``Batch`` names that convention; ``example_batch`` builds one for shape inference.
Batch = dict[str, Any]

BATCH_SCALAR_KEYS = ("rewards", "terminated", "truncated", "is_intervention")


def example_batch(spec: EnvSpec, batch_size: int) -> Batch:
    """A zero batch with the shapes and dtypes the agents expect."""
    b: Batch = {
        "observations": spec.observation.zeros((batch_size,)),
        "next_observations": spec.observation.zeros((batch_size,)),
        "actions": np.zeros((batch_size, spec.action.dim), np.float32),
    }
    for k in BATCH_SCALAR_KEYS:
        b[k] = np.zeros((batch_size,), np.float32)
    if spec.action.has_gripper:
        b["gripper_actions"] = np.full((batch_size,), GRIPPER_STAY, np.int32)
    return b
