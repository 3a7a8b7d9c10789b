"""The process tests' config: ``configs/train.py`` on the 2-D reach task with tiny networks.

Loaded as ``--config=tests/runtime/tiny_config.py`` and overridden per test with absl
flags (run_dir, address, budget).
"""

from __future__ import annotations

import ml_collections

from silri_jax import config_files


def get_config() -> ml_collections.ConfigDict:
    c = config_files.train_config("silri_pick_cube_state")
    c.variant = "tiny_reach"
    c.task.name = "gym:tests.runtime.reach_gym:SilriReach-v0"
    c.task.operator = "tests.runtime.reach_gym:make_operator"
    c.demos.num = 0
    c.demos.path = ""  # set by the tests (a file of expert episodes)
    c.agent.hidden_dims = (64, 64)
    c.agent.batch_size = 128
    c.agent.utd = 2
    c.agent.pretrain_steps = 300
    c.agent.overrides = ml_collections.ConfigDict({"discount": 0.9})
    c.runtime.replay_capacity = 20_000
    c.runtime.start_training_after = 100
    c.runtime.push_period_s = 0.5
    c.runtime.checkpoint_every_updates = 200
    c.runtime.log_every_s = 1.0
    c.runtime.first_params_timeout_s = 300.0
    c.runtime.eval_episodes = 20
    return c
