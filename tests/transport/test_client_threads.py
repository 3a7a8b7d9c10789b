"""Each worker thread of the actor's client (send, params, episodes), poisoned in turn with
an exception it does not handle, ends the client with a ``TransportError`` naming the
thread and the cause: ``send`` and ``flush`` raise it, ``error`` holds it, and nothing
unacknowledged leaves the outbox. A thread never dies silently while the actor runs on.
The actor itself closes its spool (keeping what the learner has not acknowledged) and
raises the same error (``tests/runtime/test_actor_client_failure.py``)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

from silri_jax.transport import client as client_mod
from silri_jax.transport.client import ActorClient, TransportError
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)


class Poison(RuntimeError):
    pass


def _raise(what: str) -> Any:
    def poisoned(*args: Any, **kwargs: Any) -> Any:
        raise Poison(f"poisoned {what}")
    return poisoned


def _until_error(cl: ActorClient, timeout: float = 20.0) -> TransportError:
    end = time.monotonic() + timeout
    while cl.error is None and time.monotonic() < end:
        time.sleep(0.01)
    assert cl.error is not None, "the client never reported its dead thread"
    return cl.error


def _params() -> dict:
    return {"w": np.ones((3, 2), np.float32)}


def test_a_dead_send_thread_is_named_and_the_outbox_kept(monkeypatch):
    spec = state_spec()
    rec = Recorder()
    with LearnerServer(spec, CONFIG_HASH, rec) as srv:
        cl = ActorClient(srv.address, spec, CONFIG_HASH, "a0", subscribe_params=False)
        try:
            b = make_batch(spec, 4)
            cl.send(row(b, 0))
            assert cl.flush(15) and rec.count("a0") == 1
            monkeypatch.setattr(client_mod.codec, "build_batch_pb", _raise("encoder"))
            for i in range(1, 4):
                cl.send(row(b, i))
            err = _until_error(cl)
            assert "the actor client's send thread stopped: Poison: poisoned encoder" in str(err)
            assert isinstance(err.__cause__, Poison)
            with pytest.raises(TransportError, match="send thread stopped"):
                cl.send(row(b, 0))
            with pytest.raises(TransportError, match="send thread stopped"):
                cl.flush(5)
            assert cl.stats()["outbox"] == 3  # unacknowledged: still held, never dropped
            assert rec.count("a0") == 1
        finally:
            cl.close()


def test_a_dead_params_thread_is_named():
    spec = state_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder()) as srv:
        cl = ActorClient(srv.address, spec, CONFIG_HASH, "a1", params_template=_params())
        try:
            cl._assembler.add = _raise("params assembly")
            srv.publish_params(1, _params())
            err = _until_error(cl)
            assert "the actor client's params thread stopped: Poison: poisoned params " \
                "assembly" in str(err)
            with pytest.raises(TransportError, match="params thread stopped"):
                cl.send(row(make_batch(spec, 1), 0))
        finally:
            cl.close()


def test_a_dead_episode_thread_is_named():
    spec = state_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder()) as srv:
        cl = ActorClient(srv.address, spec, CONFIG_HASH, "a2", subscribe_params=False)
        try:
            cl._stub.ReportEpisode = _raise("episode report")
            cl.report_episode({"episode_id": 1, "episode_return": 1.0, "length": 3})
            err = _until_error(cl)
            assert "the actor client's episodes thread stopped: Poison: poisoned episode " \
                "report" in str(err)
            with pytest.raises(TransportError, match="episodes thread stopped"):
                cl.flush(5)
        finally:
            cl.close()
