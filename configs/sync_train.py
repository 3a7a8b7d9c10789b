"""Config of the synchronous, single-process training loop (``python -m silri_jax.sync_train``).

Load it with ``--config=configs/sync_train.py`` (the default) and override any field on the
command line, e.g. ``--config.algo=sac --config.env_steps=20000``. The defaults mirror
the main job of ``configs/train.py:silri_pick_cube_state`` (SiLRI on ``pick_cube`` with state
observations and the simulated operator, one update call per env step) in one process; the
sample-efficiency benchmark starts from them. About 5-7 minutes on a 2-core CPU.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from silri_jax.agents.config import override_section


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()

    # ---- task -----------------------------------------------------------------------------
    # simulated task: pick_cube, insert_peg or open_drawer (see docs/simulation.md)
    c.task = "pick_cube"
    # "state" (proprioception + object state) or "pixels" (state + front and wrist cameras)
    c.obs_mode = "state"
    # camera image size for obs_mode="pixels"
    c.image_size = 64
    # extra SimConfig fields for the task (e.g. {"max_episode_steps": 80}); unknown refused
    c.sim = ml_collections.ConfigDict()

    # ---- algorithm ------------------------------------------------------------------------
    # agent: silri, sac, hgdagger or bc (defaults in silri_jax/agents/config.py)
    c.algo = "silri"
    # MLP widths of every network; smaller than the agents' (256, 256) so a CPU keeps up
    c.hidden_dims = (128, 128)
    # transitions per update batch (half D_R, half D_I for mixed agents)
    c.batch_size = 128
    # update-to-data ratio inside one update call: utd-1 critic-only steps + one full step
    c.utd = 2
    # pre-training steps on the demonstrations, where the agent has pre-training
    # (SiLRI: beta and a BC actor); -1 keeps the agent's default
    c.pretrain_steps = 1000
    # every other field of the agent config (silri_jax/agents/config.py) with its default:
    # set one with --config.agent_overrides.<field>=<value>; the fields that differ from
    # the defaults are applied (also to another --config.algo that has them)
    c.agent_overrides = override_section(c.algo)

    # ---- human in the loop -----------------------------------------------------------------
    # simulated operator's skill profile for interventions: expert, skilled, novice or
    # unskilled (the novice alone succeeds in about half of the pick_cube episodes)
    c.operator_profile = "novice"
    # profile that records the offline demonstrations (its successful episodes only)
    c.demo_profile = "novice"
    # let the operator intervene during online training (off: pure RL after the demos)
    c.intervention = True
    # demonstrations recorded into D_I before training (the papers use 20)
    c.num_demos = 20

    # ---- budget -----------------------------------------------------------------------------
    # online environment steps
    c.env_steps = 12000
    # update calls (each one UTD group) per environment step; fixed, so a run's result does
    # not depend on the machine's speed
    c.updates_per_env_step = 1
    # online steps before the first update (D_R holds only a few transitions before that)
    c.start_training_after = 200
    # uniformly random actions for the first steps (0: the pre-trained policy acts at once)
    c.random_steps = 0
    # capacity of D_R and of D_I (transitions)
    c.replay_capacity = 200_000

    # ---- evaluation and logging ----------------------------------------------------------
    # deterministic evaluation without interventions every K online steps (0: only at the end)
    c.eval_every = 2000
    # episodes per evaluation (fixed seeds, the same each time)
    c.eval_episodes = 10
    # episodes of the final evaluation
    c.final_eval_episodes = 20
    # terminal status line and TensorBoard training scalars every N env steps
    c.log_every = 200
    # run seed: network init, demos, episode seeds, sampling
    c.seed = 0

    # ---- outputs ------------------------------------------------------------------------------
    # TensorBoard event files go here (a sub-directory per run is NOT added)
    c.log_dir = "runs/sync_train"
    # full learner-state checkpoint (Orbax, silri_jax.checkpoint) at the end; empty: none
    c.checkpoint_dir = config_dict.placeholder(str)
    # final actor parameters as .npz (load with silri_jax.sync_train.load_policy); empty: none
    c.save_policy_path = "runs/sync_train/policy.npz"
    return c
