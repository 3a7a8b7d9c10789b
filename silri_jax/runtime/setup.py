"""Runtime-only settings of the actor-learner processes. Everything built from the config
(env, operator, agent, config hash, validation) is in ``silri_jax.training.build``."""

from __future__ import annotations

import pathlib

import ml_collections


def spool_dir(config: ml_collections.ConfigDict, actor_id: str) -> pathlib.Path | None:
    """The actor's spool folder: ``runtime.actor_spool_dir`` (``{run_dir}`` replaced) /
    ``actor_id``; None when the spool is off (an empty setting)."""
    raw = config.runtime.get("actor_spool_dir", "")
    if not isinstance(raw, str):
        raise ValueError(f"config.runtime.actor_spool_dir must be a string, got {raw!r}")
    if not raw:
        return None
    try:
        path = raw.format(run_dir=config.runtime.run_dir)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"config.runtime.actor_spool_dir={raw!r}: only {{run_dir}} may be "
                         f"substituted ({e!r})") from e
    return pathlib.Path(path) / actor_id
