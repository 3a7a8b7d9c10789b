"""``config.reward.loop.model`` through ``training.build.make_env``: every entry point
builds its env there, so the learned reward reaches the actor, evaluation, the recorder and
``sync_train`` alike; empty leaves the env as it was, a missing file is refused at start."""

from __future__ import annotations

import pytest

from silri_jax import config_files
from silri_jax.reward.wrappers import LearnedReward
from silri_jax.training import build


def _has_learned_reward(env) -> bool:
    while env is not None:
        if isinstance(env, LearnedReward):
            return True
        env = getattr(env, "env", None)
    return False


def test_no_model_leaves_the_env_as_it_was():
    c = config_files.train_config("silri_pick_cube_state")
    assert c.reward.loop.model == ""
    env = build.make_env(c)
    assert not _has_learned_reward(env)
    env.close()


def test_a_missing_model_file_is_refused_naming_it(tmp_path):
    c = config_files.train_config("silri_pick_cube_pixels")
    c.reward.loop.model = str(tmp_path / "nope.npz")
    with pytest.raises((FileNotFoundError, ValueError), match="nope"):
        build.make_env(c)
