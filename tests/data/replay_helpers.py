"""Transitions whose observations encode (episode id, step), so every link can be checked.

``state = [episode, step, 0, ...]`` and each camera is a grey image of value
``(7 * episode + 3 * step + camera) % 256``: grey frames survive yuv420 exactly, so the
images can be checked against the state after decoding too.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.data import ReplayBuffer

STATE_DIM = 4
ACTION_DIM = 3


def pixel_spec(size: int = 8, gripper: bool = False) -> specs.EnvSpec:
    return specs.pixel_env_spec(STATE_DIM, ACTION_DIM, ("front", "wrist"), size, gripper)


def grey(episode: int, step: int, cam: int) -> int:
    return (7 * episode + 3 * step + cam) % 256


def make_obs(spec: specs.EnvSpec, episode: int, step: int) -> dict[str, np.ndarray]:
    obs = spec.observation.zeros()
    obs["state"][:2] = (episode, step)
    for cam, key in enumerate(spec.observation.image_keys):
        obs[key][...] = grey(episode, step, cam)
    return obs


def insert_step(
    buf: ReplayBuffer,
    episode: int,
    step: int,
    *,
    terminated: bool = False,
    truncated: bool = False,
    is_intervention: bool = False,
) -> None:
    """Inserts step ``step`` of ``episode``: obs (e, t) -> next obs (e, t + 1)."""
    spec = buf.spec
    grip = specs.GRIPPER_STAY if spec.action.has_gripper else None
    buf.insert(
        make_obs(spec, episode, step),
        np.full(ACTION_DIM, (step % 10) / 10.0, np.float32),
        float(step),
        terminated,
        truncated,
        make_obs(spec, episode, step + 1),
        is_intervention,
        episode,
        step,
        grip,
    )


def check_links(batch: dict[str, Any]) -> int:
    """Asserts every row pairs obs (e, t) with next obs (e, t + 1); returns the row count."""
    obs, nxt = batch["observations"], batch["next_observations"]
    s, ns = obs["state"].reshape(-1, STATE_DIM), nxt["state"].reshape(-1, STATE_DIM)
    np.testing.assert_array_equal(ns[:, 0], s[:, 0], err_msg="next obs from another episode")
    np.testing.assert_array_equal(ns[:, 1], s[:, 1] + 1, err_msg="next obs is not step + 1")
    rewards = batch["rewards"].reshape(-1)
    np.testing.assert_array_equal(rewards, s[:, 1], err_msg="reward not from this transition")
    for cam, key in enumerate(k for k in obs if k.startswith("images/")):
        img = obs[key].reshape(len(s), -1)
        nimg = nxt[key].reshape(len(s), -1)
        exp = (7 * s[:, 0] + 3 * s[:, 1] + cam).astype(np.int64) % 256
        np.testing.assert_array_equal(img, np.broadcast_to(exp[:, None], img.shape))
        np.testing.assert_array_equal(nimg, np.broadcast_to((exp[:, None] + 3) % 256, img.shape))
    return len(s)
