"""DeviceReplay: same storage as the host buffer, sampled and decoded inside jit."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from replay_helpers import check_links, insert_step, pixel_spec

from silri_jax import specs
from silri_jax.data import ReplayBuffer
from silri_jax.data.device_replay import DeviceReplay


def to_host(tree):
    return jax.tree_util.tree_map(np.asarray, tree)


def fill_both(capacity: int, chunk_size: int, episodes: int = 9):
    spec = pixel_spec(gripper=True)
    dev, host = DeviceReplay(spec, capacity, chunk_size=chunk_size), ReplayBuffer(spec, capacity)
    rng = np.random.default_rng(capacity)
    for ep in range(episodes):
        length = int(rng.integers(1, 7))
        for t in range(length):
            if t == 2 and ep % 3 == 0:
                continue  # a D_I-like gap
            for buf in (dev, host):
                insert_step(buf, ep, t, truncated=t == length - 1)
    return dev, host


@pytest.mark.parametrize("capacity,chunk_size", [(13, 4), (6, 3), (40, 64)])
def test_storage_matches_the_host_buffer_after_wrap_around(capacity, chunk_size):
    dev, host = fill_both(capacity, chunk_size)
    storage = to_host(dev.storage)
    assert len(dev) == len(host) and dev.num_inserted == host.num_inserted
    for key, frames in host._frames.items():
        np.testing.assert_array_equal(storage["frames"][key], frames)
    slots = (host._index.start + np.arange(len(host))) % capacity
    for name in ("actions", "rewards", "truncated", "gripper_actions"):
        np.testing.assert_array_equal(storage["data"][name][slots], host._data[name][slots])
    np.testing.assert_array_equal(storage["obs_frame"][slots],
                                  host._index.obs_frame[slots] % host.frame_capacity)


def test_sample_inside_jit_has_the_batch_layout_and_true_links():
    dev, _ = fill_both(13, 4, episodes=20)
    fn = dev.sample_fn(16)
    batch = to_host(jax.jit(fn)(dev.storage, jax.random.key(0)))
    ref = specs.example_batch(dev.spec, 16)
    assert jax.tree_util.tree_structure(batch) == jax.tree_util.tree_structure(ref)
    for got, want in zip(jax.tree_util.tree_leaves(batch), jax.tree_util.tree_leaves(ref),
                         strict=True):
        assert got.shape == want.shape and got.dtype == want.dtype
    check_links(batch)


def test_sample_fn_composes_into_a_scanned_update():
    """UTD groups: a lax.scan whose body samples and reduces, one compiled call."""
    dev, _ = fill_both(30, 8, episodes=12)
    fn = dev.sample_fn(8)

    def update(carry, key):
        b = fn(storage, key)
        step_gap = b["next_observations"]["state"][:, 1] - b["observations"]["state"][:, 1]
        return carry + jnp.sum(step_gap), b["rewards"]

    storage = dev.storage
    total, rewards = jax.jit(lambda keys: jax.lax.scan(update, 0.0, keys))(
        jax.random.split(jax.random.key(1), 5))
    assert float(total) == 5 * 8  # every next obs is exactly one step later
    assert rewards.shape == (5, 8)
    group = to_host(jax.jit(dev.sample_fn(4, num_batches=3))(storage, jax.random.key(2)))
    assert group["actions"].shape == (3, 4, 3)
    check_links(group)


def test_encoded_sampling_decodes_like_the_host():
    dev, _ = fill_both(13, 4)
    key = jax.random.key(3)
    stored = jax.jit(dev.sample_fn(6, decode=False))(dev.storage, key)
    assert stored["observations"]["images/front"].shape == (6, 12, 8)
    decoded = to_host(dev.sample(key, 6))
    host_decoded = dev.decoder.numpy(to_host(stored))
    for key_ in dev.spec.observation.entries:
        np.testing.assert_array_equal(decoded["observations"][key_],
                                      host_decoded["observations"][key_])


def test_staging_flush_and_bad_input():
    spec = pixel_spec()
    dev = DeviceReplay(spec, 20, chunk_size=8)
    for t in range(3):
        insert_step(dev, 0, t)
    assert len(dev) == 0 and dev.num_inserted == 3  # staged, not yet on the device
    dev.flush()
    assert len(dev) == 3
    with pytest.raises(ValueError, match=r"reward.*NaN"):
        dev.insert(spec.observation.zeros(), np.zeros(3, np.float32), float("nan"), False,
                   False, spec.observation.zeros(), False, 0, 3)
    assert dev.num_inserted == 3
    with pytest.raises(ValueError, match="empty"):
        DeviceReplay(spec, 4).sample(jax.random.key(0), 2)


def test_ingest_thread_stages_while_the_update_thread_flushes_and_samples():
    import threading
    import time

    dev = DeviceReplay(pixel_spec(), 32, chunk_size=8)
    insert_step(dev, 0, 0)
    stop, errors = threading.Event(), []

    def ingest():
        ep, t = 0, 1
        try:
            while not stop.is_set():
                insert_step(dev, ep, t, terminated=t == 6)
                ep, t = (ep + 1, 0) if t == 6 else (ep, t + 1)
                time.sleep(0.0005)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    fn = jax.jit(dev.sample_fn(16))
    check_links(to_host(fn(dev.flush(), jax.random.key(0))))  # compile before racing
    thread = threading.Thread(target=ingest)
    thread.start()
    try:
        start, i = time.monotonic(), 0
        while (i < 20 or time.monotonic() - start < 1.0) and time.monotonic() - start < 30:
            check_links(to_host(fn(dev.flush(), jax.random.key(i))))
            i += 1
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert dev.num_inserted > 32 and i >= 20
