"""The policy outside the learner: its file (saved, loaded, evaluated) and the glue
between the agent's batched outputs and one env step.

A policy file is an ``.npz`` without pickle: the actor's parameters flattened by path,
the env spec and the agent config as JSON, and a format version, so an evaluation script
rebuilds the agent and acts with nothing else.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np
from flax import traverse_util

from silri_jax.agents import make_agent
from silri_jax.agents.base import Agent, AgentState
from silri_jax.specs import EnvSpec

POLICY_FORMAT_VERSION = 1


def save_policy(path: str | os.PathLike[str], actor_params: Mapping, spec: EnvSpec,
                agent_cfg: ml_collections.ConfigDict) -> pathlib.Path:
    """Writes the actor's parameters (flattened, no pickle) with the spec and agent config,
    atomically, so an evaluation script can rebuild the agent and act."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = traverse_util.flatten_dict(jax.device_get(dict(actor_params)), sep="/")
    arrays = {"params/" + k: np.asarray(v) for k, v in flat.items()}
    arrays["format_version"] = np.int64(POLICY_FORMAT_VERSION)
    arrays["spec_json"] = np.str_(json.dumps(spec.to_dict()))
    arrays["agent_config_json"] = np.str_(agent_cfg.to_json())
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return path


def load_policy(path: str | os.PathLike[str]) -> tuple[dict[str, Any], EnvSpec, Agent]:
    """(actor params, spec, agent) from ``save_policy``; ``agent.act(params, ...)`` acts."""
    with np.load(path, allow_pickle=False) as z:
        if int(z["format_version"]) != POLICY_FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported policy format {int(z['format_version'])}")
        spec = EnvSpec.from_dict(json.loads(str(z["spec_json"])))
        cfg = ml_collections.ConfigDict(json.loads(str(z["agent_config_json"])))
        flat = {k[len("params/"):]: z[k] for k in z.files if k.startswith("params/")}
    cfg.network.hidden_dims = tuple(cfg.network.hidden_dims)
    params = traverse_util.unflatten_dict(flat, sep="/")
    return params, spec, make_agent(cfg, spec)


def batched(obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[None] for k, v in obs.items()}


def env_action(action: np.ndarray, gripper: np.ndarray | None, has_gripper: bool) -> Any:
    """One env action from the agent's batched outputs (batch of one)."""
    a = np.asarray(action[0], np.float32)
    if has_gripper:
        return {"action": a, "gripper": int(np.asarray(gripper)[0])}
    return a


def random_action(rng: np.random.Generator, spec: EnvSpec) -> Any:
    a = rng.uniform(-1.0, 1.0, spec.action.dim).astype(np.float32)
    if spec.action.has_gripper:
        return {"action": a, "gripper": int(rng.integers(0, 3))}
    return a


@dataclasses.dataclass
class EvalResult:
    success_rate: float
    mean_episode_length: float
    mean_return: float


def evaluate(env: Any, agent: Agent, actor_params: Mapping, episodes: int,
             seed: int) -> EvalResult:
    """Deterministic policy, no operator, seeds ``seed .. seed + episodes - 1``."""
    successes, lengths, returns = [], [], []
    key = jax.random.PRNGKey(0)  # unused by a deterministic policy
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, length, ret, info = False, 0, 0.0, {}
        while not done:
            a, g = agent.act(actor_params, batched(obs), key, deterministic=True)
            obs, r, term, trunc, info = env.step(env_action(a, g, agent.has_gripper))
            length, ret, done = length + 1, ret + float(r), bool(term or trunc)
        successes.append(float(bool(info.get("success", False))))
        lengths.append(length)
        returns.append(ret)
    return EvalResult(float(np.mean(successes)), float(np.mean(lengths)), float(np.mean(returns)))


def host_actor_params(agent: Agent, state: AgentState) -> dict[str, Any]:
    """A host copy of the actor's parameters: updates donate the learner state's buffers,
    so a view into them would be deleted by the next update."""
    return jax.tree.map(lambda x: np.array(x, copy=True), agent.actor_params(state))


def floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in jax.device_get(dict(metrics)).items()}
