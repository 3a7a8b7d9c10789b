"""Transitions over loopback gRPC: exactly once, in order, flags intact, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import grpc
import numpy as np
import pytest
from transport_helpers import (
    CONFIG_HASH,
    Recorder,
    make_batch,
    row,
    small_pixel_spec,
    state_spec,
    with_session,
)

from silri_jax.transport import codec, common
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport.client import ActorClient, OutboxFull, TransportError
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)


def _wait(pred, timeout=20.0):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.02)
    return pred()


@pytest.mark.parametrize(
    "spec", [small_pixel_spec(True), state_spec(False)], ids=["pixels+gripper", "state"]
)
def test_roundtrip_over_grpc_with_intervention_flags(spec):
    rec = Recorder()
    with LearnerServer(spec, CONFIG_HASH, rec) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0", linger_s=0.01) as cl:
        b = make_batch(spec, 100, seed=5)
        b["is_intervention"] = (np.arange(100) % 4 == 1).astype(np.float32)
        cl.send(row_slice(b, 0, 40))  # a batch at once
        for i in range(40, 100):  # and one transition at a time
            cl.send(row(b, i))
        assert cl.flush(20)
        assert cl.acked_seq == 100
        assert rec.seqs == [("a0", s) for s in range(1, 101)]
        for i in range(100):
            got, want = rec.by_seq[("a0", i + 1)], row(b, i)
            assert got["is_intervention"] == want["is_intervention"]
            for k in spec.observation.entries:
                np.testing.assert_array_equal(got["observations"][k], want["observations"][k])
                np.testing.assert_array_equal(got["next_observations"][k],
                                              want["next_observations"][k])
            np.testing.assert_array_equal(got["actions"], want["actions"])
            if spec.action.has_gripper:
                assert got["gripper_actions"] == want["gripper_actions"]
        st = srv.stats()
        assert st["received"] == 100 and st["duplicates"] == 0 and st["actors"] == {"a0": 100}


def row_slice(b, start, stop):
    return {k: ({kk: vv[start:stop] for kk, vv in v.items()} if isinstance(v, dict)
                else v[start:stop]) for k, v in b.items()}


def test_learner_restart_mid_stream_delivers_every_transition_exactly_once():
    spec = small_pixel_spec()
    n = 400
    b = make_batch(spec, n, seed=9)
    rec1, rec2 = Recorder(delay_s=0.01), Recorder()
    srv = LearnerServer(spec, CONFIG_HASH, rec1, max_queue=4)
    port = srv.port
    cl = ActorClient(srv.address, spec, CONFIG_HASH, "a0", max_batch=8, linger_s=0.005,
                     backoff_max_s=0.3)
    sender = threading.Thread(target=lambda: [cl.send(row(b, i)) for i in range(n)])
    sender.start()
    assert _wait(lambda: rec1.count() >= 60)
    srv.stop(grace=0)  # the learner dies mid-stream
    state = srv.state_dict()
    delivered_before = rec1.count()
    assert 0 < delivered_before < n
    srv2 = LearnerServer(spec, CONFIG_HASH, rec2, address=f"127.0.0.1:{port}")
    srv2.load_state_dict(state)
    try:
        sender.join(30)
        assert cl.flush(30), cl.stats()
        seqs = [s for _, s in rec1.seqs] + [s for _, s in rec2.seqs]
        assert sorted(seqs) == list(range(1, n + 1))  # none lost, none duplicated
        assert rec2.seqs[0][1] == state["acked_seq"]["a0"] + 1
        for i in (0, delivered_before, n - 1):
            got = {**rec1.by_seq, **rec2.by_seq}[("a0", i + 1)]
            np.testing.assert_array_equal(got["observations"]["images/front"],
                                          b["observations"]["images/front"][i])
        assert cl.stats()["reconnects"] >= 1
    finally:
        cl.close()
        srv2.stop(0)


def test_resent_duplicates_are_dropped_by_the_server():
    spec = state_spec()
    rec = Recorder()
    b = make_batch(spec, 20)
    with LearnerServer(spec, CONFIG_HASH, rec) as srv, grpc.insecure_channel(srv.address) as ch:
        stream = ch.stream_stream(common.method("StreamTransitions"))
        md = [(common.MD_PROTOCOL, str(common.PROTOCOL_VERSION)),
              (common.MD_CONFIG, CONFIG_HASH), (common.MD_ACTOR, "a0")]
        msgs = [codec.encode_batch(spec, "a0", 1, row_slice(b, 0, 10)),
                codec.encode_batch(spec, "a0", 5, row_slice(b, 4, 15)),   # 5..10 resent
                codec.encode_batch(spec, "a0", 1, row_slice(b, 0, 10)),   # all resent
                codec.encode_batch(spec, "a0", 16, row_slice(b, 15, 20))]
        md = with_session(ch, spec, md)
        acks = [pb.Ack.FromString(r).acked_seq for r in stream(iter(msgs), metadata=md,
                                                               timeout=10)]
        assert acks == [10, 15, 15, 20]
        assert [s for _, s in rec.seqs] == list(range(1, 21))
        assert srv.stats()["duplicates"] == 6 + 10
        assert srv.state_dict()["acked_seq"] == {"a0": 20}
        # The stored transition 5 is the first copy's (identical data here, but only once).
        np.testing.assert_array_equal(rec.by_seq[("a0", 5)]["actions"], b["actions"][4])
        # A whole new batch is handed over with the very message it came in (the learner
        # logs it without encoding it again); one shortened by deduplication is not.
        assert rec.raws == [msgs[0], None, msgs[3]]


_DYING_ACTOR = textwrap.dedent("""
    import sys, numpy as np
    sys.path.insert(0, {helpers!r})
    from transport_helpers import CONFIG_HASH, make_batch, row, state_spec
    from silri_jax.transport.client import ActorClient
    spec = state_spec()
    cl = ActorClient({address!r}, spec, CONFIG_HASH, "doomed", linger_s=0.001)
    b = make_batch(spec, 50)
    i = 0
    while True:
        cl.send(row(b, i % 50))
        i += 1
        if i == 20:
            print("streaming", flush=True)
