"""One environment step as every trainer takes it, and the tally of one episode.

``sync_train`` and the actor step the environment the same way: a uniform random action
during the first random steps, otherwise a sample of the stochastic policy; the env's
``InterventionWrapper`` (or the bridge's mixer) decides what is executed; and what the
buffers store is what was EXECUTED (``info["executed_action"]``, the operator's when it
took over), never what the policy proposed. Keeping that in one place keeps the two
trainers' data identical.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np

from silri_jax.agents import Agent
from silri_jax.data.transitions import expand_one
from silri_jax.specs import EnvSpec
from silri_jax.training.policy import batched, env_action, random_action


def choose_action(agent: Agent, params: Any, obs: Mapping[str, np.ndarray], key: jax.Array,
                  rng: np.random.Generator, spec: EnvSpec, explore: bool
                  ) -> tuple[Any, jax.Array]:
    """The action to send and the next PRNG key: uniform random when ``explore`` (the
    random steps at the start), else a sample of the stochastic policy."""
    if explore:
        return random_action(rng, spec), key
    key, act_key = jax.random.split(key)
    a, g = agent.act(params, batched(obs), act_key, deterministic=False)
    return env_action(a, g, spec.action.has_gripper), key


def transition_row(obs: Mapping[str, np.ndarray], next_obs: Mapping[str, np.ndarray],
                   reward: float, terminated: bool, truncated: bool, info: Mapping[str, Any],
                   episode_id: int, step: int, has_gripper: bool) -> dict[str, Any]:
    """The stored transition for one env step, keyed as ``chunk_from_columns`` and the
    transport read it, with the EXECUTED action and gripper command."""
    row = {
        "observations": obs, "next_observations": next_obs,
        "actions": np.asarray(info["executed_action"], np.float32),
        "rewards": float(reward), "terminated": int(bool(terminated)),
        "truncated": int(bool(truncated)), "is_intervention": int(bool(info["is_intervention"])),
        "episode_ids": int(episode_id), "steps": int(step),
    }
    if has_gripper:
        row["gripper_actions"] = int(info["executed_gripper_action"])
    return row


def row_as_columns(row: Mapping[str, Any]) -> dict[str, Any]:
    """One row as columns of length 1 (the shape ``chunk_from_columns`` takes)."""
    return {k: expand_one(v) for k, v in row.items()}


@dataclasses.dataclass
class Tally:
    """Steps, return, intervention steps and takeovers (a takeover is the first step of a
    run of intervention steps) over one episode, or over a whole run whose episode
    boundaries are marked with ``new_episode`` (a takeover never spans two episodes)."""

    length: int = 0
    ret: float = 0.0
    interventions: int = 0
    takeovers: int = 0
    _prev_intervention: bool = False

    def add(self, reward: float, is_intervention: bool) -> None:
        self.length += 1
        self.ret += float(reward)
        self.interventions += int(is_intervention)
        self.takeovers += int(is_intervention and not self._prev_intervention)
        self._prev_intervention = bool(is_intervention)

    def new_episode(self) -> None:
        self._prev_intervention = False

    @property
    def intervention_rate(self) -> float:
        return self.interventions / max(self.length, 1)
