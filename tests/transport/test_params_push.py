"""Parameter push: latest wins, versions only move forward, chunked params reassemble."""

from __future__ import annotations

import itertools
import threading
import time

import numpy as np
import pytest
from transport_helpers import CONFIG_HASH, Recorder, state_spec

from silri_jax.transport import codec
from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)


def _params(version: int, hidden: int = 16) -> dict:
    rng = np.random.default_rng(version)
    return {"Dense_0": {"kernel": rng.normal(size=(7, hidden)).astype(np.float32),
                        "bias": np.full(hidden, version, np.float32)},
            "Dense_1": {"kernel": rng.normal(size=(hidden, 2)).astype(np.float32)}}


def _wait_version(cl: ActorClient, version: int, timeout: float = 10.0):
    end = time.monotonic() + timeout
    seen = []
    while time.monotonic() < end:
        got = cl.latest_params()
        if got is not None:
            seen.append(got)
            if got[0] >= version:
                return seen
        time.sleep(0.005)
    raise AssertionError(f"version {version} never arrived; saw {[v for v, _ in seen]}")


def test_latest_wins_and_versions_are_monotonic_at_the_client():
    spec = state_spec()
    with LearnerServer(spec, CONFIG_HASH, Recorder()) as srv:
        for v in (1, 2, 3):
            srv.publish_params(v, _params(v))
        # A late subscriber gets only the newest version, not the backlog.
        with ActorClient(srv.address, spec, CONFIG_HASH, "a0", params_template=_params(0)) as cl:
            seen = _wait_version(cl, 3)
            assert [v for v, _ in seen] == [3]
            assert cl.latest_params() is None  # nothing newer since
            stop = threading.Event()
            versions: list[int] = []
            mismatched: list[int] = []  # a version whose tensors belong to another version

            def poll():
                while not stop.is_set():
                    got = cl.latest_params()
                    if got is not None:
                        versions.append(got[0])
                        if not (got[1]["Dense_0"]["bias"] == got[0]).all():
                            mismatched.append(got[0])

            t = threading.Thread(target=poll)
            t.start()
            for v in range(4, 60):  # faster than the actor polls: some versions are skipped
                srv.publish_params(v, _params(v))
            deadline = time.monotonic() + 10
            while (not versions or versions[-1] != 59) and time.monotonic() < deadline:
                time.sleep(0.01)
            stop.set()
            t.join()
            assert versions[-1] == 59 and not mismatched
            assert all(a < b for a, b in itertools.pairwise(versions))
        with pytest.raises(ValueError, match="not newer"):
            srv.publish_params(59, _params(59))


def test_params_larger_than_the_message_limit_arrive_in_chunks_exactly():
    spec = state_spec()
    limit = 256 * 1024
    big = _params(1, hidden=20_000)  # ~1.3 MB > 5x the message limit
    with LearnerServer(spec, CONFIG_HASH, Recorder(), max_message_bytes=limit) as srv, \
            ActorClient(srv.address, spec, CONFIG_HASH, "a0", max_message_bytes=limit,
                        params_template=big) as cl:
        chunks = srv.publish_params(1, big)
        assert chunks >= 5
        (version, got), = _wait_version(cl, 1)
        assert version == 1
        for a, b in zip(codec.flatten_params(big).values(), codec.flatten_params(got).values(),
                        strict=True):
            np.testing.assert_array_equal(a, b)


def test_params_survive_a_learner_restart_without_going_back():
    spec = state_spec()
    srv = LearnerServer(spec, CONFIG_HASH, Recorder())
    port = srv.port
    cl = ActorClient(srv.address, spec, CONFIG_HASH, "a0", backoff_max_s=0.2)
    try:
        srv.publish_params(5, _params(5))
        _wait_version(cl, 5)
        srv.stop(0)
        state = srv.state_dict()
        srv = LearnerServer(spec, CONFIG_HASH, Recorder(), address=f"127.0.0.1:{port}")
        srv.load_state_dict(state)
        with pytest.raises(ValueError):
            srv.publish_params(4, _params(4))  # a resumed learner cannot step back
        srv.publish_params(6, _params(6))
        seen = _wait_version(cl, 6)
        assert [v for v, _ in seen] == [6]
    finally:
        cl.close()
        srv.stop(0)
