"""Updates whose batch is drawn inside the compiled call from replay on the accelerator.

``DeviceUpdater`` must give exactly what ``agent.update`` gives on the same batch, keep
``MixedSampler``'s split rule (D_R rows first, the other buffer while one is empty), and
run data-parallel over several devices with the storage replicated over the mesh.
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
from conftest import tiny_config
from test_encoded_batches import assert_same_tree, pixel_spec, random_rows

from silri_jax import specs
from silri_jax.agents import make_agent
from silri_jax.data import (
    DeviceMixedSampler,
    DeviceReplay,
    DeviceUpdater,
    MixedSampler,
    ReplayBuffer,
)


def fill(bufs, spec: specs.EnvSpec, n: int, seed: int, interv: bool) -> None:
    """The same ``n`` random transitions into every buffer of ``bufs``."""
    for row in random_rows(spec, n, seed, interv):
        for buf in bufs:
            buf.insert(*row)


def test_split_follows_the_host_rule():
    spec = pixel_spec()
    dev_r, dev_i = DeviceReplay(spec, 32, chunk_size=8), DeviceReplay(spec, 32, chunk_size=8)
    host_r, host_i = ReplayBuffer(spec, 32), ReplayBuffer(spec, 32)
    dev, host = DeviceMixedSampler(dev_r, dev_i, 8), MixedSampler(host_r, host_i, 8)
    with pytest.raises(ValueError, match="both D_R and D_I are empty"):
        dev.split()
    fill((dev_i, host_i), spec, 5, 1, True)
    dev.storages()  # staged rows count once written
    assert dev.split() == host.split() == (0, 8)
    fill((dev_r, host_r), spec, 6, 2, False)
    dev.storages()
    assert dev.split() == host.split() == (4, 4)
    with pytest.raises(ValueError, match="does not add up"):
        dev.sample_fn((4, 3))


def test_mixed_batch_puts_d_r_rows_first():
    spec = pixel_spec()
    d_r, d_i = DeviceReplay(spec, 32, chunk_size=8), DeviceReplay(spec, 32, chunk_size=8)
    fill((d_r,), spec, 10, 2, False)
    fill((d_i,), spec, 7, 1, True)
    sampler = DeviceMixedSampler(d_r, d_i, 8)
    sampler.storages()
    batch = jax.jit(sampler.sample_fn(sampler.split(), num_batches=3))(
        sampler.storages(), jax.random.PRNGKey(0))
    interv = np.asarray(batch["is_intervention"])
    assert interv.shape == (3, 8)
    np.testing.assert_array_equal(interv[:, :4], 0.0)
    np.testing.assert_array_equal(interv[:, 4:], 1.0)
    stored = spec.observation.entries["images/front"].shape
    assert batch["observations"]["images/front"].shape[:2] == (3, 8)
    assert batch["observations"]["images/front"].shape[2:] != stored  # still yuv420


@pytest.mark.parametrize("algo", ["silri", "sac"])
def test_device_update_equals_update_on_the_same_batch(algo):
    spec = pixel_spec()
    d_r, d_i = DeviceReplay(spec, 64, chunk_size=16), DeviceReplay(spec, 64, chunk_size=16)
    fill((d_r,), spec, 24, 0, False)
    fill((d_i,), spec, 16, 1, True)
    sampler = DeviceMixedSampler(d_r, d_i, batch_size=8)
    cfg = tiny_config(algo)
    cfg.encoder.backbone = "small_conv"
    agent = make_agent(cfg, spec)
    s_dev, s_ref = agent.init(jax.random.PRNGKey(3)), agent.init(jax.random.PRNGKey(3))
    updater = DeviceUpdater(agent, sampler, num_batches=2, seed=5)
    draw = jax.jit(sampler.sample_fn((4, 4), num_batches=2))
    for i in range(2):  # the second call reuses the compiled function
        s_dev, m_dev = updater(s_dev)
        batch = draw(sampler.storages(), jax.random.fold_in(jax.random.PRNGKey(5), i))
        s_ref, m_ref = agent.update(s_ref, batch, sampler.decoder)
        assert_same_tree(s_dev.params, s_ref.params)
        assert_same_tree(m_dev, m_ref)
    assert len(updater._compiled) == 1
    # new transitions reach the next draw without a rebuild
    fill((d_r,), spec, 4, 7, False)
    s_dev, _ = updater(s_dev)
    assert len(d_r) == 28 and len(updater._compiled) == 1


SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, sys
    sys.path.insert(0, "tests/agents")
    from conftest import tiny_config
    from test_device_updates import fill, pixel_spec
    from silri_jax.agents import make_agent
    from silri_jax.data import DeviceMixedSampler, DeviceReplay, DeviceUpdater
    from silri_jax.parallel import replicated
    assert len(jax.devices()) == 4, jax.devices()
    spec = pixel_spec()
    out = []
    for devices in (jax.devices()[:1], jax.devices()):
        cfg = tiny_config("silri")
        cfg.encoder.backbone = "small_conv"
        agent = make_agent(cfg, spec, devices=devices)
        where = replicated(agent.mesh)
        d_r = DeviceReplay(spec, 64, chunk_size=16, device=where)
        d_i = DeviceReplay(spec, 64, chunk_size=16, device=where)
        fill((d_r,), spec, 24, 0, False)
        fill((d_i,), spec, 16, 1, True)
        updater = DeviceUpdater(agent, DeviceMixedSampler(d_r, d_i, 16), 2, seed=5)
        st = agent.init(jax.random.PRNGKey(0))
        for _ in range(3):
            st, m = updater(st)
        out.append(jax.tree.map(np.asarray, st.params))
    worst = max(float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-6))
                for a, b in zip(jax.tree.leaves(out[0]), jax.tree.leaves(out[1])))
    print("WORST", worst)
    assert worst < 1e-4, worst
    """
)


def test_four_devices_match_one_with_replicated_storage():
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4",
               JAX_PLATFORMS="cpu")
    root = pathlib.Path(__file__).resolve().parents[2]
    proc = subprocess.run([sys.executable, "-c", SCRIPT], cwd=root, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "WORST" in proc.stdout
