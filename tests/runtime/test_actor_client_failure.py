"""An actor whose client's send thread dies (here: its encoder raises) stops with the
``TransportError`` naming the thread and the cause, and its spool keeps every transition
it stepped that the learner did not acknowledge: a restarted actor resends them."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import tiny_config

from silri_jax import actor as actor_mod
from silri_jax import learner as learner_mod
from silri_jax.runtime import setup
from silri_jax.runtime.spool import read_spool, rows_of
from silri_jax.transport import client as client_mod
from silri_jax.transport import codec
from silri_jax.transport.client import TransportError

pytestmark = pytest.mark.timeout(300)


class _CodecWithBadEncoder:
    """The codec module, except that the client's batch encoder raises."""

    def __getattr__(self, name: str) -> Any:
        return getattr(codec, name)

    @staticmethod
    def build_batch_pb(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("bad encoder")


def test_a_dead_send_thread_stops_the_actor_and_the_spool_keeps_its_steps(
        tmp_path, demos, monkeypatch):
    cfg = tiny_config.get_config()
    cfg.demos.path = demos
    cfg.runtime.run_dir = str(tmp_path / "run")
    cfg.runtime.address = "127.0.0.1:0"
    cfg.agent.pretrain_steps = 0
    cfg.runtime.start_training_after = 10**6  # ingest only: no updates needed here
    cfg.runtime.updates_per_env_step = 0.0
    cfg.runtime.env_steps = 200
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
        acfg = cfg.copy_and_resolve_references()  # the learner's config: the same hash
        acfg.runtime.address = learner.server.address
        actor = actor_mod.Actor(acfg, 0, quiet=True)
        monkeypatch.setattr(client_mod, "codec", _CodecWithBadEncoder())  # not the spool's
        with pytest.raises(TransportError,
                           match="actor client's send thread stopped: ValueError: bad encoder"):
            actor.run()
        assert actor.client.acked_seq == 0 and actor.next_seq > 1
        spool = setup.spool_dir(acfg, actor.actor_id)
        kept = [r[0] for b in read_spool(spool, actor.spec) for r in rows_of(b)]
        # every stepped transition, the one whose send() raised included (it is spooled
        # before it is sent)
        assert kept == list(range(1, actor.next_seq + 1)), kept
        assert learner.counts["env_steps"] == 0
    finally:
        learner.stop(reason="test over")
        t.join(120)
    assert "learner" not in failure, failure
