"""The classifier model: what learns and what stays frozen, preprocessing, predicates."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax.traverse_util import flatten_dict
from reward_helpers import prep

from silri_jax.envs.wrappers import resize
from silri_jax.networks.pretrained import save_backbone_params
from silri_jax.reward.model import ModelSpec, RewardModel, classifier_loss
from silri_jax.reward.preprocessing import Predicate, Preprocessing, parse_crops


def _grads(backbone: str, size: int = 32):
    model = RewardModel(ModelSpec(backbone=backbone, latent_dim=8, hidden_dims=(8,)),
                        prep(size=size, input_size=size))
    params = model.init(jax.random.PRNGKey(0))
    images = {k: jax.random.randint(jax.random.PRNGKey(i), (4, size, size, 3), 0, 255
                                    ).astype(jnp.uint8)
              for i, k in enumerate(model.prep.keys)}
    labels = jnp.array([1.0, 0.0, 1.0, 0.0])
    grads = jax.jit(jax.grad(lambda p: classifier_loss(model, p, images, labels,
                                                       jax.random.PRNGKey(1))[0]))(params)
    return params, {"/".join(k): float(jnp.abs(v).sum())
                    for k, v in flatten_dict(grads).items()}


def test_gradients_reach_head_and_pooling_not_the_frozen_resnet() -> None:
    params, g = _grads("resnet10", size=16)  # small frames: a short compile
    frozen = [k for k in g if k.startswith("frozen/backbone/")]
    assert frozen and all(g[k] == 0.0 for k in frozen)
    for cam in ("images_front", "images_wrist"):
        assert g[f"trainable/head/encoder/{cam}_spatial/kernel"] > 0  # pooling
        assert g[f"trainable/head/encoder/{cam}_dense/kernel"] > 0  # projection
    assert g["trainable/head/logit/kernel"] > 0
    assert not any(k.startswith("trainable/backbone") for k in g)
    # the optimizer is built over the trainable part alone: no state for the backbone
    opt_state = optax.adamw(1e-3).init(params["trainable"])
    n_opt = sum(x.size for x in jax.tree.leaves(opt_state))
    n_trainable = sum(x.size for x in jax.tree.leaves(params["trainable"]))
    assert n_opt == 2 * n_trainable + 1  # mu, nu, count


def test_small_conv_trains_one_backbone_per_camera() -> None:
    _, g = _grads("small_conv")
    for cam in ("front", "wrist"):
        assert g[f"trainable/backbone/{cam}/conv_0/kernel"] > 0
    assert g["trainable/head/encoder/images_front_spatial/kernel"] > 0


def test_pretrained_resnet_weights_are_used_and_checked(tmp_path) -> None:
    model = RewardModel(ModelSpec(backbone="resnet10"), prep(size=32, input_size=32))
    weights = model.backbone.init(jax.random.PRNGKey(5), jnp.zeros((1, 32, 32, 3), jnp.uint8))
    path = tmp_path / "resnet10.npz"
    save_backbone_params(weights["params"], path)
    params = model.init(jax.random.PRNGKey(0), model.load_pretrained(path))
    np.testing.assert_array_equal(params["frozen"]["backbone"]["stem_conv"]["kernel"],
                                  weights["params"]["stem_conv"]["kernel"])
    small = RewardModel(ModelSpec(backbone="small_conv"), prep())
    with pytest.raises(ValueError, match="does not match the SmallConv"):
        small.load_pretrained(path)


def test_preprocessing_crops_then_resizes_with_the_env_resize() -> None:
    p = Preprocessing(("front",), {"front": (40, 60, 3)}, 16, {"front": (4, 10, 32, 32)})
    frame = np.random.default_rng(0).integers(0, 255, (40, 60, 3), dtype=np.uint8)
    out = p.apply({"images/front": frame})["images/front"]
    np.testing.assert_array_equal(out, resize(frame[4:36, 10:42], 16))
    batch = p.apply({"images/front": np.stack([frame, frame])})["images/front"]
    assert batch.shape == (2, 16, 16, 3)
    with pytest.raises(ValueError, match="trained on"):
        p.apply({"images/front": np.zeros((32, 32, 3), np.uint8)})
    with pytest.raises(ValueError, match="does not fit"):
        Preprocessing(("front",), {"front": (40, 60, 3)}, 16, {"front": (20, 0, 32, 32)})
    assert parse_crops("front:1,2,3,4; wrist:0,0,8,8") == {"front": (1, 2, 3, 4),
                                                           "wrist": (0, 0, 8, 8)}
    with pytest.raises(ValueError, match="top,left,height,width"):
        parse_crops("front:1,2,3")
    assert Preprocessing.from_json(p.to_json()) == p


def test_predicate_parses_evaluates_and_round_trips() -> None:
    pred = Predicate.parse("state[3] < -0.5 and state[0] >= 0.2")
    assert pred({"state": np.array([0.3, 0, 0, -0.6])})
    assert not pred({"state": np.array([0.3, 0, 0, -0.4])})
    assert not pred({"state": np.array([0.1, 0, 0, -0.6])})
    assert Predicate.parse("")({"state": np.zeros(1)})
    rows = {"state": np.array([[0.3, 0, 0, -0.6], [0.3, 0, 0, -0.4], [0.1, 0, 0, -0.9]])}
    assert list(pred.batch(rows, 3)) == [True, False, False]
    assert Predicate.from_json(pred.to_json()) == pred
    with pytest.raises(ValueError, match="KEY\\[INDEX\\] OP VALUE"):
        Predicate.parse("state[1] == 2")


@pytest.mark.parametrize("shape,size,crop", [((128, 128, 3), 64, None),
                                             ((96, 120, 3), 32, (0, 12, 96, 96)),
                                             ((90, 90, 3), 32, None),
                                             ((50, 70, 3), 24, (3, 5, 41, 61))])
def test_inference_preprocessing_is_bit_identical_to_training(shape, size, crop) -> None:
    """Training preprocesses in numpy (``apply``); inference runs the traced twin inside
    its compiled call (``apply_jax``): they must agree to the last bit."""
    crops = {"front": crop} if crop else {}
    p = Preprocessing(("front",), {"front": shape}, size, crops)
    frames = np.random.default_rng(0).integers(0, 256, (5, *shape), dtype=np.uint8)
    want = p.apply({"images/front": frames})["images/front"]
    got = jax.jit(p.apply_jax)({"images/front": jnp.asarray(frames)})["images/front"]
    np.testing.assert_array_equal(np.asarray(got), want)
