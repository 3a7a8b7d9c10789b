"""Config of the synchronous, single-process loop (``python -m silri_jax.sync_train``).

The same schema as ``configs/train.py`` (sections ``agent``, ``task``, ``demos``,
``runtime``; every field documented there): this file only picks the variant and the
loop's budget. Override any field on the command line, e.g.
``--config.agent.algo=sac --config.runtime.env_steps=20000``, or start from another
variant with ``--config=configs/train.py:<variant>``. The defaults mirror the main job
(SiLRI on ``pick_cube`` from state, the novice operator, one update call per env step)
in one process; the sample-efficiency benchmark starts from them. About 5-7 minutes on a
2-core CPU.
"""

from __future__ import annotations

import pathlib

import ml_collections

from silri_jax import config_files


def get_config(variant: str = "silri_pick_cube_state") -> ml_collections.ConfigDict:
    c = config_files.load_module(pathlib.Path(__file__).with_name("train.py")).get_config(
        variant)
    # online environment steps of the loop (it always runs a fixed budget)
    c.runtime.env_steps = 12000
    # TensorBoard events (tb/), the final policy (policy.npz) and checkpoints go here
    c.runtime.run_dir = "runs/sync_train"
    return c
