"""The pixel process test's config: ``configs/train.py:silri_pick_cube_pixels`` with 32x32
cameras, tiny networks and batches, one recorded demo, a few pre-training steps and short
episodes, so learner + actor + evaluation run end to end in about a minute on 2 cores.

Loaded as ``--config=tests/runtime/tiny_pixels_config.py`` (run_dir, address and budget
are set per test).
"""

from __future__ import annotations

import ml_collections

from silri_jax import config_files


def get_config() -> ml_collections.ConfigDict:
    c = config_files.train_config("silri_pick_cube_pixels")
    c.variant = "tiny_pixels"
    c.task.image_size = 32
    c.task.sim = ml_collections.ConfigDict({"max_episode_steps": 40})
    c.demos.num = 1
    # the demo must succeed within 40 steps: the expert, not the main job's novice
    c.demos.profile = "expert"
    c.task.operator_profile = "skilled"
    c.agent.hidden_dims = (32, 32)
    c.agent.batch_size = 8
    c.agent.utd = 1
    c.agent.pretrain_steps = 2
    c.runtime.replay_capacity = 2_000
    c.runtime.start_training_after = 16
    # paced with a small slack, one update per step: the actor must wait for updates
    # through the whole trained part of the run, so newer parameters reach it even on a
    # loaded machine
    c.runtime.updates_per_env_step = 1.0
    c.runtime.pacing_slack_steps = 2
    c.runtime.push_period_s = 0.5
    # the actor at 20 Hz, like a robot: it cannot finish its budget before a loaded
    # learner has ingested the first transitions and started training (before that,
    # pacing lets actors run freely)
    c.runtime.control_hz = 20.0
    c.runtime.checkpoint_every_updates = 0
    c.runtime.log_every_s = 1.0
    c.runtime.first_params_timeout_s = 300.0
    c.runtime.eval_episodes = 1
    return c
