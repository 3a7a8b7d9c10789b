"""Codec: batches and params survive encode/decode exactly; bad input names its field."""

from __future__ import annotations

import numpy as np
import pytest
from transport_helpers import make_batch, small_pixel_spec, state_spec

from silri_jax.transport import codec
from silri_jax.transport import silri_pb2 as pb


def _roundtrip(spec, batch, first_seq=7):
    raw = codec.encode_batch(spec, "actor-a", first_seq, batch)
    return codec.decode_batch(spec, codec.parse_batch(raw))


@pytest.mark.parametrize(
    "spec", [small_pixel_spec(True), small_pixel_spec(False), state_spec(False), state_spec(True)],
    ids=["pixels+gripper", "pixels", "state", "state+gripper"],
)
def test_batch_roundtrip_is_exact(spec):
    b = make_batch(spec, 9, seed=3)
    d = _roundtrip(spec, b)
    assert d.actor_id == "actor-a" and d.first_seq == 7 and len(d) == 9
    assert d.seqs.tolist() == list(range(7, 16))
    for group in ("observations", "next_observations"):
        for k, s in spec.observation.entries.items():
            assert d.data[group][k].dtype == np.dtype(s.dtype)
            np.testing.assert_array_equal(d.data[group][k], b[group][k])
    np.testing.assert_array_equal(d.data["actions"], b["actions"])
    np.testing.assert_array_equal(d.data["rewards"], b["rewards"])
    for k in ("terminated", "truncated", "is_intervention"):
        assert d.data[k].dtype == np.float32
        np.testing.assert_array_equal(d.data[k], np.asarray(b[k], np.float32))
    np.testing.assert_array_equal(d.data["episode_ids"], b["episode_ids"])
    np.testing.assert_array_equal(d.data["steps"], b["steps"])
    if spec.action.has_gripper:
        np.testing.assert_array_equal(d.data["gripper_actions"], b["gripper_actions"])
    else:
        assert "gripper_actions" not in d.data


def test_images_travel_as_uint8_not_float():
    spec = small_pixel_spec()
    raw = codec.encode_batch(spec, "a", 1, make_batch(spec, 4))
    msg = codec.parse_batch(raw)
    img = next(t for t in msg.observations if t.name == "images/front")
    assert img.dtype == pb.UINT8 and len(img.data) == 4 * 16 * 16 * 3
    # The whole message is little more than its payload: no per-element framing.
    assert len(raw) < codec.transition_bytes(spec) * 4 + 1024


def test_intervention_flags_survive_every_transition():
    spec = state_spec()
    b = make_batch(spec, 64, seed=1)
    flags = np.array([i % 3 == 0 or i % 7 == 0 for i in range(64)])
    b["is_intervention"] = flags
    d = _roundtrip(spec, b)
    np.testing.assert_array_equal(d.data["is_intervention"].astype(bool), flags)


def test_shared_next_frames_are_sent_once_and_rebuilt_exactly():
    spec = small_pixel_spec()
    b = make_batch(spec, 12, seed=4)
    for k in spec.observation.entries:  # a continuous stream with an episode end at 5
        b["next_observations"][k][:-1] = b["observations"][k][1:]
        b["next_observations"][k][5] = b["next_observations"][k][5][::-1]  # reset frame
    shared = codec.encode_batch(spec, "a", 1, b)
    plain = codec.encode_batch(spec, "a", 1, b, share_frames=False)
    per_frame = 16 * 16 * 3 * 2
    assert len(plain) - len(shared) >= 10 * per_frame  # rows 0-4 and 6-10 not resent
    for raw in (shared, plain):
        d = codec.decode_batch(spec, codec.parse_batch(raw))
        for k in spec.observation.entries:
            np.testing.assert_array_equal(d.data["next_observations"][k],
                                          b["next_observations"][k])


def test_slice_drops_a_prefix():
    spec = state_spec()
    d = _roundtrip(spec, make_batch(spec, 5), first_seq=10).slice(2)
    assert d.first_seq == 12 and len(d) == 3 and d.last_seq == 14


def _mutate(spec, fn):
    msg = codec.build_batch_pb(spec, "a", 1, make_batch(spec, 4))
    fn(msg)
    return msg


@pytest.mark.parametrize(
    ("mutation", "field", "text"),
    [
        (lambda m: m.observations[0].__setattr__("dtype", pb.FLOAT32), "observations/", "dtype"),
        (lambda m: m.actions.shape.__setitem__(1, 9), "actions", "shape"),
        (lambda m: m.rewards.__setattr__("data", m.rewards.data[:-1]), "rewards", "bytes"),
        (lambda m: m.ClearField("is_intervention"), "is_intervention", "missing"),
        (lambda m: m.terminated.__setattr__("data", b"\x02" * 4), "terminated", "0 or 1"),
        (lambda m: m.__setattr__("first_seq", 0), "first_seq", "start at 1"),
        (lambda m: m.__setattr__("num_transitions", 0), "num_transitions", "empty"),
        (lambda m: m.next_observations.pop(), "next_observations", "missing"),
    ],
)
def test_decode_refuses_and_names_the_field(mutation, field, text):
    spec = small_pixel_spec(False)
    msg = _mutate(spec, mutation)
    with pytest.raises(codec.CodecError) as e:
        codec.decode_batch(spec, msg)
    assert e.value.field.startswith(field)
    assert text in str(e.value)


