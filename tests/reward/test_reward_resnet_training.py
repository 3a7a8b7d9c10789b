"""The frozen ResNet-10 path through the trainer: the pretrained weights go in, come out
of training untouched, and are stored in (and reloaded from) the model file."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from reward_helpers import SIZE, episode, spec

from silri_jax.networks import ResNet10
from silri_jax.networks.pretrained import save_backbone_params
from silri_jax.reward import load_classifier, reward_config
from silri_jax.reward.model_file import file_sha256
from silri_jax.reward.train import train_classifier


def test_a_frozen_resnet_trains_the_head_only_and_is_saved(tmp_path) -> None:
    weights = ResNet10().init(jax.random.PRNGKey(3), jnp.zeros((1, SIZE, SIZE, 3), jnp.uint8))
    pretrained = tmp_path / "resnet10.npz"
    save_backbone_params(weights["params"], pretrained)
    success = [episode([-0.05] * 6 + [9.95] * 4, seed=i, bright_from=7) for i in range(3)]
    failures = [episode([-0.05] * 10, False, seed=10 + i) for i in range(3)]
    c = reward_config()
    c.model.backbone, c.model.pretrained_path = "resnet10", str(pretrained)
    c.model.image_size, c.model.latent_dim, c.model.hidden_dims = SIZE, 8, (8,)
    c.train.steps, c.train.eval_every, c.train.batch_size = 6, 3, 8
    c.data.holdout_fraction = 0.34
    out = train_classifier(spec(), success, failures, c, tmp_path / "model")
    trained = out.params
    for a, b in zip(jax.tree.leaves(trained["frozen"]["backbone"]),
                    jax.tree.leaves(weights["params"]), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    assert "backbone" not in trained["trainable"]
    clf = load_classifier(tmp_path / "model", spec())
    assert clf.header["pretrained"]["sha256"] == file_sha256(pretrained)
    assert clf.header["normalization"] == "imagenet_mean_std"
    for a, b in zip(jax.tree.leaves(clf.params), jax.tree.leaves(trained), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
