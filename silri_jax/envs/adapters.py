"""Any gymnasium env with Box or Dict observations and a Box action, as one of ours.

Observations become our dict: a Box becomes ``{"state": float32}``; a Dict keeps uint8
HxWx3 entries as ``"images/<key>"`` and concatenates every other entry (sorted by key,
flattened) into ``"state"``. Actions are normalised to ``[-1, 1]`` and rescaled to the
env's bounds, so agents always emit the same range. Steps report ``executed_action``.

Success is read from the step's ``info``: ``success_key`` names the entry, or, empty,
the first of ``SUCCESS_KEYS`` present (gymnasium's ``is_success``, ``success``, gym-hil's
``succeed``). An operator sees ``privileged_state()``: what ``privileged_state_fn(env)``
returns for the unwrapped env when one is given, else the env's own ``privileged_state()``
when it has one, else the latest observation in our dict form, so an operator written for
an external env needs nothing the env does not offer.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from silri_jax import specs


def _is_image(space: gym.Space) -> bool:
    return (
        isinstance(space, gym.spaces.Box)
        and space.dtype == np.uint8
        and len(space.shape) == 3
        and space.shape[-1] == 3
    )


SUCCESS_KEYS = ("is_success", "success", "succeed")


class GymAdapter(gym.Wrapper):
    """Converts observations and actions; rewards, termination and truncation pass through."""

    def __init__(self, env: gym.Env, success_key: str = "",
                 privileged_state_fn: Callable[[gym.Env], Mapping[str, Any]] | None = None
                 ) -> None:
        super().__init__(env)
        self.success_key = success_key
        self._privileged_state_fn = privileged_state_fn
        self._last_obs: dict[str, np.ndarray] = {}
        act = env.action_space
        if not isinstance(act, gym.spaces.Box) or len(act.shape) != 1:
            raise ValueError(f"the adapter needs a 1-D Box action space, got {act}")
        self._low = act.low.astype(np.float64)
        self._high = act.high.astype(np.float64)
        self._bounded = bool(np.all(np.isfinite(self._low)) and np.all(np.isfinite(self._high)))
        self.action_space = gym.spaces.Box(-1.0, 1.0, act.shape, np.float32)
        obs = env.observation_space
        if isinstance(obs, gym.spaces.Box):
            self._image_keys: list[str] = []
            self._state_keys: list[str] | None = None
            state_dim = int(np.prod(obs.shape))
        elif isinstance(obs, gym.spaces.Dict):
            self._image_keys = sorted(k for k, s in obs.spaces.items() if _is_image(s))
            self._state_keys = sorted(k for k in obs.spaces if k not in self._image_keys)
            for k in self._state_keys:
                if not isinstance(obs.spaces[k], gym.spaces.Box):
                    raise ValueError(f"observation entry {k!r} is not a Box: {obs.spaces[k]}")
            state_dim = sum(int(np.prod(obs.spaces[k].shape)) for k in self._state_keys)
        else:
            raise ValueError(f"the adapter needs Box or Dict observations, got {obs}")
        spaces: dict[str, gym.Space] = {}
        if state_dim:
            spaces[specs.STATE_KEY] = gym.spaces.Box(-np.inf, np.inf, (state_dim,), np.float32)
        for k in self._image_keys:
            spaces[specs.IMAGE_PREFIX + k] = obs.spaces[k]
        self.observation_space = gym.spaces.Dict(spaces)
        self.env_spec = specs.EnvSpec(
            specs.ObservationSpec(
                {k: specs.ArraySpec(s.shape, s.dtype.name) for k, s in spaces.items()}
            ),
            specs.ActionSpec(act.shape[0], False),
        )

    def _convert(self, obs: Any) -> dict[str, np.ndarray]:
        if self._state_keys is None:
            return {specs.STATE_KEY: np.asarray(obs, np.float32).reshape(-1)}
        out: dict[str, np.ndarray] = {}
        if self._state_keys:
            out[specs.STATE_KEY] = np.concatenate(
                [np.asarray(obs[k], np.float32).reshape(-1) for k in self._state_keys]
            )
        for k in self._image_keys:
            out[specs.IMAGE_PREFIX + k] = np.asarray(obs[k], np.uint8)
        return out

    def privileged_state(self) -> Mapping[str, Any]:
        """What an operator sees before a step (see the module docstring)."""
        if self._privileged_state_fn is not None:
            return self._privileged_state_fn(self.env.unwrapped)
        own = getattr(self.env.unwrapped, "privileged_state", None)
        if callable(own):  # an env written for this project offers its own
            return own()
        return {k: v.copy() for k, v in self._last_obs.items()}

    def _success(self, info: Mapping[str, Any]) -> bool:
        if self.success_key:
            return bool(info.get(self.success_key, False))
        return any(bool(info[k]) for k in SUCCESS_KEYS if k in info)

    def reset(self, **kwargs: Any):  # type: ignore[override]
        obs, info = self.env.reset(**kwargs)
        info.setdefault("is_intervention", False)
        self._last_obs = self._convert(obs)
        return self._last_obs, info

    def step(self, action: Any):  # type: ignore[override]
        a = np.asarray(action, np.float64).reshape(-1)
        if a.shape != self.action_space.shape or not np.all(np.isfinite(a)):
            raise ValueError(f"action must be {self.action_space.shape[0]} finite numbers: {a}")
        a = np.clip(a, -1.0, 1.0)
        raw = self._low + (a + 1.0) * 0.5 * (self._high - self._low) if self._bounded else a
        obs, reward, terminated, truncated, info = self.env.step(
            raw.astype(self.env.action_space.dtype)
        )
        info["executed_action"] = a.astype(np.float32)
        info.setdefault("is_intervention", False)
        info["success"] = self._success(info)
        self._last_obs = self._convert(obs)
        return self._last_obs, float(reward), bool(terminated), bool(truncated), info
