"""The learner and an actor with ``runtime.actor_tokens_file``: the actor takes its own
entry and its transitions arrive; an actor whose id the file lists under another token is
refused with the reason, before it steps."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import tiny_config

from silri_jax import actor as actor_mod
from silri_jax import learner as learner_mod
from silri_jax.transport.client import TransportError

pytestmark = pytest.mark.timeout(300)


def test_an_actor_with_its_own_token_trains_and_a_wrong_one_is_refused(tmp_path, demos):
    tokens = tmp_path / "tokens.json"
    tokens.write_text(json.dumps({"actor-0": "zero-0123456789abcdef",
                                  "actor-1": "one-0123456789abcdef"}))
    cfg = tiny_config.get_config()
    cfg.demos.path = demos
    cfg.runtime.run_dir = str(tmp_path / "run")
    cfg.runtime.address = "127.0.0.1:0"
    cfg.runtime.actor_tokens_file = str(tokens)
    cfg.agent.pretrain_steps = 0
    cfg.runtime.start_training_after = 10**6  # ingest only
    cfg.runtime.updates_per_env_step = 0.0
    cfg.runtime.env_steps = 60
    cfg.runtime.actor_spool_dir = ""
    learner = learner_mod.Learner(cfg)
    failure: dict[str, Any] = {}

    def serve() -> None:
        try:
            learner.run()
        except BaseException as e:  # reported below
            failure["learner"] = e

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        deadline = time.monotonic() + 120
        while getattr(learner, "server", None) is None and time.monotonic() < deadline:
            time.sleep(0.05)
        acfg = cfg.copy_and_resolve_references()
        acfg.runtime.address = learner.server.address
        done = actor_mod.Actor(acfg, 0, quiet=True).run()
        assert done["steps"] == 60 and done["flushed"]
        assert learner.counts["env_steps"] == 60
        # actor-1's entry replaced: the file on its PC holds a token the learner's lacks
        wrong = tmp_path / "wrong.json"
        wrong.write_text(json.dumps({"actor-1": "not-the-learners-token"}))
        acfg.runtime.actor_tokens_file = str(wrong)
        with pytest.raises(TransportError, match="wrong token for actor id 'actor-1'"):
            actor_mod.Actor(acfg, 1, quiet=True)
        assert learner.counts["env_steps"] == 60
    finally:
        learner.stop(reason="test over")
        t.join(120)
    assert "learner" not in failure, failure
