"""The synchronous loop trains from pixels with frames decoded inside the compiled calls.

Every training batch (updates, pre-training, beta steps) leaves the replay in its stored
yuv420 form; the host decoder is made to fail for the whole run, so any host decode on a
training path would end it. Tiny budget: 32x32 cameras, the small conv backbone.
"""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
from test_sync_train import tiny_config

from silri_jax import sync_train
from silri_jax.data import MixedSampler, ReplayBuffer
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.training import batches


def pixel_config(tmp_path: pathlib.Path):
    """The end-to-end test's tiny config with 32x32 cameras and an even smaller budget."""
    c = tiny_config(
        tmp_path, task__obs_mode="pixels", task__image_size=32,
        task__sim={"max_episode_steps": 30}, agent__batch_size=8, agent__utd=2,
        demos__num=1, agent__pretrain_steps=2, runtime__env_steps=40,
        runtime__start_training_after=20, runtime__eval_every_steps=0,
        runtime__eval_episodes=1, runtime__log_every_steps=20, runtime__replay_capacity=500)
    c.agent.overrides.beta_every = 5
    c.agent.overrides.beta_steps = 2
    c.agent.overrides.encoder.backbone = "small_conv"
    return c


def test_pixel_training_never_decodes_on_the_host(tmp_path: pathlib.Path) -> None:
    buffers: list[ReplayBuffer] = []

    class Recording(ReplayBuffer):
        def __init__(self, *a, **k) -> None:
            super().__init__(*a, **k)
            buffers.append(self)

    def no_host_decode(self, batch):
        raise AssertionError("a training batch was decoded on the host")

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batches, "ReplayBuffer", Recording)
        mp.setattr(ObservationDecoder, "numpy", no_host_decode)
        results = sync_train.train(pixel_config(tmp_path), quiet=True)

    assert results["pretrain_steps"] == 2
    assert results["updates"] == 40 - 20
    assert results["beta_steps"] > 0  # the skilled operator intervenes within 40 steps
    d_r, d_i = buffers
    assert d_r.codec.name == "yuv420"
    # what BatchSource draws for a mixed agent: half D_R, half D_I, in stored form
    batch, decoder = MixedSampler(d_r, d_i, 8, 0.5).sample(np.random.default_rng(0), 2,
                                                           decode=False)
    front = batch["observations"]["images/front"]
    # stored 4:2:0 form: 48x32 bytes a frame, half the 32x32x3 of RGB
    assert front.dtype == np.uint8 and front.shape == (2, 8, 48, 32)
    assert decoder == d_r.decoder