def test_decode_refuses_nan_observations_naming_the_key():
    spec = state_spec()
    b = make_batch(spec, 4)
    msg = codec.build_batch_pb(spec, "a", 1, b)
    bad = np.frombuffer(msg.observations[0].data, np.float32).copy()
    bad[5] = np.nan
    msg.observations[0].data = bad.tobytes()
    with pytest.raises(codec.CodecError, match="NaN") as e:
        codec.decode_batch(spec, msg)
    assert e.value.field == "observations/state"


def test_encode_refuses_what_the_learner_would_refuse():
    spec = state_spec(True)
    b = make_batch(spec, 3)
    b["actions"][1, 0] = np.inf
    with pytest.raises(codec.CodecError, match="actions"):
        codec.encode_batch(spec, "a", 1, b)
    b = make_batch(spec, 3)
    b["gripper_actions"] = np.array([0, 3, 1])
    with pytest.raises(codec.CodecError, match="gripper_actions"):
        codec.encode_batch(spec, "a", 1, b)
    b = make_batch(spec, 3)
    b["observations"]["extra"] = np.zeros((3, 1), np.float32)
    with pytest.raises(codec.CodecError, match="not in spec"):
        codec.encode_batch(spec, "a", 1, b)


def test_garbage_and_truncated_bytes_are_codec_errors():
    spec = state_spec()
    raw = codec.encode_batch(spec, "a", 1, make_batch(spec, 4))
    with pytest.raises(codec.CodecError):
        codec.decode_batch(spec, codec.parse_batch(raw[: len(raw) // 2]))
    with pytest.raises(codec.CodecError, match="cannot parse"):
        codec.parse_batch(b"\xff\xff\xff\xff garbage \x00\x01")


def _params(seed=0, big=False):
    rng = np.random.default_rng(seed)
    return {
        "actor": {
            "Dense_0": {"kernel": rng.normal(size=(18, 256)).astype(np.float32),
                        "bias": rng.normal(size=256).astype(np.float32)},
            "Dense_1": {"kernel": rng.normal(size=(256, 600 if big else 4)).astype(np.float32)},
        },
        "log_std": [np.float32(0.5) * np.ones(4, np.float32), np.arange(3, dtype=np.int32)],
    }


def test_params_roundtrip_single_and_chunked():
    p = _params(big=True)
    one = codec.encode_params(1, p, chunk_bytes=8 << 20)
    many = codec.encode_params(2, p, chunk_bytes=50_000)
    assert len(one) == 1 and len(many) > 10
    assert all(len(c) <= 50_000 + 1024 for c in many)
    for chunks, version in ((one, 1), (many, 2)):
        v, q = codec.decode_params(chunks, template=p)
        assert v == version
        assert isinstance(q["log_std"], list)
        for a, b in zip(codec.flatten_params(p).values(), codec.flatten_params(q).values(),
                        strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
    v, nested = codec.decode_params(many)  # without a template: nested dict by path
    np.testing.assert_array_equal(nested["actor"]["Dense_1"]["kernel"],
                                  p["actor"]["Dense_1"]["kernel"])


def test_params_structure_is_checked_against_template():
    chunks = codec.encode_params(1, _params(), chunk_bytes=1 << 20)
    other = _params()
    other["actor"]["Dense_2"] = {"kernel": np.zeros((2, 2), np.float32)}
    with pytest.raises(codec.CodecError, match="Dense_2"):
        codec.decode_params(chunks, template=other)
    wrong_shape = _params()
    wrong_shape["actor"]["Dense_0"]["bias"] = np.zeros(3, np.float32)
    with pytest.raises(codec.CodecError, match="Dense_0/bias"):
        codec.decode_params(chunks, template=wrong_shape)


def test_assembler_is_latest_wins_and_never_goes_back():
    asm = codec.ParamsAssembler()
    def updates(v):
        chunks = codec.encode_params(v, _params(v, big=True), 40_000)
        return [pb.ParamsUpdate.FromString(c) for c in chunks]

    v3, v5, v4 = updates(3), updates(5), updates(4)
    assert asm.add(v3[0]) is None
    # v5 starts before v3 completes: the partial v3 is abandoned.
    results = [asm.add(u) for u in v5]
    assert results[-1][0] == 5 and all(r is None for r in results[:-1])
    assert all(asm.add(u) is None for u in v4 + v3)  # older versions are ignored
    assert asm.completed_version == 5
    # A missing middle chunk is detected, not silently zero-filled.
    asm2 = codec.ParamsAssembler()
    asm2.add(v4[0])
    with pytest.raises(codec.CodecError, match="chunk"):
        asm2.add(v4[2])


def test_params_from_jax_pytrees_keep_their_type_and_names():
    jnp = pytest.importorskip("jax.numpy", reason="jax pytrees need jax (a core dependency)")
    from flax.core import FrozenDict

    plain = _params()
    frozen = FrozenDict({"actor": {k: {kk: jnp.asarray(vv) for kk, vv in v.items()}
                                   for k, v in plain["actor"].items()}})
    version, got = codec.decode_params(codec.encode_params(1, frozen, 1 << 20), template=frozen)
    assert version == 1
    assert isinstance(got, FrozenDict)
    assert list(codec.flatten_params(got)) == [k for k in codec.flatten_params(plain)
                                               if k.startswith("actor/")]
    np.testing.assert_array_equal(got["actor"]["Dense_0"]["kernel"],
                                  plain["actor"]["Dense_0"]["kernel"])
