"""Batches in the replay's stored form (yuv420) are decoded inside the compiled entry points.

The learner samples with ``decode=False`` and passes the buffer's decoder along; the
update, pre-training and behaviour steps must then give exactly what the same steps give
on the host-decoded batch, and a batch in the wrong form must fail with a clear error.
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import textwrap

import jax
import numpy as np
import pytest
from conftest import fixed_batch, tiny_config

from silri_jax import specs
from silri_jax.agents import make_agent
from silri_jax.data import MixedSampler, ReplayBuffer

IMAGE = 16
STATE_DIM, ACTION_DIM = 5, 3


def pixel_spec() -> specs.EnvSpec:
    return specs.pixel_env_spec(STATE_DIM, ACTION_DIM, ("front", "wrist"), IMAGE, True)


def random_rows(spec: specs.EnvSpec, n: int, seed: int, interv: bool) -> list[tuple]:
    """``n`` transitions as ``insert`` arguments, with colourful random frames (chroma is
    lossy, so grey frames would hide a decode that differs between host and device)."""
    rng = np.random.default_rng(seed)

    def obs() -> dict[str, np.ndarray]:
        o = spec.observation.zeros()
        o["state"][:] = rng.normal(size=STATE_DIM)
        for k in spec.observation.image_keys:
            o[k] = rng.integers(0, 256, size=(IMAGE, IMAGE, 3), dtype=np.uint8)
        return o

    return [(obs(), rng.uniform(-0.9, 0.9, ACTION_DIM).astype(np.float32),
             float(rng.normal()), t == n - 1, False, obs(), interv, 0, t,
             int(rng.integers(0, 3))) for t in range(n)]


def filled_buffer(spec: specs.EnvSpec, n: int, seed: int, interv: bool) -> ReplayBuffer:
    """A host buffer of ``random_rows``."""
    buf = ReplayBuffer(spec, capacity=64)
    for row in random_rows(spec, n, seed, interv):
        buf.insert(*row)
    return buf


def build_pair(spec: specs.EnvSpec, algo: str = "silri"):
    """An agent and two identical initial states (entry points donate their state)."""
    cfg = tiny_config(algo)
    cfg.encoder.backbone = "small_conv"
    agent = make_agent(cfg, spec)
    return agent, agent.init(jax.random.PRNGKey(3)), agent.init(jax.random.PRNGKey(3))


def assert_same_tree(a, b) -> None:
    """Bitwise equal: the decode is integer arithmetic identical to the host's."""
    la, lb = jax.tree.leaves(a), jax.tree.leaves(b)
    assert len(la) == len(lb)
    for x, y in zip(la, lb, strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope="module")
def buffers():
    spec = pixel_spec()
    return spec, filled_buffer(spec, 24, 0, False), filled_buffer(spec, 16, 1, True)


def test_encoded_update_equals_host_decoded_update(buffers):
    spec, d_r, d_i = buffers
    sampler = MixedSampler(d_r, d_i, batch_size=8)
    agent, s_host, s_dev = build_pair(spec)
    for i in range(2):  # the second call reuses both compiled functions
        batch, decoder = sampler.sample(np.random.default_rng(i), 2, decode=False)
        stored = batch["observations"]["images/front"]
        assert stored.dtype == np.uint8 and stored.shape == (2, 8, IMAGE * 3 // 2, IMAGE)
        host = decoder.numpy(batch)
        before = jax.tree.map(np.asarray, s_host.params)
        s_host, m_host = agent.update(s_host, host)
        s_dev, m_dev = agent.update(s_dev, batch, decoder)
        assert_same_tree(s_host.params, s_dev.params)
        assert_same_tree(s_host.target_params, s_dev.target_params)
        assert_same_tree(m_host, m_dev)
    # the update did something (the equality is not that of two untouched states)
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(np.asarray(a) - b))),
                         s_host.params, before)
    assert max(jax.tree.leaves(moved)) > 0


