"""Faults found from outside: one hostile batch must not stop intake for every actor, and
a client holding the token must not take over another actor's stream. Sequence numbers
are bounded at the edge, a stream is bound to the session its handshake was given, and
the ingest thread survives a batch it fails on (or, if it ever dies, Health names it)."""

from __future__ import annotations

import time

import grpc
import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec, with_session

from silri_jax.transport import codec, common
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)
TOKEN = "tok"


def _md(actor: str) -> list[tuple[str, str]]:
    return [(common.MD_PROTOCOL, str(common.PROTOCOL_VERSION)),
            (common.MD_CONFIG, CONFIG_HASH), (common.MD_ACTOR, actor), (common.MD_TOKEN, TOKEN)]


def _raw_batch(spec, actor: str, first_seq: int, n: int = 4) -> bytes:
    """A well-formed message with any first_seq (the encoder refuses out-of-range ones)."""
    msg = codec.build_batch_pb(spec, actor, 1, make_batch(spec, n), share_frames=False)
    msg.first_seq = first_seq
    return msg.SerializeToString()


def _stream(ch, raws, md):
    call = ch.stream_stream(common.method("StreamTransitions"))
    return [pb.Ack.FromString(r) for r in call(iter(raws), metadata=md, timeout=10)]


def _good_actor_is_stored(srv, rec, actor: str, n: int = 6) -> None:
    spec = state_spec()
    with ActorClient(srv.address, spec, CONFIG_HASH, actor, token=TOKEN) as cl:
        b = make_batch(spec, n)
        for i in range(n):
            cl.send(row(b, i))
        assert cl.flush(15)
    assert rec.count(actor) == n


def _health(ch) -> pb.HealthReply:
    call = ch.unary_unary(common.method("Health"))
    return pb.HealthReply.FromString(call(pb.HealthRequest().SerializeToString(),
                                          metadata=_md("probe"), timeout=5))


@pytest.fixture()
def server():
    rec = Recorder()
    srv = LearnerServer(state_spec(), CONFIG_HASH, rec, token=TOKEN, max_seq_gap=1000)
    ch = grpc.insecure_channel(srv.address)
    yield srv, ch, rec
    ch.close()
    srv.stop(0)


@pytest.mark.parametrize("first_seq", [2**64 - 2, 2**53 + 1, 0])
def test_out_of_range_sequence_numbers_are_refused_and_intake_goes_on(server, first_seq):
    srv, ch, rec = server
    md = with_session(ch, state_spec(), _md("edge"))
    with pytest.raises(grpc.RpcError) as e:
        _stream(ch, [_raw_batch(state_spec(), "edge", first_seq)], md)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first_seq" in e.value.details()
    _good_actor_is_stored(srv, rec, "after-edge")
    assert _health(ch).ok and srv.stopped() == {}


def test_a_second_client_cannot_write_into_an_actors_stream(server):
    srv, ch, rec = server
    spec = state_spec()
    b = make_batch(spec, 40)
    with ActorClient(srv.address, spec, CONFIG_HASH, "actor-0", token=TOKEN) as real:
        for i in range(20):
            real.send(row(b, i))
        assert real.flush(15)
        # While the real actor streams: a handshake under its id is refused ...
        hs = ch.unary_unary(common.method("Handshake"))
        req = pb.HandshakeRequest(protocol_version=common.PROTOCOL_VERSION,
                                  config_hash=CONFIG_HASH, env_spec=codec.env_spec_to_pb(spec),
                                  actor_id="actor-0")
        with pytest.raises(grpc.RpcError) as e:
            hs(req.SerializeToString(), metadata=_md("actor-0"), timeout=5)
        assert e.value.code() == grpc.StatusCode.ALREADY_EXISTS
        # ... and a stream without its session (or with a made-up one) is refused.
        for md in (_md("actor-0"), [*_md("actor-0"), (common.MD_SESSION, "guess")]):
            with pytest.raises(grpc.RpcError) as e:
                _stream(ch, [_raw_batch(spec, "actor-0", 10**6)], md)
            assert e.value.code() in (grpc.StatusCode.ABORTED, grpc.StatusCode.ALREADY_EXISTS)
        for i in range(20, 40):
            real.send(row(b, i))
        assert real.flush(15)
        assert real.stats()["acked"] == 40
    assert [s for a, s in rec.seqs if a == "actor-0"] == list(range(1, 41))
    assert srv.stats()["gaps"] == 0 and srv.stats()["duplicates"] == 0


def test_a_far_ahead_batch_under_a_free_id_is_refused_and_the_real_actor_loses_nothing(
        server):
    srv, ch, rec = server
    spec = state_spec()
    b = make_batch(spec, 30)
    with ActorClient(srv.address, spec, CONFIG_HASH, "actor-0", token=TOKEN) as real:
        for i in range(10):
            real.send(row(b, i))
        assert real.flush(15)
    # The real actor is away; an intruder takes a session for its id and jumps ahead.
    md = with_session(ch, spec, _md("actor-0"))
    with pytest.raises(grpc.RpcError) as e:
        _stream(ch, [_raw_batch(spec, "actor-0", 10**6)], md)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "first_seq 1000000" in e.value.details() and "past actor 'actor-0'" in e.value.details()
    with ActorClient(srv.address, spec, CONFIG_HASH, "actor-0", token=TOKEN,
                     first_seq=11) as real:
        for i in range(10, 30):
            real.send(row(b, i))
        assert real.flush(15)
    assert [s for a, s in rec.seqs if a == "actor-0"] == list(range(1, 31))


def test_the_ingest_thread_survives_a_batch_it_fails_on(server, monkeypatch):
    srv, ch, rec = server
    store, calls = srv._store, []

    def poisoned(batch):
        calls.append(batch.first_seq)
        if len(calls) == 1:
            raise ValueError("Value out of range")  # what pb.Ack raised for a huge seq
        return store(batch)

    monkeypatch.setattr(srv, "_store", poisoned)
    md = with_session(ch, state_spec(), _md("poison"))
    with pytest.raises(grpc.RpcError) as e:
        _stream(ch, [_raw_batch(state_spec(), "poison", 1)], md)
    assert e.value.code() == grpc.StatusCode.INTERNAL
    assert "could not store the batch" in e.value.details()
    _good_actor_is_stored(srv, rec, "after-poison")
    assert _health(ch).ok


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_dead_ingest_thread_is_named_by_health(server, monkeypatch):
    srv, ch, _rec = server

    def fatal(batch):
        raise SystemExit("simulated death of the ingest thread")

    monkeypatch.setattr(srv, "_store", fatal)
    md = with_session(ch, state_spec(), _md("killer"))
    with pytest.raises(grpc.RpcError):
        call = ch.stream_stream(common.method("StreamTransitions"))
        list(call(iter([_raw_batch(state_spec(), "killer", 1)]), metadata=md, timeout=3))
    deadline = time.monotonic() + 10
    while srv.stopped() == {} and time.monotonic() < deadline:
        time.sleep(0.05)
    health = _health(ch)
    assert not health.ok and health.stopped[0].startswith("ingest: SystemExit")
