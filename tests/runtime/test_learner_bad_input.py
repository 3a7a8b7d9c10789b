"""Bad input sent to a real learner process (token required, as off loopback): garbage,
a truncated batch, a wrong protocol version, a wrong token, an oversized message and a NaN
observation are each refused with a clear status, and the learner keeps serving (a good
actor's transitions are stored afterwards and the refusals are counted in its log)."""

from __future__ import annotations

import signal

import grpc
import numpy as np
import pytest
from helpers import Run, latest_replay, replay_rows

from silri_jax.transport import codec
from silri_jax.transport import common as c

TOKEN = "s3cret"
LIMIT = 1 << 20


@pytest.fixture(scope="module")
def learner(tmp_path_factory: pytest.TempPathFactory, demos: str):
    tmp = tmp_path_factory.mktemp("bad")
    r = Run(tmp, demos, **{"runtime.token": TOKEN, "runtime.max_message_bytes": LIMIT,
                           "agent.pretrain_steps": 0, "runtime.start_training_after": 10**9})
    p = r.learner()
    try:
        r.wait_log("learner.log", r'"event": "serving"', 120, p)
        from tests.runtime.reach_gym import R  # the spec the learner serves

        yield r, p, R.SPEC, tmp
    finally:
        r.cleanup()


def _hash(tmp) -> str:
    import re

    return re.search(r'"config_hash": "(\w+)"', (tmp / "learner.log").read_text()).group(1)


def _md(tmp, token: str = TOKEN, version: str | None = None) -> list[tuple[str, str]]:
    return [(c.MD_PROTOCOL, version or str(c.PROTOCOL_VERSION)), (c.MD_CONFIG, _hash(tmp)),
            (c.MD_ACTOR, "bad"), (c.MD_TOKEN, token)]


def _stream(address: str, raws: list[bytes], md) -> grpc.RpcError | list[bytes]:
    from tests.runtime.reach_gym import R
    from tests.transport.transport_helpers import with_session

    with grpc.insecure_channel(address, options=c.client_channel_options(4 * LIMIT)) as ch:
        md = with_session(ch, R.SPEC, md)
        call = ch.stream_stream(c.method("StreamTransitions"), lambda b: b, lambda b: b)
        try:
            return list(call(iter(raws), metadata=md, timeout=20))
        except grpc.RpcError as e:
            return e


def _batch(spec, n: int = 4, nan: bool = False, first_seq: int = 1) -> bytes:
    rng = np.random.default_rng(0)
    obs = rng.normal(size=(n, 6)).astype(np.float32)
    nxt = rng.normal(size=(n, 6)).astype(np.float32)
    if nan:
        obs[1, 2] = np.nan
    data = {"observations": {"state": obs}, "next_observations": {"state": nxt},
            "actions": np.zeros((n, 2), np.float32), "rewards": np.zeros(n, np.float32),
            "terminated": np.zeros(n, np.uint8), "truncated": np.zeros(n, np.uint8),
            "is_intervention": np.zeros(n, np.uint8),
            "episode_ids": np.full(n, 777, np.int64), "steps": np.arange(n, dtype=np.int32)}
    if nan:  # encode_batch refuses NaN on the sender side; build the message directly
        msg = codec.build_batch_pb(spec, "bad", first_seq, {**data, "observations":
                                   {"state": np.zeros_like(obs)}}, share_frames=False)
        for t in msg.observations:
            if t.name == "state":
                t.data = obs.tobytes()
        return msg.SerializeToString()
    return codec.encode_batch(spec, "bad", first_seq, data, share_frames=False)


def test_each_bad_input_is_refused_and_the_learner_keeps_serving(learner):
    r, proc, spec, tmp = learner
    good = _batch(spec)
    cases = {
        "garbage": ([b"\xff\x00garbage" * 10], _md(tmp), grpc.StatusCode.INVALID_ARGUMENT,
                    "malformed"),
        "truncated": ([good[: len(good) // 2]], _md(tmp), grpc.StatusCode.INVALID_ARGUMENT,
                      "malformed"),
        "wrong_version": ([good], _md(tmp, version="999"),
                          grpc.StatusCode.FAILED_PRECONDITION, "protocol version"),
        "wrong_token": ([good], _md(tmp, token="nope"), grpc.StatusCode.UNAUTHENTICATED,
                        "token"),
        "oversized": ([b"\x00" * (LIMIT + 10)], _md(tmp), grpc.StatusCode.RESOURCE_EXHAUSTED,
                      "exceeds the limit"),
        "nan": ([_batch(spec, nan=True)], _md(tmp), grpc.StatusCode.INVALID_ARGUMENT, "NaN"),
    }
    for name, (raws, md, code, text) in cases.items():
        err = _stream(r.address, raws, md)
        assert isinstance(err, grpc.RpcError), (name, err)
        assert err.code() == code, (name, err.code(), err.details())
        assert text in err.details(), (name, err.details())
        assert proc.poll() is None, f"learner died on {name}"
    acks = _stream(r.address, [good], _md(tmp))  # still serving: a good batch is stored
    assert isinstance(acks, list) and len(acks) == 1, acks
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, r.log("learner.log")[-3000:]
    d_r, _, _ = latest_replay(r.run_dir)
    assert [(e, s) for e, s, _ in replay_rows(d_r)] == [(777, i) for i in range(4)]
    done = r.json_lines("learner.log", "learner_done")[-1]
    for reason in ("malformed", "wrong_version", "unauthenticated", "oversized",
                   "non_finite"):
        assert done["refused"].get(reason, 0) >= 1, (reason, done["refused"])
