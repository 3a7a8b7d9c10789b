"""The learner's status says what it waits for: a learner no actor has reached says it is
waiting for actors (with its address) instead of printing empty figures; pre-training
that diverges stops with the metric named instead of serving a broken policy."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
import tiny_config

from silri_jax import learner as learner_mod
from silri_jax.status import Status
from silri_jax.training.trainer import run_pretraining


def test_a_learner_without_actors_says_it_waits_for_them(tmp_path, demos):
    cfg = tiny_config.get_config()
    cfg.demos.path = demos
    cfg.runtime.run_dir = str(tmp_path / "run")
    cfg.runtime.address = "127.0.0.1:0"
    cfg.agent.pretrain_steps = 0
    learner = learner_mod.Learner(cfg, quiet=True)
    buf = io.StringIO()
    learner.logger.line = Status(stream=buf, tty=False)
    learner.serve()
    try:
        window = {"t": 0.0, "updates": 0, "env_steps": 0, "interventions": 0}
        learner._log(window)
    finally:
        learner.server.stop(grace=0.1)
        learner.wal.close()
        learner.ckpt.close()
    out = buf.getvalue()
    assert f"[status] waiting for actors to connect on {learner.server.address} (" in out, out
    assert "nan" not in out
    history = (tmp_path / "run" / "history.jsonl").read_text().splitlines()
    assert len(history) == 1 and '"env_steps": 0' in history[0]


class _DivergingAgent:
    def pretrain(self, state, batch, decoder):
        return state, {"actor_loss": np.float32(1.0), "beta_nll": np.float32(math.inf)}


def test_diverging_pretraining_stops_naming_the_metric():
    with pytest.raises(FloatingPointError, match="beta_nll"):
        run_pretraining(_DivergingAgent(), None, lambda n: ({}, None), 300)
