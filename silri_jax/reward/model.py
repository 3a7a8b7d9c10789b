"""The success classifier: the project's backbones, a trainable pooling, projection and head
per camera, as pure functions of parameter pytrees.

    frames (uint8, preprocessed) --backbone--> feature map per camera
        --SpatialLearnedEmbeddings--> Dense --> LayerNorm --> tanh   (per camera: the
        project's ObservationEncoder, one set of weights per camera key)
        --concat--> MLP --> Dense(1) = logit of "this frame shows success"

Parameters are ``{"trainable": ..., "frozen": ...}``. A ``small_conv`` backbone is
trained with the head, one conv net per camera (the cameras see different things). A
``resnet10`` backbone is frozen: its output passes through ``stop_gradient`` and its
parameters live under ``"frozen"``, which no optimizer ever sees; all cameras share it
and go through it as one stacked batch.
"""

from __future__ import annotations

import dataclasses
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import chex
import flax.linen as nn
import jax
import jax.numpy as jnp
import optax

from silri_jax.networks import MLP, ObservationEncoder, make_backbone
from silri_jax.reward.preprocessing import Preprocessing

Params = dict[str, Any]
BACKBONES = ("small_conv", "resnet10")
FROZEN_BACKBONES = ("resnet10",)


@dataclasses.dataclass(frozen=True)
class ModelSpec:
    """The classifier's architecture: everything needed to rebuild it from its header."""

    backbone: str = "small_conv"
    num_spatial_features: int = 8
    latent_dim: int = 64
    hidden_dims: tuple[int, ...] = (64,)
    dropout_rate: float = 0.1

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"unknown classifier backbone {self.backbone!r}; choose one of "
                             f"{list(BACKBONES)}")
        object.__setattr__(self, "hidden_dims", tuple(int(h) for h in self.hidden_dims))
        if not 0.0 <= self.dropout_rate < 1.0:
            raise ValueError(f"dropout_rate must be in [0, 1), got {self.dropout_rate}")

    @property
    def frozen_backbone(self) -> bool:
        return self.backbone in FROZEN_BACKBONES

    def to_json(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden_dims"] = list(self.hidden_dims)
        return d

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> ModelSpec:
        return cls(backbone=str(d["backbone"]),
                   num_spatial_features=int(d["num_spatial_features"]),
                   latent_dim=int(d["latent_dim"]), hidden_dims=tuple(d["hidden_dims"]),
                   dropout_rate=float(d["dropout_rate"]))


class ClassifierHead(nn.Module):
    """Per-camera pooling and projection (``ObservationEncoder``), then an MLP and a logit."""

    num_spatial_features: int
    latent_dim: int
    hidden_dims: Sequence[int]
    dropout_rate: float

    @nn.compact
    def __call__(self, features: Mapping[str, jax.Array], train: bool = False) -> jax.Array:
        x = ObservationEncoder(self.latent_dim, self.num_spatial_features, self.dropout_rate,
                               name="encoder")(features, train)
        x = MLP(tuple(self.hidden_dims), "tanh", True, name="trunk")(x)
        return jnp.squeeze(nn.Dense(1, name="logit")(x), -1)


class RewardModel:
    """Builds, initialises and applies the classifier; holds no parameters itself."""

    def __init__(self, spec: ModelSpec, prep: Preprocessing) -> None:
        self.spec, self.prep = spec, prep
        self.backbone = make_backbone(spec.backbone)
        self.head = ClassifierHead(spec.num_spatial_features, spec.latent_dim,
                                   spec.hidden_dims, spec.dropout_rate)

    def example_images(self, batch: int = 1) -> dict[str, jax.Array]:
        s = self.prep.image_size
        return {k: jnp.zeros((batch, s, s, 3), jnp.uint8) for k in self.prep.keys}

    def init(self, key: jax.Array, pretrained: Params | None = None) -> Params:
        """Fresh parameters; ``pretrained`` replaces the backbone's (ResNet-10 weights
        from ``load_backbone_params``)."""
        k_backbone, k_head = jax.random.split(key)
        one = next(iter(self.example_images().values()))
        if pretrained is not None:
            backbone = pretrained
        else:
            backbone = self.backbone.init(k_backbone, one)["params"]
        if self.spec.frozen_backbone:
            trainable: Params = {}
            frozen: Params = {"backbone": backbone}
        else:
            # one conv net per camera (named by camera: parameter paths are '/'-joined in
            # the model file), each starting from the same weights
            trainable = {"backbone": {c: backbone for c in self.prep.cameras}}
            frozen = {}
        feats = self.features({"trainable": trainable, "frozen": frozen},
                              self.example_images())
        trainable["head"] = self.head.init({"params": k_head, "dropout": k_head}, feats)["params"]
        return {"trainable": trainable, "frozen": frozen}

    def features(self, params: Params, images: Mapping[str, jax.Array]
                 ) -> dict[str, jax.Array]:
        """Backbone feature map per camera key; a frozen backbone's pass carries no
        gradient."""
        keys = self.prep.keys
        s = self.prep.image_size
        for k in keys:
            chex.assert_rank(images[k], 4)
            chex.assert_axis_dimension(images[k], 1, s)
            chex.assert_axis_dimension(images[k], 2, s)
            chex.assert_axis_dimension(images[k], 3, 3)
        if self.spec.frozen_backbone:
            stacked = jnp.concatenate([images[k] for k in keys], axis=0)
            fmap = self.backbone.apply({"params": params["frozen"]["backbone"]}, stacked)
            fmap = jax.lax.stop_gradient(fmap)
            return dict(zip(keys, jnp.split(fmap, len(keys), axis=0), strict=True))
        return {k: self.backbone.apply({"params": params["trainable"]["backbone"][c]},
                                       images[k])
                for c, k in zip(self.prep.cameras, keys, strict=True)}

    def logits(self, params: Params, images: Mapping[str, jax.Array], train: bool = False,
               dropout_key: jax.Array | None = None) -> jax.Array:
        """Logits [B] of success for preprocessed frames ``images`` (camera key -> [B,S,S,3])."""
        feats = self.features(params, images)
        rngs = {"dropout": dropout_key} if train and dropout_key is not None else {}
        out = self.head.apply({"params": params["trainable"]["head"]}, feats,
                              train and dropout_key is not None, rngs=rngs)
        chex.assert_rank(out, 1)
        return out

    def load_pretrained(self, path: str | pathlib.Path) -> Params:
        """The backbone weights of ``path`` (checked against the module's names and shapes)."""
        from silri_jax.networks.pretrained import load_backbone_params

        return load_backbone_params(pathlib.Path(path), self.backbone)


def bce_loss(logits: jax.Array, labels: jax.Array, weights: jax.Array | None = None
             ) -> jax.Array:
    """Sigmoid cross-entropy, weighted mean over the batch (``weights`` None: plain mean).

    With class-balanced weights (each class summing to one half) the loss is the same
    whatever the class ratio, so a held-out set of many negatives and a balanced training
    batch are measured alike."""
    chex.assert_equal_shape([logits, labels])
    ce = optax.sigmoid_binary_cross_entropy(logits, labels.astype(logits.dtype))
    if weights is None:
        return jnp.mean(ce)
    chex.assert_equal_shape([ce, weights])
    return jnp.sum(ce * weights) / jnp.maximum(jnp.sum(weights), 1e-8)


def balanced_weights(labels: jax.Array) -> jax.Array:
    """Per-example weights giving positives and negatives half the total weight each
    (a class that is absent gets none)."""
    labels = labels.astype(jnp.float32)
    n_pos = jnp.sum(labels)
    n_neg = labels.shape[0] - n_pos
    w_pos = jnp.where(n_pos > 0, 0.5 / jnp.maximum(n_pos, 1.0), 0.0)
    w_neg = jnp.where(n_neg > 0, 0.5 / jnp.maximum(n_neg, 1.0), 0.0)
    return labels * w_pos + (1.0 - labels) * w_neg


def classifier_loss(model: RewardModel, params: Params, images: Mapping[str, jax.Array],
                    labels: jax.Array, dropout_key: jax.Array | None = None
                    ) -> tuple[jax.Array, dict[str, jax.Array]]:
    """Class-balanced BCE of the classifier on one batch, with accuracy at logit 0."""
    logits = model.logits(params, images, train=dropout_key is not None,
                          dropout_key=dropout_key)
    loss = bce_loss(logits, labels, balanced_weights(labels))
    correct = ((logits > 0) == (labels > 0.5)).astype(jnp.float32)
    return loss, {"loss": loss, "accuracy": jnp.mean(correct)}
