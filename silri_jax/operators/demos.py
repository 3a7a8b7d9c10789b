"""Recording demonstrations with a simulated operator in the demo file's episode format."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import gymnasium as gym
import numpy as np

from silri_jax.data.demos import Episode
from silri_jax.envs.wrappers import hold_action
from silri_jax.operators.simulated import SimulatedOperator


def record_demonstrations(
    env: gym.Env,
    n: int = 20,
    profile: str = "expert",
    seed: int = 0,
    only_successful: bool = True,
    max_attempts: int | None = None,
    operator: Any | None = None,
) -> list[Episode]:
    """Runs ``n`` operator-driven episodes on a made env (``silri_jax.envs.make``).

    Each episode is seeded ``seed, seed + 1, ...``, so a demo set is reproducible. The
    operator drives every step; actions stored are the executed ones from ``info`` (after
    clipping), and every episode keeps its true final observation. Failed episodes are
    dropped when ``only_successful`` (then at most ``max_attempts``, default ``3 n``, run).
    ``operator`` (any ``Operator``) records them instead of the simulated operator of
    ``profile``; it must return an action on every step (``None`` is an error naming the
    step), since there is no policy to fall back on.
    """
    if n <= 0:
        raise ValueError(f"number of demonstrations must be positive, got {n}")
    episodes: list[Episode] = []
    attempts = max_attempts or 3 * n
    driver = SimulatedOperator(profile, always=True, seed=seed) if operator is None \
        else _MustAct(operator)
    with _operator_driving(env, driver):
        for i in range(attempts):
            if len(episodes) >= n:
                break
            ep = _run_episode(env, seed + i)
            if ep is not None and (ep[1] or not only_successful):
                episodes.append(ep[0])
    if len(episodes) < n:
        raise RuntimeError(
            f"only {len(episodes)} of {n} demonstrations succeeded in {attempts} attempts"
        )
    return episodes


class _MustAct:
    """An operator that must act on every step (recording demonstrations)."""

    def __init__(self, operator: Any) -> None:
        self.operator, self.step = operator, 0

    def reset(self, seed: int | None) -> None:
        self.step = 0
        if hasattr(self.operator, "reset"):
            self.operator.reset(seed)

    def __call__(self, state: Any, proposed: Any) -> Any:
        action = self.operator(state, proposed)
        if action is None:
            raise ValueError(
                f"the operator {type(self.operator).__name__} returned None at step "
                f"{self.step} of a demonstration: to record demonstrations it must act on "
                "every step (give its factory an 'always' argument)")
        self.step += 1
        return action


@contextlib.contextmanager
def _operator_driving(env: gym.Env, operator: Any) -> Iterator[None]:
    """``operator`` drives every step of ``env`` (a ``silri_jax.envs.make`` env) inside
    the block; the env's own operator is put back after it."""
    wrapper = env
    while not hasattr(wrapper, "operator"):
        if not hasattr(wrapper, "env"):
            raise ValueError("an operator can drive only an env built by silri_jax.envs.make")
        wrapper = wrapper.env
    previous = wrapper.operator
    wrapper.operator = operator
    try:
        yield
    finally:
        wrapper.operator = previous


def evaluate_operator(env: gym.Env, profile: str, episodes: int, seed: int
                      ) -> dict[str, float]:
    """The simulated operator of ``profile`` alone, driving every step of ``episodes``
    episodes seeded ``seed, seed + 1, ...`` (the policy evaluation's seeds): the level a
    learned policy is compared with. Returns ``success_rate`` and ``mean_episode_length``.
    """
    if episodes <= 0:
        raise ValueError(f"episodes must be positive, got {episodes}")
    successes, lengths = [], []
    with _operator_driving(env, SimulatedOperator(profile, always=True, seed=seed)):
        for i in range(episodes):
            episode, success = _run_episode(env, seed + i)
            successes.append(float(success))
            lengths.append(len(episode.actions))
    return {"success_rate": float(np.mean(successes)),
            "mean_episode_length": float(np.mean(lengths))}


def _run_episode(env: gym.Env, seed: int) -> tuple[Episode, bool]:
    obs, _ = env.reset(seed=seed)
    frames = {k: [v] for k, v in obs.items()}
    actions, grippers, rewards, terms, truncs = [], [], [], [], []
    zero = hold_action(env)
    while True:
        obs, reward, terminated, truncated, info = env.step(zero)
        for k, v in obs.items():
            frames[k].append(v)
        actions.append(info["executed_action"])
        grippers.append(info.get("executed_gripper_action", 1))
        rewards.append(reward)
        terms.append(terminated)
        truncs.append(truncated)
        if terminated or truncated:
            break
    has_gripper = isinstance(env.action_space, gym.spaces.Dict)
    episode = Episode(
        observations={k: np.stack(v) for k, v in frames.items()},
        actions=np.stack(actions).astype(np.float32),
        rewards=np.asarray(rewards, np.float32),
        terminated=np.asarray(terms, np.uint8),
        truncated=np.asarray(truncs, np.uint8),
        gripper_actions=np.asarray(grippers, np.int32) if has_gripper else None,
    )
    return episode, bool(info.get("success", False))