""")


def test_an_actor_dying_does_not_disturb_another():
    spec = state_spec()
    rec = Recorder()
    with LearnerServer(spec, CONFIG_HASH, rec) as srv:
        code = _DYING_ACTOR.format(helpers=os.path.dirname(__file__), address=srv.address)
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout.readline().strip() == "streaming"
            with ActorClient(srv.address, spec, CONFIG_HASH, "survivor", linger_s=0.005) as cl:
                b = make_batch(spec, 200, seed=2)
                for i in range(100):
                    cl.send(row(b, i))
                assert _wait(lambda: rec.count("doomed") > 0)
                proc.send_signal(signal.SIGKILL)  # dies mid-stream, no goodbye
                proc.wait(10)
                for i in range(100, 200):
                    cl.send(row(b, i))
                assert cl.flush(20)
                assert [s for a, s in rec.seqs if a == "survivor"] == list(range(1, 201))
                assert cl.ping().params_version == 0  # the server still answers
        finally:
            proc.kill()
    assert srv.stats()["received"] == rec.count()


def test_a_full_learner_slows_the_actor_instead_of_dropping():
    spec = state_spec()
    rec = Recorder()
    rec.gate.clear()  # the learner's storage is stuck
    b = make_batch(spec, 300)
    with LearnerServer(spec, CONFIG_HASH, rec, max_queue=2) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0", max_outbox=100, max_batch=10,
                        linger_s=0.001) as cl:
        for i in range(100):
            cl.send(row(b, i), timeout=1)
        with pytest.raises(OutboxFull, match="outbox full"):
            cl.send(row(b, 100), timeout=0.3)
        assert srv.stats()["queue_depth"] <= 2
        rec.gate.set()
        for i in range(100, 300):
            cl.send(row(b, i), timeout=10)
        assert cl.flush(20)
        assert [s for _, s in rec.seqs] == list(range(1, 301))


def test_config_mismatch_is_fatal_and_reported_to_the_caller():
    spec = state_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder()) as srv:
        cl = ActorClient(srv.address, spec, "another-config", "a0")
        try:
            assert _wait(lambda: cl.error is not None, 10)
            assert "config hash" in str(cl.error)
            with pytest.raises(TransportError, match="FAILED_PRECONDITION"):
                cl.send(row(make_batch(spec, 1), 0))
        finally:
            cl.close()
        assert srv.stats()["refused"].get("config_mismatch", 0) >= 1


def test_episode_stats_reach_the_learner():
    spec = state_spec()
    episodes = []
    with LearnerServer(spec, CONFIG_HASH, Recorder(), on_episode=episodes.append) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0") as cl:
        assert cl.report_episode({"episode_id": 3, "episode_return": 1.5, "length": 40,
                                  "success": True, "intervention_steps": 7, "cycle_s": 2.5})
    assert episodes == [{
        "actor_id": "a0", "episode_id": 3, "episode_return": 1.5, "length": 40,
        "success": True, "intervention_steps": 7, "duration_s": 0.0, "params_version": 0,
        "cycle_s": 2.5,
    }]


def test_a_slow_learner_does_not_hold_the_actor_at_episode_ends():
    """Episode reports go out from a background thread: an actor's control loop must not
    wait on a learner that is slow to answer them."""
    spec = state_spec()
    episodes = []
    release = threading.Event()

    def slow(stats):
        release.wait(5.0)
        episodes.append(stats)

    with LearnerServer(spec, CONFIG_HASH, Recorder(), on_episode=slow) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0") as cl:
        t0 = time.monotonic()
        for i in range(3):
            assert cl.report_episode({"episode_id": i, "length": 10})
        assert time.monotonic() - t0 < 0.5
        assert cl.episodes_pending() >= 1
        release.set()
        assert cl.flush(20)
        assert cl.episodes_pending() == 0
    assert [e["episode_id"] for e in episodes] == [0, 1, 2]


def test_non_loopback_bind_requires_a_token():
    with pytest.raises(ValueError, match="token"):
        LearnerServer(state_spec(), CONFIG_HASH, Recorder(), address="0.0.0.0:0")


def test_send_refuses_a_bad_transition_on_the_actor_naming_the_field():
    spec = small_pixel_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder()) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0") as cl:
        t = row(make_batch(spec, 1), 0)
        t["observations"] = dict(t["observations"], state=np.full(5, np.nan, np.float32))
        with pytest.raises(codec.CodecError, match="observations/state"):
            cl.send(t)
        t = row(make_batch(spec, 1), 0)
        t["next_observations"] = dict(t["next_observations"])
        t["next_observations"]["images/front"] = np.zeros((16, 16, 3), np.float32)
        with pytest.raises(codec.CodecError, match="next_observations/images/front"):
            cl.send(t)
        t = row(make_batch(spec, 1), 0)
        t["is_intervention"] = 0.5
        with pytest.raises(codec.CodecError, match="is_intervention"):
            cl.send(t)
        assert cl.stats()["queued"] == 0
