"""An external gymnasium env (written here, not one of the project's) plugged in with
demonstrations and a user-supplied operator that sees only the observation: the config is
checked with clear errors, the operator records the demonstrations, and success is read
from the env's own info key (``succeed``, as gym-hil spells it)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import tiny_config

from silri_jax.envs.adapters import GymAdapter
from silri_jax.training import build

ENV_ID = "PointGoalExternal-v0"


class PointGoalEnv(gym.Env):
    """A point moving towards a goal in the plane; Dict observations, actions in [-2, 2],
    no ``privileged_state`` and success as ``info["succeed"]``."""

    def __init__(self) -> None:
        self.observation_space = gym.spaces.Dict({
            "agent_pos": gym.spaces.Box(-5.0, 5.0, (2,), np.float32),
            "goal": gym.spaces.Box(-5.0, 5.0, (2,), np.float32)})
        self.action_space = gym.spaces.Box(-2.0, 2.0, (2,), np.float32)
        self.pos = np.zeros(2, np.float32)
        self.goal = np.zeros(2, np.float32)
        self.t = 0

    def _obs(self) -> dict[str, np.ndarray]:
        return {"agent_pos": self.pos.copy(), "goal": self.goal.copy()}

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = self.np_random.uniform(-3, 3, 2).astype(np.float32)
        self.goal = self.np_random.uniform(-3, 3, 2).astype(np.float32)
        self.t = 0
        return self._obs(), {}

    def step(self, action):
        self.pos = np.clip(self.pos + 0.25 * np.asarray(action, np.float32), -5, 5)
        self.t += 1
        succeed = bool(np.linalg.norm(self.pos - self.goal) < 0.3)
        return self._obs(), float(succeed), succeed, self.t >= 60, {"succeed": succeed}


gym.register(ENV_ID, entry_point=PointGoalEnv)
TASK = f"gym:{__name__}:{ENV_ID}"


class PointOperator:
    """Sees only the adapter's observation (``state`` = agent_pos, goal): steers towards
    the goal; intervenes when the proposal points away from it, or always."""

    def __init__(self, always: bool = False) -> None:
        self.always, self.calls = always, 0

    def reset(self, seed):
        pass

    def __call__(self, state, proposed):
        self.calls += 1
        s = np.asarray(state["state"], np.float32)
        to_goal = s[2:] - s[:2]
        want = np.clip(to_goal / max(np.linalg.norm(to_goal), 1e-6), -1, 1).astype(np.float32)
        if self.always or float(np.dot(np.asarray(proposed).reshape(-1), want)) < 0:
            return want
        return None


def make_operator(profile: str = "skilled", seed: int = 0, always: bool = False):
    return PointOperator(always=always)


def _config(tmp_path, **task):
    c = tiny_config.get_config()
    c.task.name = TASK
    c.task.operator = f"{__name__}:make_operator"
    c.demos.num = 3
    c.agent.pretrain_steps = 20
    c.runtime.run_dir = str(tmp_path / "run")
    c.runtime.address = "127.0.0.1:0"
    for k, v in task.items():
        c.task[k] = v
    return c


def test_missing_operator_or_demos_is_a_clear_config_error(tmp_path):
    c = _config(tmp_path, operator="simulated")
    with pytest.raises(ValueError, match=r"config.demos.num=3: the built-in simulated "
                       r"operator demonstrates only the project's own tasks"):
        build.validate(c)
    c.demos.num = 0
    with pytest.raises(ValueError, match=r"config\.task\.intervention=True: the built-in"):
        build.validate(c)
    c.task.intervention = False
    build.validate(c)  # pure RL on an external env, no demos: allowed
    with pytest.raises(ValueError, match=r"config\.task\.operator=.nosuch\.module:f."):
        build.validate(_config(tmp_path, operator="nosuch.module:f"))


def test_the_users_operator_records_demos_and_success_comes_from_succeed(tmp_path):
    from silri_jax.learner import Learner

    cfg = _config(tmp_path)
    build.validate(cfg)
    learner = Learner(cfg, quiet=True)
    try:
        # Three successful demonstrations: recorded by PointOperator(always=True) and
        # judged by info["succeed"] (a missed success key would leave none successful).
        assert learner.counts["demo_transitions"] == len(learner.d_i) > 0
        assert learner.counts["pretrain_steps"] == 20
    finally:
        learner.wal.close()
        learner.ckpt.close()


def test_success_key_and_the_operators_view():
    env = build.envs.make(TASK, {"max_episode_steps": 60}, operator=PointOperator())
    obs, _ = env.reset(seed=3)
    away = -(obs["state"][2:] - obs["state"][:2])
    _, _, _, _, info = env.step(np.clip(away, -1, 1).astype(np.float32))
    assert info["is_intervention"]  # the operator judged from the observation alone
    adapter = GymAdapter(PointGoalEnv(), success_key="is_success")
    adapter.reset(seed=0)
    adapter.unwrapped.goal = adapter.unwrapped.pos.copy()
    _, _, _, _, info = adapter.step(np.zeros(2, np.float32))
    assert info["succeed"] and not info["success"]  # only the named key counts
    auto = GymAdapter(PointGoalEnv())
    auto.reset(seed=0)
    auto.unwrapped.goal = auto.unwrapped.pos.copy()
    assert auto.step(np.zeros(2, np.float32))[-1]["success"]
