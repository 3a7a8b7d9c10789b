"""The 2-D reach task of ``tests/agents/reach_env.py`` as a gymnasium env, for the process
tests: ``--config.task.name=gym:tests.runtime.reach_gym:SilriReach-v0`` (gymnasium imports
this module from the id) and ``--config.task.operator=tests.runtime.reach_gym:make_operator``.

The dynamics are reach_env's own jitted functions; this file only adapts them to the
gymnasium API, adds ``privileged_state`` for the operator, and an operator that takes
over when the policy heads away from the goal (a person correcting a bad move).
"""

from __future__ import annotations

import pathlib
import sys
from typing import Any, ClassVar

import gymnasium as gym
import jax
import numpy as np

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "agents"))
import reach_env as R

ENV_ID = "SilriReach-v0"
TASK = f"gym:tests.runtime.reach_gym:{ENV_ID}"
OPERATOR = "tests.runtime.reach_gym:make_operator"

_reset = jax.jit(R.reset)
_step = jax.jit(R.step)


class ReachEnv(gym.Env):
    """Box(6) observation, Box(2) action in [-1, 1]; ``info["success"]`` at the goal."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (R.OBS_DIM,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (R.ACTION_DIM,), np.float32)
        self._state: R.ReachState | None = None

    def _obs(self) -> np.ndarray:
        return np.asarray(R.observe(self._state)["state"], np.float32)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        key = jax.random.PRNGKey(int(self.np_random.integers(0, 2**31 - 1)))
        self._state = _reset(key)
        return self._obs(), {}

    def step(self, action: Any):
        self._state, _, r, term, trunc, succ = _step(self._state, np.asarray(action, np.float32))
        return self._obs(), float(r), bool(term), bool(trunc), {"success": bool(succ)}

    def privileged_state(self) -> dict[str, np.ndarray]:
        return {"state": self._obs()}


class ReachOperator:
    """Takes over for ``hold`` steps when the proposed action points more than 60 degrees
    off the goal direction; acts like reach_env's suboptimal operator (rotated, noisy)."""

    def __init__(self, profile: str = "skilled", seed: int = 0, hold: int = 4) -> None:
        self.profile, self.hold = profile, hold
        self.key = jax.random.PRNGKey(seed)
        self.left = 0

    def reset(self, seed: int | None) -> None:
        if seed is not None:
            self.key = jax.random.PRNGKey(seed)
        self.left = 0

    def __call__(self, state: dict[str, np.ndarray], proposed: Any) -> np.ndarray | None:
        obs = {"state": np.asarray(state["state"])[None]}
        expert = np.asarray(R.expert_action(obs))[0]
        p = np.asarray(proposed, np.float32).reshape(-1)
        cos = float(p @ expert / (np.linalg.norm(p) * np.linalg.norm(expert) + 1e-9))
        if self.left == 0 and cos < 0.5:
            self.left = self.hold
        if self.left == 0:
            return None
        self.left -= 1
        self.key, k = jax.random.split(self.key)
        return np.asarray(R.operator_action(obs, k), np.float32)[0]


def make_operator(profile: str = "skilled", seed: int = 0) -> ReachOperator:
    return ReachOperator(profile, seed)


def write_demos(path: str, n: int = 20, seed: int = 0) -> int:
    """``n`` expert episodes in the demo file format; returns the transitions written."""
    from silri_jax.data.demos import Episode, save_demos

    env = ReachEnv()
    episodes = []
    for i in range(n):
        obs, _ = env.reset(seed=seed + i)
        frames, acts, rews, terms, truncs = [obs], [], [], [], []
        done = False
        while not done:
            a = np.asarray(R.expert_action({"state": obs[None]}))[0].astype(np.float32)
            obs, r, term, trunc, _ = env.step(a)
            frames.append(obs)
            acts.append(a)
            rews.append(r)
            terms.append(term)
            truncs.append(trunc)
            done = term or trunc
        episodes.append(Episode({"state": np.stack(frames)}, np.stack(acts),
                                np.asarray(rews, np.float32), np.asarray(terms, np.uint8),
                                np.asarray(truncs, np.uint8)))
    save_demos(path, R.SPEC, episodes)
    return sum(len(e) for e in episodes)


gym.register(ENV_ID, entry_point=ReachEnv)
