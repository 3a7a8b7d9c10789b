"""The client calls the stubs generated from silri.proto; every method of the proto's
service is served by the learner's raw-bytes handlers (none answers UNIMPLEMENTED), and
a real client round trip goes through ``silri_pb2_grpc.LearnerStub``."""

from __future__ import annotations

import grpc
import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

from silri_jax.transport import common
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport import silri_pb2_grpc as pb_grpc
from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)


def test_every_proto_method_is_served():
    methods = pb.DESCRIPTOR.services_by_name["Learner"].methods
    assert {m.name for m in methods} >= {"Handshake", "StreamTransitions", "SubscribeParams",
                                         "ReportEpisode", "Ping", "WaitProgress", "Health"}
    with LearnerServer(state_spec(), CONFIG_HASH, Recorder()) as srv, \
            grpc.insecure_channel(srv.address) as ch:
        for m in methods:
            path = common.method(m.name)
            if m.client_streaming:
                call = ch.stream_stream(path)
                fn = lambda call=call: list(call(iter([b"\x00garbage"]), timeout=5))  # noqa: E731
            elif m.server_streaming:
                call = ch.unary_stream(path)
                fn = lambda call=call: list(call(b"\x00garbage", timeout=5))  # noqa: E731
            else:
                call = ch.unary_unary(path)
                fn = lambda call=call: call(b"\x00garbage", timeout=5)  # noqa: E731
            with pytest.raises(grpc.RpcError) as e:
                fn()
            assert e.value.code() != grpc.StatusCode.UNIMPLEMENTED, m.name


def test_the_client_goes_through_the_generated_stub(monkeypatch):
    calls: list[str] = []
    real = pb_grpc.LearnerStub

    class Recording(real):
        def __init__(self, channel):
            super().__init__(channel)
            for name in ("Handshake", "StreamTransitions", "Ping"):
                fn = getattr(self, name)

                def wrapped(*a, _fn=fn, _name=name, **k):
                    calls.append(_name)
                    return _fn(*a, **k)

                setattr(self, name, wrapped)

    monkeypatch.setattr(pb_grpc, "LearnerStub", Recording)
    spec, rec = state_spec(), Recorder()
    with LearnerServer(spec, CONFIG_HASH, rec) as srv:
        with ActorClient(srv.address, spec, CONFIG_HASH, "a0") as cl:
            b = make_batch(spec, 3)
            for i in range(3):
                cl.send(row(b, i))
            assert cl.flush(15)
            assert cl.ping().protocol_version == common.PROTOCOL_VERSION
    assert rec.count("a0") == 3
    assert {"Handshake", "StreamTransitions", "Ping"} <= set(calls)
