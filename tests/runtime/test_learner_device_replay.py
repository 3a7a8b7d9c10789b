"""``runtime.replay_on_device``: the learner keeps a copy of D_R / D_I on the accelerator
and draws each update's batch there. The copy must equal the host buffers after the
demos, after ingest and after a resume from a checkpoint, and the updates must train."""

from __future__ import annotations

import jax
import numpy as np

from silri_jax.learner import Learner
from silri_jax.transport import codec


def _config(tmp, demos: str):
    from tests.runtime import tiny_config

    c = tiny_config.get_config()
    c.runtime.run_dir = str(tmp)
    c.demos.path = demos
    c.agent.pretrain_steps = 10
    c.runtime.replay_on_device = True
    return c


def _same(dev, host) -> None:
    """The accelerator copy holds exactly the host buffer's valid rows."""
    storage = jax.tree.map(np.asarray, dev.storage)
    assert len(dev) == len(host) and len(host) > 0
    slots = (host._index.start + np.arange(len(host))) % host.capacity
    fc = host._index.frame_capacity
    for name, arr in host._data.items():
        np.testing.assert_array_equal(storage["data"][name][slots], arr[slots])
    of = host._index.obs_frame[slots] % fc
    nf = host._index.next_frame[slots] % fc
    np.testing.assert_array_equal(storage["obs_frame"][slots], of)
    np.testing.assert_array_equal(storage["next_frame"][slots], nf)
    for key, frames in host._frames.items():
        np.testing.assert_array_equal(storage["frames"][key][of], frames[of])
        np.testing.assert_array_equal(storage["frames"][key][nf], frames[nf])


def _batch(spec, n: int, episode: int, interv: bool) -> codec.DecodedBatch:
    rng = np.random.default_rng(episode)
    obs = rng.normal(size=(n + 1, *spec.observation.entries["state"].shape)).astype(np.float32)
    data = {"observations": {"state": obs[:-1]}, "next_observations": {"state": obs[1:]},
            "actions": rng.uniform(-1, 1, (n, spec.action.dim)).astype(np.float32),
            "rewards": rng.normal(size=n).astype(np.float32),
            "terminated": np.zeros(n, np.uint8), "truncated": np.zeros(n, np.uint8),
            "is_intervention": np.full(n, interv, np.uint8),
            "episode_ids": np.full(n, episode, np.int64), "steps": np.arange(n)}
    return codec.DecodedBatch("a0", 1, data)


def test_device_copy_follows_the_host_buffers_and_trains(tmp_path, demos):
    learner = Learner(_config(tmp_path, demos), quiet=True)
    try:
        assert learner.trainer.batches.device_updater is not None
        _same(learner.trainer.batches.mirrors[1], learner.d_i)  # the demos
        learner._insert(_batch(learner.spec, 40, 7, False), log_it=False)
        learner._insert(_batch(learner.spec, 12, 8, True), log_it=False)
        learner.trainer.batches.device_updater.sampler.storages()
        _same(learner.trainer.batches.mirrors[0], learner.d_r)
        _same(learner.trainer.batches.mirrors[1], learner.d_i)
        before = jax.tree.map(np.asarray, learner.state.params["critic"])
        for _ in range(3):
            learner.state, metrics = learner.trainer.batches.device_updater(learner.state)
        assert np.isfinite(float(metrics["critic_loss"]))
        after = jax.tree.map(np.asarray, learner.state.params["critic"])
        assert any(not np.array_equal(a, b) for a, b in
                   zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True))
        learner.checkpoint()
    finally:
        learner.wal.close()
    resumed = Learner(_config(tmp_path, demos), resume=True, quiet=True)
    try:
        assert resumed.resumed_step is not None
        _same(resumed.trainer.batches.mirrors[0], resumed.d_r)
        _same(resumed.trainer.batches.mirrors[1], resumed.d_i)
        assert len(resumed.d_r) == 52
    finally:
        resumed.wal.close()


def test_off_by_default(tmp_path, demos):
    c = _config(tmp_path, demos)
    c.runtime.replay_on_device = False
    learner = Learner(c, quiet=True)
    try:
        batches = learner.trainer.batches
        assert batches.device_updater is None and batches.mirrors[0] is None
    finally:
        learner.wal.close()


def test_pixel_learner_draws_stored_frames_on_the_device(tmp_path):
    """Two 32x32 cameras: the copy holds the yuv420 frames and the update decodes them."""
    from tests.runtime import tiny_pixels_config

    c = tiny_pixels_config.get_config()
    c.runtime.run_dir = str(tmp_path)
    c.runtime.replay_on_device = True
    learner = Learner(c, quiet=True)
    try:
        spec = learner.spec
        assert spec.observation.image_keys
        rng = np.random.default_rng(0)
        n = 20
        frames = {k: (rng.integers(0, 256, (n + 1, *s.shape), dtype=np.uint8)
                      if k in spec.observation.image_keys
                      else rng.normal(size=(n + 1, *s.shape)).astype(np.float32))
                  for k, s in spec.observation.entries.items()}
        data = {"observations": {k: v[:-1] for k, v in frames.items()},
                "next_observations": {k: v[1:] for k, v in frames.items()},
                "actions": rng.uniform(-1, 1, (n, spec.action.dim)).astype(np.float32),
                "rewards": rng.normal(size=n).astype(np.float32),
                "terminated": np.zeros(n, np.uint8), "truncated": np.zeros(n, np.uint8),
                "is_intervention": (np.arange(n) % 2).astype(np.uint8),
                "episode_ids": np.full(n, 3, np.int64), "steps": np.arange(n),
                "gripper_actions": np.ones(n, np.int32)}
        learner._insert(codec.DecodedBatch("a0", 1, data), log_it=False)
        learner.trainer.batches.device_updater.sampler.storages()
        _same(learner.trainer.batches.mirrors[0], learner.d_r)
        _same(learner.trainer.batches.mirrors[1], learner.d_i)
        before = jax.tree.map(np.asarray, learner.state.params["critic"])
        learner.state, metrics = learner.trainer.batches.device_updater(learner.state)
        assert np.isfinite(float(metrics["critic_loss"]))
        after = jax.tree.map(np.asarray, learner.state.params["critic"])
        assert any(not np.array_equal(a, b) for a, b in
                   zip(jax.tree.leaves(before), jax.tree.leaves(after), strict=True))
    finally:
        learner.wal.close()
