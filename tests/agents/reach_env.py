"""A 2-D reach task in JAX, small enough to train an agent on in a test.

A point starts in ``[-0.8, 0.8]^2`` and must reach a random goal at least
``MIN_GOAL_DIST`` away. The action in ``[-1, 1]^2`` moves it by ``STEP_SIZE * action``
(clipped to the arena ``[-1, 1]^2``). Reaching within ``SUCCESS_RADIUS`` of the goal
terminates the episode with ``SUCCESS_REWARD``; every other step costs ``STEP_COST`` (the
reward shape of the SiLRI paper: a sparse success bonus and a small time penalty), and
``MAX_STEPS`` steps truncate it. The far corner is at most 17 expert steps away, so the
time limit leaves room for a policy that is good but not perfect.

Every function is pure and works on ONE environment; ``jax.vmap`` runs N in parallel
(``reset_batch`` / ``step_batch`` are the jitted, vectorised forms the tests use).
The observation is ``{"state": [pos, goal, goal - pos]}`` (float32[6]).

Two scripted operators drive the human side of the tests: ``expert_action`` goes straight
to the goal, ``operator_action`` does the same with a rotated heading and noise (a
suboptimal human that still gets there, as SiLRI assumes).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from silri_jax import specs

STEP_SIZE = 0.1
SUCCESS_RADIUS = 0.1
MAX_STEPS = 30
SUCCESS_REWARD = 10.0
STEP_COST = -0.05
START_BOX = 0.8
MIN_GOAL_DIST = 0.3
OBS_DIM = 6
ACTION_DIM = 2
SPEC = specs.state_env_spec(OBS_DIM, ACTION_DIM)


class ReachState(NamedTuple):
    pos: jax.Array  # float32[2]
    goal: jax.Array  # float32[2]
    t: jax.Array  # int32[]


def observe(state: ReachState) -> dict[str, jax.Array]:
    return {"state": jnp.concatenate([state.pos, state.goal, state.goal - state.pos])}


def reset(key: jax.Array) -> ReachState:
    """A start and a goal at least ``MIN_GOAL_DIST`` apart (first of 8 candidate goals
    that is far enough, so the distribution needs no rejection loop)."""
    k_pos, k_goal = jax.random.split(key)
    pos = jax.random.uniform(k_pos, (2,), jnp.float32, -START_BOX, START_BOX)
    goals = jax.random.uniform(k_goal, (8, 2), jnp.float32, -START_BOX, START_BOX)
    far = jnp.linalg.norm(goals - pos, axis=-1) >= MIN_GOAL_DIST
    goal = goals[jnp.argmax(far)]
    return ReachState(pos, goal, jnp.zeros((), jnp.int32))


def step(
    state: ReachState, action: jax.Array
) -> tuple[ReachState, dict[str, jax.Array], jax.Array, jax.Array, jax.Array, jax.Array]:
    """(next state, next obs, reward, terminated, truncated, success)."""
    a = jnp.clip(action, -1.0, 1.0)
    pos = jnp.clip(state.pos + STEP_SIZE * a, -1.0, 1.0)
    t = state.t + 1
    success = jnp.linalg.norm(state.goal - pos) < SUCCESS_RADIUS
    reward = jnp.where(success, SUCCESS_REWARD, STEP_COST).astype(jnp.float32)
    truncated = (t >= MAX_STEPS) & ~success
    nxt = ReachState(pos, state.goal, t)
    return nxt, observe(nxt), reward, success, truncated, success


reset_batch = jax.jit(jax.vmap(reset))
step_batch = jax.jit(jax.vmap(step))
observe_batch = jax.jit(jax.vmap(observe))


def reset_keys(key: jax.Array, n: int) -> ReachState:
    return reset_batch(jax.random.split(key, n))


@jax.jit
def expert_action(obs: dict[str, jax.Array]) -> jax.Array:
    """Straight at the goal at full speed; the last step lands on it. obs leaves [B, 6]."""
    delta = obs["state"][..., 4:6]
    scale = jnp.maximum(jnp.max(jnp.abs(delta), -1, keepdims=True), STEP_SIZE)
    return delta / scale


@jax.jit
def operator_action(
    obs: dict[str, jax.Array], key: jax.Array, angle: float = 0.7, noise: float = 0.3
) -> jax.Array:
    """A suboptimal human: the expert's heading rotated by ``angle`` radians plus Gaussian
    noise, clipped into [-1, 1]. Still converges (the rotation is under 90 degrees)."""
    a = expert_action(obs)
    c, s = jnp.cos(angle), jnp.sin(angle)
    rotated = jnp.stack([c * a[..., 0] - s * a[..., 1], s * a[..., 0] + c * a[..., 1]], -1)
    return jnp.clip(rotated + noise * jax.random.normal(key, a.shape), -1.0, 1.0)