def test_encoded_pretrain_and_behaviour_equal_host_decoded(buffers):
    spec, _, d_i = buffers
    agent, s_host, s_dev = build_pair(spec)
    batch, decoder = d_i.sample(np.random.default_rng(5), 8, 2, decode=False)
    s_host, m_host = agent.pretrain(s_host, decoder.numpy(batch))
    s_dev, m_dev = agent.pretrain(s_dev, batch, decoder)
    assert_same_tree(s_host.params, s_dev.params)
    assert_same_tree(m_host, m_dev)
    batch, decoder = d_i.sample(np.random.default_rng(6), 8, 3, decode=False)
    s_host, m_host = agent.update_behavior(s_host, decoder.numpy(batch))
    s_dev, m_dev = agent.update_behavior(s_dev, batch, decoder)
    assert_same_tree(s_host.params, s_dev.params)
    assert_same_tree(m_host, m_dev)
    # every pre-training step also steps beta: 2 of those, then the 3 behaviour steps
    assert int(s_dev.counters["beta_updates"]) == 2 + 3


def test_rgb_codec_batches_also_decode_in_the_update():
    spec = pixel_spec()
    rng = np.random.default_rng(2)
    buf = ReplayBuffer(spec, capacity=16, image_codec="rgb")
    for t in range(8):
        o = spec.observation.zeros()
        o["images/front"] = rng.integers(0, 256, (IMAGE, IMAGE, 3), dtype=np.uint8)
        buf.insert(o, np.zeros(ACTION_DIM, np.float32), 0.0, False, False, o, False, 0, t, 1)
    agent, s_host, s_dev = build_pair(spec, "hgdagger")
    batch, decoder = buf.sample(rng, 8, 2, decode=False)
    s_host, _ = agent.update(s_host, decoder.numpy(batch))
    s_dev, _ = agent.update(s_dev, batch, decoder)
    assert_same_tree(s_host.params, s_dev.params)


def test_stored_batch_without_its_decoder_is_a_clear_error(buffers):
    spec, d_r, _ = buffers
    agent, state, _ = build_pair(spec, "hgdagger")
    batch, decoder = d_r.sample(np.random.default_rng(0), 8, 2, decode=False)
    with pytest.raises(ValueError, match=r"images/front.*decoder"):
        agent.update(state, batch)
    with pytest.raises(ValueError, match=r"images/front.*yuv420-stored"):
        agent.update(state, decoder.numpy(batch), decoder)


def test_decoder_for_other_cameras_is_rejected(buffers):
    spec, _, _ = buffers
    agent, state, _ = build_pair(spec, "hgdagger")
    other = ReplayBuffer(specs.pixel_env_spec(STATE_DIM, ACTION_DIM, ("front",), IMAGE, True), 8)
    batch, _ = filled_buffer(spec, 4, 0, False).sample(np.random.default_rng(0), 4, 1,
                                                       decode=False)
    with pytest.raises(ValueError, match="decoder cameras"):
        agent.update(state, batch, other.decoder)


def test_state_only_spec_ignores_the_decoder_and_compiles_the_plain_update():
    spec = specs.state_env_spec(3, 2)
    buf = ReplayBuffer(spec, capacity=8)
    agent, s_plain, s_dec = build_pair(spec, "hgdagger")
    batch = fixed_batch(spec, n=4, utd=2)
    s_plain, _ = agent.update(s_plain, batch)
    s_dec, _ = agent.update(s_dec, batch, buf.decoder)
    assert_same_tree(s_plain.params, s_dec.params)
    # one compiled function serves both calls: no decoding variant exists for this spec
    assert list(agent._compiled) == [("update", None)]


SHARDED_SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, sys
    sys.path.insert(0, "tests/agents")
    from test_encoded_batches import assert_same_tree, build_pair, filled_buffer, pixel_spec
    assert len(jax.devices()) == 4, jax.devices()
    spec = pixel_spec()
    agent, s_host, s_dev = build_pair(spec, "hgdagger")
    assert agent.num_devices == 4
    batch, decoder = filled_buffer(spec, 16, 0, True).sample(
        np.random.default_rng(0), 8, 2, decode=False)
    s_host, _ = agent.update(s_host, decoder.numpy(batch))
    s_dev, _ = agent.update(s_dev, batch, decoder)
    assert_same_tree(s_host.params, s_dev.params)
    print("SHARDED_OK")
    """
)


def test_each_device_decodes_its_own_shard():
    """4 forced CPU devices (a subprocess: the count is fixed when XLA starts): the
    stored batch split over them decodes per shard to the host-decoded update's params."""
    root = pathlib.Path(__file__).resolve().parents[2]
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", SHARDED_SCRIPT],
        env=env, capture_output=True, text=True, timeout=600, cwd=root,
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert "SHARDED_OK" in out.stdout
