"""Per-actor tokens (``runtime.actor_tokens_file``): an actor id listed in the learner's
file is accepted only with its own token, so the holder of one actor's token can neither
take a session for another actor's id (the takeover of a stream found from outside), nor
report episodes under it; probes without an id still pass; bad files are refused by name.
"""

from __future__ import annotations

import json

import grpc
import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

from silri_jax.transport import actor_tokens, codec, common
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport.client import ActorClient, TransportError
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)
TOKENS = {"actor-0": "a0-secret-0123456789", "actor-1": "a1-secret-0123456789"}


def _md(actor: str, token: str) -> list[tuple[str, str]]:
    return [(common.MD_PROTOCOL, str(common.PROTOCOL_VERSION)),
            (common.MD_CONFIG, CONFIG_HASH), (common.MD_ACTOR, actor), (common.MD_TOKEN, token)]


def _handshake(ch, actor_in_request: str, md) -> pb.HandshakeReply:
    req = pb.HandshakeRequest(protocol_version=common.PROTOCOL_VERSION, config_hash=CONFIG_HASH,
                              env_spec=codec.env_spec_to_pb(state_spec()),
                              actor_id=actor_in_request)
    call = ch.unary_unary(common.method("Handshake"))
    return pb.HandshakeReply.FromString(call(req.SerializeToString(), metadata=md, timeout=5))


@pytest.fixture()
def server():
    rec = Recorder()
    srv = LearnerServer(state_spec(), CONFIG_HASH, rec, actor_tokens=TOKENS)
    ch = grpc.insecure_channel(srv.address)
    yield srv, ch, rec
    ch.close()
    srv.stop(0)


def test_each_actor_streams_with_its_own_token(server):
    srv, _, rec = server
    spec = state_spec()
    b = make_batch(spec, 8)
    for actor, token in TOKENS.items():
        with ActorClient(srv.address, spec, CONFIG_HASH, actor, token=token) as cl:
            for i in range(8):
                cl.send(row(b, i))
            assert cl.flush(15)
        assert rec.count(actor) == 8


def test_one_actors_token_cannot_act_as_another(server):
    srv, ch, rec = server
    spec = state_spec()
    # actor-1's token, labelled actor-0 in the metadata or only in the handshake's id
    for md_actor, req_actor in (("actor-0", "actor-0"), ("actor-1", "actor-0")):
        with pytest.raises(grpc.RpcError) as e:
            _handshake(ch, req_actor, _md(md_actor, TOKENS["actor-1"]))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "wrong token for actor id 'actor-0'" in e.value.details()
    # an episode report under another id
    report = ch.unary_unary(common.method("ReportEpisode"))
    with pytest.raises(grpc.RpcError) as e:
        report(pb.EpisodeStats(actor_id="actor-0", length=3).SerializeToString(),
               metadata=_md("actor-1", TOKENS["actor-1"]), timeout=5)
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    # an id outside the file, with no shared token set: refused
    with pytest.raises(grpc.RpcError) as e:
        _handshake(ch, "actor-9", _md("actor-9", TOKENS["actor-1"]))
    assert "'actor-9' has no token" in e.value.details()
    # the client sees a fatal error naming the problem, not endless retries
    with ActorClient(srv.address, spec, CONFIG_HASH, "actor-0", token=TOKENS["actor-1"]) as cl:
        cl.send(row(make_batch(spec, 1), 0))
        with pytest.raises(TransportError, match="wrong token for actor id 'actor-0'"):
            cl.flush(15)
    assert rec.count() == 0
    # a probe naming no actor passes with an actor's token
    health = ch.unary_unary(common.method("Health"))
    md = [(common.MD_PROTOCOL, str(common.PROTOCOL_VERSION)), (common.MD_TOKEN, TOKENS["actor-0"])]
    assert pb.HealthReply.FromString(health(pb.HealthRequest().SerializeToString(),
                                            metadata=md, timeout=5)).ok


def test_with_a_shared_token_too_unlisted_ids_use_it_and_listed_ones_do_not():
    spec = state_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder(), token="shared-0123456789abc",
                       actor_tokens=TOKENS) as srv, grpc.insecure_channel(srv.address) as ch:
        assert _handshake(ch, "eval", _md("eval", "shared-0123456789abc")).session
        with pytest.raises(grpc.RpcError) as e:
            _handshake(ch, "actor-0", _md("actor-0", "shared-0123456789abc"))
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED


def test_the_actor_takes_its_own_entry(tmp_path):
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps(TOKENS))
    assert actor_tokens.token_for("actor-1", str(path), "shared") == TOKENS["actor-1"]
    assert actor_tokens.token_for("eval", str(path), "shared") == "shared"
    assert actor_tokens.token_for("eval", str(path), "") is None
    assert actor_tokens.token_for("actor-0", "", "shared") == "shared"


@pytest.mark.parametrize(("content", "problem"), [
    (None, "cannot read it"),
    ("{not json", "not valid JSON"),
    ("[]", "JSON object of actor id to token"),
    (json.dumps({"actor-0": "short"}), "at least 16 characters"),
    (json.dumps({"actor-0": "x" * 20, "actor-1": "x" * 20}), "share a token"),
])
def test_bad_token_files_are_refused_by_name(tmp_path, content, problem):
    from silri_jax import config_files
    from silri_jax.training import build

    path = tmp_path / "tokens.json"
    if content is not None:
        path.write_text(content)
    c = config_files.train_config("silri_pick_cube_state")
    c.runtime.actor_tokens_file = str(path)
    with pytest.raises(ValueError, match=r"config\.runtime\.actor_tokens_file=.*" + problem):
        build.validate(c)
