"""The learned reward in the loop, and a recording aid, as gymnasium wrappers.

``LearnedReward`` replaces the env's reward and termination by the classifier's verdict:
success is declared only after ``consecutive`` frames in a row with p > threshold (and the
model's predicate), never in the first ``warmup_steps`` steps (a reset frame can look like
anything). Stages (several classifiers, in order) latch: once stage i is declared it stays
achieved and stage i + 1's classifier takes over; the last stage is the task's success.
The simulator's own verdict is kept beside it in ``info["sim_success"]`` (and its reward
in ``info["sim_reward"]``) for logging only: nothing here reads it.

``ContinueAfterSuccess`` keeps a successful episode going for a few more steps before it
terminates, so a recording holds more than the single positive frame a terminating
success leaves (the one-tick-key-press problem, in simulation).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import gymnasium as gym

from silri_jax.envs import env_spec
from silri_jax.reward.detector import SuccessDetector
from silri_jax.reward.model_file import Classifier


def episode_step_limit(env: gym.Env) -> int | None:
    """``max_steps`` of the first ``TimeLimit`` in ``env``'s wrapper chain, if any."""
    e: Any = env
    while e is not None:
        limit = getattr(e, "max_steps", None)
        if isinstance(limit, int):
            return limit
        e = getattr(e, "env", None)
    return None


class LearnedReward(gym.Wrapper):
    """Reward and termination from one classifier, or from a sequence of stage classifiers.

    Args:
        classifier: a loaded ``Classifier`` or one per stage, in order.
        consecutive: frames in a row above threshold; None: each model file's own.
        warmup_steps: no success declared before this step of the episode.
        success_reward / step_reward: reward of a step that holds the task's success, and
            of every other step.
        stage_reward: reward of the step that completes an intermediate stage.
        terminate_on_success: ``terminated`` when the last stage is declared.
        latch: without termination, success once declared holds for the episode; off, it
            is re-judged every step (the run of frames above threshold must go on).
        max_episode_steps: truncation; None: the env's own ``TimeLimit`` (which cannot
            truncate on a step where the simulator says success, so it is redone here).
    """

    def __init__(self, env: gym.Env, classifier: Classifier | Sequence[Classifier], *,
                 consecutive: int | None = None, warmup_steps: int = 3,
                 success_reward: float = 10.0, step_reward: float = -0.05,
                 stage_reward: float = 0.0, terminate_on_success: bool = True,
                 latch: bool = True, max_episode_steps: int | None = None) -> None:
        super().__init__(env)
        stages = [classifier] if isinstance(classifier, Classifier) else list(classifier)
        if not stages:
            raise ValueError("LearnedReward needs at least one classifier")
        spec = env_spec(env)
        for clf in stages:
            clf.check_spec(spec)
        self.stages = stages
        self.detectors = [SuccessDetector(c.threshold, int(consecutive or c.consecutive),
                                          int(warmup_steps)) for c in stages]
        self.success_reward, self.step_reward = float(success_reward), float(step_reward)
        self.stage_reward = float(stage_reward)
        self.terminate_on_success, self.latch = bool(terminate_on_success), bool(latch)
        self.max_steps = max_episode_steps or episode_step_limit(env)
        self._reset_episode()

    def _reset_episode(self) -> None:
        self.t, self.stage, self.succeeded = 0, 0, False
        for d in self.detectors:
            d.reset()

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self._reset_episode()
        obs, info = self.env.reset(**kwargs)
        info["sim_success"] = bool(info.get("success", False))
        info["success"] = False
        info["reward_stage"] = 0
        return obs, info

    def step(self, action: Any):  # type: ignore[override]
        obs, sim_reward, _sim_terminated, truncated, info = self.env.step(action)
        self.t += 1
        last = len(self.stages) - 1
        t0 = time.perf_counter()
        clf = self.stages[self.stage]
        prob = clf.prob(obs)
        ok = clf.predicate(obs)
        info["reward_infer_ms"] = 1000.0 * (time.perf_counter() - t0)
        declared = self.detectors[self.stage].update(prob, ok, self.t)
        reward = self.step_reward
        if self.stage < last and declared:
            self.stage += 1  # latched: an achieved stage is never taken back
            reward += self.stage_reward
        elif self.stage == last:
            if declared and not self.succeeded:
                self.succeeded = True
            elif not self.latch and not declared:
                self.succeeded = False
        success = self.succeeded
        if success:
            reward += self.success_reward
        terminated = success and self.terminate_on_success
        if self.max_steps is not None and self.t >= self.max_steps and not terminated:
            truncated = True
        info["sim_success"] = bool(info.get("success", False))
        info["sim_reward"] = float(sim_reward)
        info["success"] = success
        info["reward_prob"] = prob
        info["reward_predicate"] = ok
        info["reward_stage"] = self.stage
        return obs, float(reward), bool(terminated), bool(truncated and not terminated), info


def learned_reward_from_config(env: gym.Env, loop: Any) -> gym.Env:
    """``env`` wrapped as the ``loop`` section of ``reward_config()`` says (unchanged when
    ``loop.model`` is empty); each model file is loaded and checked against the env."""
    from silri_jax.reward.model_file import load_classifier

    paths = [p.strip() for p in str(loop.model).split(",") if p.strip()]
    if not paths:
        return env
    spec = env_spec(env)
    stages = [load_classifier(p, spec) for p in paths]
    k = int(loop.consecutive)
    return LearnedReward(env, stages, consecutive=None if k < 0 else k,
                         warmup_steps=int(loop.warmup_steps),
                         success_reward=float(loop.success_reward),
                         step_reward=float(loop.step_reward),
                         terminate_on_success=bool(loop.terminate_on_success),
                         latch=bool(loop.latch))


class ContinueAfterSuccess(gym.Wrapper):
    """After the first step that says success, the episode runs ``steps`` more steps and
    then terminates (the simulator's termination is held back until then)."""

    def __init__(self, env: gym.Env, steps: int) -> None:
        super().__init__(env)
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.steps = int(steps)
        self.max_steps = episode_step_limit(env)
        self._since: int | None = None
        self._t = 0

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self._since, self._t = None, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        if self._since is None and info.get("success"):
            self._since = 0
        elif self._since is not None:
            self._since += 1
        if self._since is not None:
            info["success_seen"] = True
            terminated = self._since >= self.steps
        if self.max_steps is not None and self._t >= self.max_steps and not terminated:
            truncated = True
        return obs, reward, bool(terminated), bool(truncated and not terminated), info
