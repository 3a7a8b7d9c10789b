"""Bad input gets a clear refusal (status code and text), is counted, and the learner keeps
serving: garbage, truncation, wrong version, wrong token, oversized, NaN."""

from __future__ import annotations

import grpc
import numpy as np
import pytest
from transport_helpers import (
    CONFIG_HASH,
    Recorder,
    make_batch,
    row,
    state_spec,
    with_session,
)

from silri_jax.transport import codec, common
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)

TOKEN = "s3cret"
LIMIT = 256 * 1024


def _md(actor="raw", token=TOKEN, version=common.PROTOCOL_VERSION):
    md = [(common.MD_PROTOCOL, str(version)), (common.MD_CONFIG, CONFIG_HASH),
          (common.MD_ACTOR, actor)]
    return md + ([(common.MD_TOKEN, token)] if token is not None else [])


@pytest.fixture(scope="module")
def learner():
    rec = Recorder()
    srv = LearnerServer(state_spec(), CONFIG_HASH, rec, token=TOKEN, max_message_bytes=LIMIT)
    channel = grpc.insecure_channel(
        srv.address, options=[("grpc.max_send_message_length", 8 * LIMIT)]
    )
    yield srv, channel, rec
    channel.close()
    srv.stop(0)


def _stream(channel, msgs, md):
    call = channel.stream_stream(common.method("StreamTransitions"))
    md = with_session(channel, state_spec(), md)
    return [pb.Ack.FromString(r) for r in call(iter(msgs), metadata=md, timeout=10)]


def _refusal(fn) -> grpc.RpcError:
    with pytest.raises(grpc.RpcError) as e:
        fn()
    return e.value


def _still_serving(srv, channel, rec, actor):
    """A good actor is served fully after the bad request."""
    before = rec.count(actor)
    spec = state_spec()
    with ActorClient(srv.address, spec, CONFIG_HASH, actor, token=TOKEN) as cl:
        cl.send(make_batch(spec, 5))
        assert cl.flush(10)
    assert rec.count(actor) == before + 5
    ping = channel.unary_unary(common.method("Ping"))
    assert pb.PingReply.FromString(
        ping(pb.PingRequest().SerializeToString(), metadata=_md(), timeout=5)
    ).protocol_version == common.PROTOCOL_VERSION


def _refused(srv, reason):
    return srv.stats()["refused"].get(reason, 0)


def test_garbage_bytes(learner):
    srv, channel, rec = learner
    before = _refused(srv, "malformed")
    e = _refusal(lambda: _stream(channel, [b"\xff\xfe garbage \x00\x07\x08" * 10], _md()))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed TransitionBatch" in e.details()
    hs = channel.unary_unary(common.method("Handshake"))
    e = _refusal(lambda: hs(b"\x0a\xff\xff\xff\xff\xff", metadata=_md(), timeout=5))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed HandshakeRequest" in e.details()
    assert _refused(srv, "malformed") == before + 2
    _still_serving(srv, channel, rec, "after-garbage")


def test_truncated_message(learner):
    srv, channel, rec = learner
    raw = codec.encode_batch(state_spec(), "raw", 1, make_batch(state_spec(), 8))
    e = _refusal(lambda: _stream(channel, [raw[: len(raw) - 7]], _md()))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "TransitionBatch" in e.details() or "bytes" in e.details()
    assert rec.count("raw") == 0
    _still_serving(srv, channel, rec, "after-truncated")


def test_wrong_protocol_version(learner):
    srv, channel, rec = learner
    hs = channel.unary_unary(common.method("Handshake"))
    req = pb.HandshakeRequest(protocol_version=999, config_hash=CONFIG_HASH, actor_id="x",
                              env_spec=codec.env_spec_to_pb(state_spec()))
    e = _refusal(lambda: hs(req.SerializeToString(), metadata=_md(), timeout=5))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "protocol version 999" in e.details()
    raw = codec.encode_batch(state_spec(), "raw", 1, make_batch(state_spec(), 2))
    e = _refusal(lambda: _stream(channel, [raw], _md(version=0)))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "protocol version 0" in e.details()
    assert _refused(srv, "wrong_version") >= 2
    _still_serving(srv, channel, rec, "after-version")


def test_wrong_env_spec(learner):
    srv, channel, rec = learner
    before = _refused(srv, "spec_mismatch")
    hs = channel.unary_unary(common.method("Handshake"))
    req = pb.HandshakeRequest(protocol_version=common.PROTOCOL_VERSION, config_hash=CONFIG_HASH,
                              actor_id="x", env_spec=codec.env_spec_to_pb(state_spec(True)))
    e = _refusal(lambda: hs(req.SerializeToString(), metadata=_md(), timeout=5))
    assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "env spec differs" in e.details() and "has_gripper" in e.details()
    assert _refused(srv, "spec_mismatch") == before + 1
    _still_serving(srv, channel, rec, "after-spec")


def test_wrong_token(learner):
    srv, channel, rec = learner
    raw = codec.encode_batch(state_spec(), "raw", 1, make_batch(state_spec(), 2))
    before = _refused(srv, "unauthenticated")
    for token in ("wrong", None):
        e = _refusal(lambda t=token: _stream(channel, [raw], _md(token=t)))
        assert e.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "token" in e.details()
    cl = ActorClient(srv.address, state_spec(), CONFIG_HASH, "bad-token", token="nope")
    try:
        with pytest.raises(Exception, match="UNAUTHENTICATED"):
            cl.send(row(make_batch(state_spec(), 1), 0))
            cl.flush(10)
    finally:
        cl.close()
    assert _refused(srv, "unauthenticated") >= before + 3
    assert rec.count("raw") == 0
    _still_serving(srv, channel, rec, "after-token")


def test_oversized_message(learner):
    srv, channel, rec = learner
    before = _refused(srv, "oversized")
    e = _refusal(lambda: _stream(channel, [b"\x00" * (LIMIT + 1000)], _md()))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert f"exceeds the limit of {LIMIT} bytes" in e.details()
    assert _refused(srv, "oversized") == before + 1
    # Beyond twice the limit gRPC itself cuts the message off, with the same status code.
    e = _refusal(lambda: _stream(channel, [b"\x00" * (3 * LIMIT)], _md()))
    assert e.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "larger than max" in e.details()
    _still_serving(srv, channel, rec, "after-oversized")


def test_nan_observation(learner):
    srv, channel, rec = learner
    b = make_batch(state_spec(), 4)
    msg = codec.build_batch_pb(state_spec(), "raw", 1, b)
    obs = np.frombuffer(msg.next_observations[0].data, np.float32).copy()
    obs[3] = np.nan
    msg.next_observations[0].data = obs.tobytes()
    before = _refused(srv, "non_finite")
    e = _refusal(lambda: _stream(channel, [msg.SerializeToString()], _md()))
    assert e.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "next_observations/state" in e.details() and "NaN" in e.details()
    assert _refused(srv, "non_finite") == before + 1
    assert rec.count("raw") == 0
    _still_serving(srv, channel, rec, "after-nan")
