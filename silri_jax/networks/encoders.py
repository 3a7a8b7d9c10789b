"""Image backbones and the per-network observation encoder.

The backbone (ResNet-10 with GroupNorm, or a small conv net) turns each camera frame into
a spatial feature map. It is frozen by default and evaluated once per batch for
observations and next observations together; every network then reads those features
through its own trainable ``ObservationEncoder`` (spatial learned embeddings per camera,
a proprio encoder), so no network ever re-runs the backbone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from silri_jax.parallel import example_keys
from silri_jax.specs import IMAGE_PREFIX

# numpy, not jnp: a jnp array made at import would start a JAX backend, after which a
# multi-process learner can no longer call jax.distributed.initialize
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], np.float32)
GN_EPS = 1e-5


def normalize_images(images: jax.Array) -> jax.Array:
    """uint8 [.., H, W, 3] -> float32 normalised with ImageNet statistics."""
    x = images.astype(jnp.float32) / 255.0
    return (x - IMAGENET_MEAN) / IMAGENET_STD


class ResNetBlock(nn.Module):
    """A basic residual block with GroupNorm (batch statistics would leak across samples)."""

    filters: int
    strides: int = 1
    num_groups: int = 4

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        residual = x
        y = nn.Conv(self.filters, (3, 3), self.strides, use_bias=False, name="conv1")(x)
        y = nn.GroupNorm(num_groups=self.num_groups, epsilon=GN_EPS, name="norm1")(y)
        y = nn.relu(y)
        y = nn.Conv(self.filters, (3, 3), 1, use_bias=False, name="conv2")(y)
        y = nn.GroupNorm(num_groups=self.num_groups, epsilon=GN_EPS, name="norm2")(y)
        if residual.shape != y.shape:
            residual = nn.Conv(self.filters, (1, 1), self.strides, use_bias=False, name="proj")(
                residual
            )
            residual = nn.GroupNorm(num_groups=self.num_groups, epsilon=GN_EPS, name="proj_norm")(
                residual
            )
        return nn.relu(residual + y)


class ResNet10(nn.Module):
    """ResNet-10 (one basic block per stage) with GroupNorm, the HIL-SERL image backbone.

    Returns the pre-pooling feature map; pooling is the job of the spatial embeddings.
    """

    stage_filters: Sequence[int] = (64, 128, 256, 512)
    num_groups: int = 4

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = normalize_images(images)
        # Explicit (3, 3) padding and eps 1e-5: the layout HIL-SERL's published weights expect.
        x = nn.Conv(64, (7, 7), 2, padding=((3, 3), (3, 3)), use_bias=False, name="stem_conv")(x)
        x = nn.GroupNorm(num_groups=self.num_groups, epsilon=GN_EPS, name="stem_norm")(x)
        x = nn.relu(x)
        x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        for i, filters in enumerate(self.stage_filters):
            x = ResNetBlock(filters, 1 if i == 0 else 2, self.num_groups, name=f"stage_{i}")(x)
        return x


class SmallConv(nn.Module):
    """A four-layer conv net for CPU runs and tests (stride 2 each: 128 -> 8)."""

    features: Sequence[int] = (32, 32, 32, 32)

    @nn.compact
    def __call__(self, images: jax.Array) -> jax.Array:
        x = images.astype(jnp.float32) / 255.0 - 0.5
        for i, f in enumerate(self.features):
            x = nn.Conv(f, (3, 3), 2, name=f"conv_{i}")(x)
            x = nn.relu(x)
        return x


BACKBONES: dict[str, type[nn.Module]] = {"resnet10": ResNet10, "small_conv": SmallConv}


def make_backbone(name: str) -> nn.Module:
    try:
        return BACKBONES[name]()
    except KeyError:
        raise ValueError(
            f"unknown image backbone {name!r}; choose one of {sorted(BACKBONES)}"
        ) from None


def apply_backbone(
    backbone: nn.Module, params: Mapping, obs: Mapping[str, jax.Array]
) -> dict[str, jax.Array]:
    """Replaces every camera entry of ``obs`` by its feature map; other entries pass through.

    All cameras go through the backbone as one stacked batch.
    """
    image_keys = sorted(k for k in obs if k.startswith(IMAGE_PREFIX))
    out = {k: v for k, v in obs.items() if not k.startswith(IMAGE_PREFIX)}
    if not image_keys:
        return out
    stacked = jnp.concatenate([obs[k] for k in image_keys], axis=0)
    feats = backbone.apply({"params": params}, stacked)
    for k, f in zip(image_keys, jnp.split(feats, len(image_keys), axis=0), strict=True):
        out[k] = f
    return out


class SpatialLearnedEmbeddings(nn.Module):
    """Learned spatial softmax-free pooling: ``num_features`` weighted sums over H x W."""

    num_features: int = 8

    @nn.compact
    def __call__(self, fmap: jax.Array) -> jax.Array:
        h, w, c = fmap.shape[-3:]
        kernel = self.param("kernel", nn.initializers.lecun_normal(), (h, w, c, self.num_features))
        out = jnp.einsum("bhwc,hwcf->bcf", fmap, kernel)
        return jnp.reshape(out, (fmap.shape[0], c * self.num_features))


class ObservationEncoder(nn.Module):
    """Per-network encoder of (backbone features, proprio) into one vector.

    Per camera: spatial learned embeddings -> dropout -> Dense -> LayerNorm -> tanh.
    Proprio: Dense -> LayerNorm -> tanh. Keys are read by name, in sorted order.
    """

    latent_dim: int = 256
    num_spatial_features: int = 8
    dropout_rate: float = 0.1
    encode_state: bool = True
    # data-parallel axis name when applied inside a sharded update: the dropout mask of
    # each example is drawn from the "dropout" key folded with the example's position in
    # the global batch, so N devices drop what one device would (None: local position)
    dropout_axis: str | None = None

    @nn.compact
    def __call__(self, features: Mapping[str, jax.Array], train: bool = False) -> jax.Array:
        parts = []
        for key in sorted(features):
            x = features[key]
            name = key.replace("/", "_")
            if key.startswith(IMAGE_PREFIX):
                x = SpatialLearnedEmbeddings(self.num_spatial_features, name=f"{name}_spatial")(x)
                if self.dropout_rate > 0 and train:
                    x = example_dropout(self.make_rng("dropout"), x, self.dropout_rate,
                                        self.dropout_axis)
            elif not self.encode_state:
                parts.append(jnp.reshape(x, (x.shape[0], -1)))
                continue
            x = nn.Dense(self.latent_dim, name=f"{name}_dense")(jnp.reshape(x, (x.shape[0], -1)))
            x = nn.LayerNorm(name=f"{name}_norm")(x)
            parts.append(nn.tanh(x))
        return jnp.concatenate(parts, axis=-1)


def example_dropout(key: jax.Array, x: jax.Array, rate: float,
                    axis_name: str | None = None) -> jax.Array:
    """Inverted dropout of ``x`` [B, ...] with one mask per example, drawn from ``key``
    folded with the example's position in the global batch (the local position plus
    this device's offset along ``axis_name``): the same masks whatever the device count."""
    keys = example_keys(key, x.shape[0], axis_name)
    keep = jax.vmap(lambda k: jax.random.bernoulli(k, 1.0 - rate, x.shape[1:]))(keys)
    return jnp.where(keep, x / (1.0 - rate), jnp.zeros_like(x))


def random_shift(key: jax.Array, images: jax.Array, pad: int = 4) -> jax.Array:
    """DrQ random-shift augmentation of one uint8 image [H, W, C] (vmap it over a batch)."""
    h, w = images.shape[:2]
    padded = jnp.pad(images, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    dy, dx = jax.random.randint(key, (2,), 0, 2 * pad + 1)
    return jax.lax.dynamic_slice(padded, (dy, dx, 0), (h, w, images.shape[2]))
