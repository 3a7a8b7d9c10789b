"""Validation of incoming transitions, before anything touches a buffer's storage.

Every check runs on the whole chunk first, so a bad field raises ``ValueError`` naming it
and nothing already stored is changed (a partially written chunk would leave frames and
transitions disagreeing).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax.specs import NUM_GRIPPER_ACTIONS, EnvSpec

# Executed actions are clipped to [-1, 1]; allow float round-off, nothing more.
ACTION_TOLERANCE = 1e-5


@dataclasses.dataclass(frozen=True)
class TransitionChunk:
    """N validated transitions as arrays with a leading axis N (host numpy)."""

    observations: dict[str, np.ndarray]
    next_observations: dict[str, np.ndarray]
    actions: np.ndarray  # float32[N, d]
    rewards: np.ndarray  # float32[N]
    terminated: np.ndarray  # uint8[N]
    truncated: np.ndarray  # uint8[N]
    is_intervention: np.ndarray  # uint8[N]
    episode_id: np.ndarray  # int64[N]
    step: np.ndarray  # int64[N]
    gripper_actions: np.ndarray | None  # int32[N] when the spec has a gripper

    def __len__(self) -> int:
        return len(self.rewards)

    def select(self, index: np.ndarray) -> TransitionChunk:
        """The transitions at ``index`` (an integer array), in its order."""
        def take(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, dict):
                return {k: v[index] for k, v in x.items()}
            return x[index]

        return TransitionChunk(**{f.name: take(getattr(self, f.name)) for f in
                                  dataclasses.fields(self)})

    def slice(self, lo: int, hi: int) -> TransitionChunk:
        def cut(x: Any) -> Any:
            if x is None:
                return None
            if isinstance(x, dict):
                return {k: v[lo:hi] for k, v in x.items()}
            return x[lo:hi]

        return TransitionChunk(**{f.name: cut(getattr(self, f.name)) for f in
                                  dataclasses.fields(self)})


def _flag(name: str, value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind not in "biuf":
        raise ValueError(f"{name} must be boolean or numeric, got dtype {arr.dtype}")
    if not np.all((arr == 0) | (arr == 1)):
        raise ValueError(f"{name} must be 0/1 (or bool), got values {np.unique(arr)[:5]}")
    return arr.astype(np.uint8)


def _integers(name: str, value: Any, n: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.shape != (n,):
        raise ValueError(f"{name} has shape {arr.shape}, expected ({n},)")
    if arr.dtype.kind not in "iu":
        raise ValueError(f"{name} must be an integer, got dtype {arr.dtype}")
    return arr.astype(np.int64)


def _observation(name: str, spec: EnvSpec, obs: Any, n: int) -> dict[str, np.ndarray]:
    if not isinstance(obs, Mapping):
        raise ValueError(f"{name} must be a dict of arrays, got {type(obs).__name__}")
    try:
        spec.observation.validate(obs, batch_ndim=1)
    except ValueError as e:
        raise ValueError(f"{name}: {e}") from None
    out = {}
    for key in spec.observation.entries:
        arr = np.asarray(obs[key])
        if arr.shape[:1] != (n,):
            raise ValueError(f"{name}: {key!r} has {arr.shape[:1]} rows, expected {n}")
        out[key] = arr
    return out


def validate_chunk(
    spec: EnvSpec,
    obs: Mapping[str, Any],
    action: Any,
    reward: Any,
    terminated: Any,
    truncated: Any,
    next_obs: Mapping[str, Any],
    is_intervention: Any,
    episode_id: Any,
    step: Any,
    gripper_action: Any = None,
) -> TransitionChunk:
    """Checks a batch of N transitions (leading axis N everywhere) against ``spec``."""
    actions = np.asarray(action)
    if actions.ndim != 2:
        raise ValueError(f"action must be [N, {spec.action.dim}], got shape {actions.shape}")
    n = actions.shape[0]
    if actions.dtype.kind != "f":
        raise ValueError(f"action must be floating point, got dtype {actions.dtype}")
    spec.action.validate(actions, batch_ndim=1)
    if np.any(np.abs(actions) > 1.0 + ACTION_TOLERANCE):
        raise ValueError(
            "action outside [-1, 1]: store the executed (clipped) action, max |a| = "
            f"{float(np.max(np.abs(actions))):.4g}"
        )
    rewards = np.asarray(reward)
    if rewards.shape != (n,) or rewards.dtype.kind not in "biuf":
        raise ValueError(f"reward must be numeric of shape ({n},), got {rewards.dtype} "
                         f"{rewards.shape}")
    if not np.all(np.isfinite(rewards)):
        raise ValueError("reward holds NaN or infinite values")
    grip = None
    if spec.action.has_gripper:
        if gripper_action is None:
            raise ValueError("gripper_action is required: the action spec has a gripper")
        grip = _integers("gripper_action", gripper_action, n)
        if np.any((grip < 0) | (grip >= NUM_GRIPPER_ACTIONS)):
            raise ValueError(f"gripper_action must be in [0, {NUM_GRIPPER_ACTIONS}), got "
                             f"{np.unique(grip)[:5]}")
        grip = grip.astype(np.int32)
    elif gripper_action is not None:
        raise ValueError("gripper_action given but the action spec has no gripper")
    steps = _integers("step", step, n)
    if np.any(steps < 0):
        raise ValueError("step must be >= 0")
    return TransitionChunk(
        observations=_observation("obs", spec, obs, n),
        next_observations=_observation("next_obs", spec, next_obs, n),
        actions=actions.astype(np.float32),
        rewards=rewards.astype(np.float32),
        terminated=_flag("terminated", terminated, n),
        truncated=_flag("truncated", truncated, n),
        is_intervention=_flag("is_intervention", is_intervention, n),
        episode_id=_integers("episode_id", episode_id, n),
        step=steps,
        gripper_actions=grip,
    )


# The column names transitions travel under everywhere outside a buffer: the wire codec,
# the actor's spool, the trainers. ``chunk_from_columns`` is the one place they meet the
# buffers' record.
COLUMNS = ("observations", "next_observations", "actions", "rewards", "terminated",
           "truncated", "is_intervention", "episode_ids", "steps", "gripper_actions")


def chunk_from_columns(spec: EnvSpec, columns: Mapping[str, Any]) -> TransitionChunk:
    """Columns named as in ``COLUMNS`` (leading axis N; ``gripper_actions`` only with a
    gripper) -> one validated ``TransitionChunk``."""
    missing = [k for k in COLUMNS[:-1] if k not in columns]
    if missing:
        raise ValueError(f"transition columns missing: {missing}")
    return validate_chunk(
        spec, columns["observations"], columns["actions"], columns["rewards"],
        columns["terminated"], columns["truncated"], columns["next_observations"],
        columns["is_intervention"], columns["episode_ids"], columns["steps"],
        columns.get("gripper_actions"))


def expand_one(value: Any) -> Any:
    """One transition's field -> the same with a leading axis of 1 (dicts key by key)."""
    if value is None:
        return None
    if isinstance(value, Mapping):
        return {k: np.asarray(v)[None] for k, v in value.items()}
    return np.asarray(value)[None]


