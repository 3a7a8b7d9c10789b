"""LearnedReward: k frames in a row, warm-up, termination, latching, stages, the
simulator's verdict logged but unused, and a mismatched model refused at construction."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from reward_helpers import SIZE, prep

from silri_jax.envs.wrappers import TimeLimit
from silri_jax.reward.model import ModelSpec, RewardModel
from silri_jax.reward.model_file import Classifier, ClassifierFileError
from silri_jax.reward.preprocessing import Predicate
from silri_jax.reward.wrappers import LearnedReward


class ScriptedEnv(gym.Env):
    """Observations carry a scripted score in state[0] (and state[1]); the simulator's
    success (which terminates, as pick_cube's does) is scripted apart from it."""

    def __init__(self, scores, sim_success, cameras=("front", "wrist")) -> None:
        self.scores, self.sim_success = np.asarray(scores, np.float32), sim_success
        spaces = {"state": gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)}
        for c in cameras:
            spaces[f"images/{c}"] = gym.spaces.Box(0, 255, (SIZE, SIZE, 3), np.uint8)
        self.observation_space = gym.spaces.Dict(spaces)
        self.action_space = gym.spaces.Box(-1, 1, (3,), np.float32)
        self.t = 0

    def _obs(self):
        obs = {k: np.zeros(s.shape, s.dtype) for k, s in self.observation_space.spaces.items()}
        obs["state"][:2] = self.scores[min(self.t, len(self.scores) - 1)]
        obs["state"][2] = 1.0
        return obs

    def reset(self, *, seed=None, options=None):
        self.t = 0
        return self._obs(), {"success": False}

    def step(self, action):
        self.t += 1
        success = self.t in self.sim_success
        return self._obs(), -0.05 + 10.0 * success, success, False, {"success": success}


class ScoreClassifier(Classifier):
    """A classifier whose probability is a state entry: the rule, not the network, is
    under test."""

    def __init__(self, index=0, predicate="") -> None:
        super().__init__(RewardModel(ModelSpec(), prep()), {}, temperature=1.0, threshold=0.5,
                         consecutive=2, predicate=Predicate.parse(predicate))
        self.index = index

    def prob(self, obs):
        return float(obs["state"][self.index])


def _run(env, steps=None):
    env.reset(seed=0)
    rows = []
    for _ in range(steps or 100):
        _, r, term, trunc, info = env.step(np.zeros(3, np.float32))
        rows.append((r, term, trunc, info["success"], info["sim_success"]))
        if term or trunc:
            break
    return rows


def test_success_after_k_frames_in_a_row_and_not_in_the_warm_up() -> None:
    #        t:  1    2    3    4    5    6    7
    scores = [0, 0.9, 0.9, 0.9, 0.2, 0.9, 0.9, 0.9]
    env = LearnedReward(ScriptedEnv(scores, sim_success={2}), ScoreClassifier(),
                        warmup_steps=4, success_reward=1.0, step_reward=0.0)
    rows = _run(env)
    # t=2,3 are above threshold but inside the warm-up; t=4 breaks the run; t=5,6 declare
    assert len(rows) == 6
    assert [r[3] for r in rows] == [False] * 5 + [True]
    assert rows[-1][:2] == (1.0, True) and all(r[0] == 0.0 for r in rows[:-1])
    # the simulator said success at t=2 (and would have terminated): logged, not used
    assert rows[1][4] is True and rows[1][1] is False


def test_the_predicate_must_hold_too() -> None:
    env = LearnedReward(ScriptedEnv([0, 0.9, 0.9, 0.9], set()),
                        ScoreClassifier(predicate="state[2] < 0.5"), warmup_steps=0)
    env = TimeLimit(env, 5)
    assert not any(r[3] for r in _run(env))


def test_truncates_at_the_step_limit_even_when_the_simulator_says_success() -> None:
    inner = TimeLimit(ScriptedEnv([0.0] * 10, sim_success={5}), 5)
    rows = _run(LearnedReward(inner, ScoreClassifier(), warmup_steps=0))
    assert len(rows) == 5 and rows[-1][1:3] == (False, True)


def test_latching_without_termination() -> None:
    scores = [0, 0.9, 0.9, 0.1, 0.1]
    latched = LearnedReward(TimeLimit(ScriptedEnv(scores, set()), 4), ScoreClassifier(),
                            warmup_steps=0, terminate_on_success=False, latch=True)
    assert [r[3] for r in _run(latched)] == [False, True, True, True]
    unlatched = LearnedReward(TimeLimit(ScriptedEnv(scores, set()), 4), ScoreClassifier(),
                              warmup_steps=0, terminate_on_success=False, latch=False)
    assert [r[3] for r in _run(unlatched)] == [False, True, False, False]


def test_stages_latch_in_order() -> None:
    # stage 1 reads state[0], stage 2 state[1]; the scripted env sets both to the score
    env = LearnedReward(TimeLimit(ScriptedEnv([0, 0.9, 0.9, 0.1, 0.9, 0.9], set()), 10),
                        [ScoreClassifier(0), ScoreClassifier(1)], warmup_steps=0,
                        stage_reward=0.5, success_reward=1.0, step_reward=0.0)
    env.reset()
    out = [env.step(np.zeros(3))[1:] for _ in range(5)]
    assert [o[3]["reward_stage"] for o in out] == [0, 1, 1, 1, 1]
    assert [o[0] for o in out] == [0.0, 0.5, 0.0, 0.0, 1.0]
    assert out[-1][1] is True


def test_a_model_of_other_cameras_is_refused_at_construction() -> None:
    with pytest.raises(ClassifierFileError, match="camera 'wrist'"):
        LearnedReward(ScriptedEnv([0], set(), cameras=("front",)), ScoreClassifier())
