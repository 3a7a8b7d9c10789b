"""Builders of transitions and a recording learner callback for the transport tests."""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from silri_jax.specs import EnvSpec, pixel_env_spec, state_env_spec
from silri_jax.transport.codec import DecodedBatch

CONFIG_HASH = "cfg-test-1"


def small_pixel_spec(has_gripper: bool = True) -> EnvSpec:
    return pixel_env_spec(5, 3, cameras=("front", "wrist"), image_size=16, has_gripper=has_gripper)


def state_spec(has_gripper: bool = False) -> EnvSpec:
    return state_env_spec(7, 2, has_gripper=has_gripper)


def make_batch(spec: EnvSpec, n: int, seed: int = 0, episode: int = 0) -> dict[str, Any]:
    """A random columnar batch with distinct values per transition."""
    rng = np.random.default_rng(seed)

    def obs() -> dict[str, np.ndarray]:
        out = {}
        for k, s in spec.observation.entries.items():
            if s.dtype == "uint8":
                out[k] = rng.integers(0, 256, (n, *s.shape), dtype=np.uint8)
            else:
                out[k] = rng.normal(size=(n, *s.shape)).astype(np.float32)
        return out

    b: dict[str, Any] = {
        "observations": obs(),
        "next_observations": obs(),
        "actions": rng.uniform(-1, 1, (n, spec.action.dim)).astype(np.float32),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminated": rng.integers(0, 2, n).astype(np.float32),
        "truncated": rng.integers(0, 2, n).astype(bool),
        "is_intervention": rng.integers(0, 2, n),
        "episode_ids": np.full(n, episode, np.int64),
        "steps": np.arange(n, dtype=np.int32),
    }
    if spec.action.has_gripper:
        b["gripper_actions"] = rng.integers(0, 3, n).astype(np.int32)
    return b


def row(batch: dict[str, Any], i: int) -> dict[str, Any]:
    return {k: ({kk: vv[i] for kk, vv in v.items()} if isinstance(v, dict) else v[i])
            for k, v in batch.items()}


class Recorder:
    """``on_transitions`` that copies what it is given, keyed by sequence number."""

    def __init__(self, delay_s: float = 0.0) -> None:
        self.lock = threading.Lock()
        self.by_seq: dict[tuple[str, int], dict[str, Any]] = {}
        self.seqs: list[tuple[str, int]] = []
        self.raws: list[bytes | None] = []  # each call's ``batch.raw``
        self.delay_s = delay_s
        self.gate = threading.Event()
        self.gate.set()

    def __call__(self, batch: DecodedBatch) -> None:
        self.gate.wait()
        if self.delay_s:
            threading.Event().wait(self.delay_s)
        with self.lock:
            self.raws.append(batch.raw)
            for i, seq in enumerate(batch.seqs.tolist()):
                self.seqs.append((batch.actor_id, seq))
                self.by_seq[(batch.actor_id, seq)] = row(
                    {k: (dict(v) if isinstance(v, dict) else v) for k, v in batch.data.items()}, i
                )

    def count(self, actor: str | None = None) -> int:
        with self.lock:
            return sum(1 for a, _ in self.seqs if actor is None or a == actor)


def with_session(channel: Any, spec: EnvSpec, md: list[tuple[str, str]]
                 ) -> list[tuple[str, str]]:
    """``md`` plus the session a raw Handshake gives its actor id (a TransitionBatch stream
    is accepted only under it); ``md`` unchanged when the handshake itself is refused, so
    a test of a bad token or version still meets that refusal on the stream."""
    import grpc

    from silri_jax.transport import codec, common
    from silri_jax.transport import silri_pb2 as pb

    meta = dict(md)
    req = pb.HandshakeRequest(
        protocol_version=common.PROTOCOL_VERSION, config_hash=meta.get(common.MD_CONFIG, ""),
        env_spec=codec.env_spec_to_pb(spec), actor_id=meta.get(common.MD_ACTOR, ""))
    try:
        raw = channel.unary_unary(common.method("Handshake"))(
            req.SerializeToString(), metadata=md, timeout=10)
    except grpc.RpcError:
        return md
    return [*md, (common.MD_SESSION, pb.HandshakeReply.FromString(raw).session)]
