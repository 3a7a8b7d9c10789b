"""Small agents and fixed batches shared by the agent tests."""

from __future__ import annotations

import jax
import numpy as np
import pytest

from silri_jax import specs
from silri_jax.agents import get_config, make_agent


def tiny_config(name: str, **overrides):
    cfg = get_config(name)
    cfg.network.hidden_dims = (16, 16)
    cfg.network.latent_dim = 8
    cfg.batch_size = 4
    for k, v in overrides.items():
        cfg[k] = v
    return cfg


def fixed_batch(spec: specs.EnvSpec, n: int = 4, seed: int = 0, utd: int | None = None):
    rng = np.random.default_rng(seed)
    b = specs.example_batch(spec, n)
    b["observations"]["state"] = rng.normal(size=(n, spec.observation.entries["state"].shape[0]))
    b["next_observations"]["state"] = rng.normal(size=b["observations"]["state"].shape)
    b["observations"]["state"] = b["observations"]["state"].astype(np.float32)
    b["next_observations"]["state"] = b["next_observations"]["state"].astype(np.float32)
    b["actions"] = rng.uniform(-0.9, 0.9, size=(n, spec.action.dim)).astype(np.float32)
    b["rewards"] = rng.normal(size=n).astype(np.float32)
    b["terminated"] = np.array([0, 1, 0, 0] * (n // 4), np.float32)
    b["truncated"] = np.array([0, 0, 1, 0] * (n // 4), np.float32)
    b["is_intervention"] = np.array([1, 0, 1, 0] * (n // 4), np.float32)
    if spec.action.has_gripper:
        b["gripper_actions"] = rng.integers(0, 3, size=n).astype(np.int32)
    if utd is not None:
        b = jax.tree.map(lambda x: np.stack([x] * utd), b)
    return b


@pytest.fixture
def state_spec() -> specs.EnvSpec:
    return specs.state_env_spec(3, 2)


def build(name: str, spec: specs.EnvSpec, seed: int = 0, **overrides):
    agent = make_agent(tiny_config(name, **overrides), spec)
    return agent, agent.init(jax.random.PRNGKey(seed))