def continuation(
    chunk: TransitionChunk,
    last_ids: tuple[int, int] | None,
    last_next_obs: Mapping[str, np.ndarray] | None,
) -> np.ndarray:
    """Which transitions continue the one inserted just before them.

    A transition continues when it has the previous transition's episode id, the next
    step, and an observation identical to the previous next observation. Checking the
    content as well as the ids costs a compare per insert and means that a caller who
    reuses an episode id, skips a step or resets mid-episode still gets its true
    observation stored instead of a silently wrong link.
    """
    n = len(chunk)
    cont = np.zeros(n, bool)
    if n == 0:
        return cont
    ep, st = chunk.episode_id, chunk.step
    cont[1:] = (ep[1:] == ep[:-1]) & (st[1:] == st[:-1] + 1)
    if last_ids is not None and last_next_obs is not None:
        cont[0] = ep[0] == last_ids[0] and st[0] == last_ids[1] + 1
    for key, obs in chunk.observations.items():
        nxt = chunk.next_observations[key]
        if n > 1:
            same = (obs[1:] == nxt[:-1]).reshape(n - 1, -1).all(axis=1)
            cont[1:] &= same
        if cont[0]:
            assert last_next_obs is not None
            cont[0] = bool(np.array_equal(obs[0], last_next_obs[key]))
    return cont
