"""Training-time augmentation of preprocessed frames: random crop and colour jitter.

Done inside the jitted train step on the already preprocessed uint8 frames, so it never
changes what inference sees (inference runs no augmentation at all). The random crop is
the project's DrQ ``random_shift`` (pad by edge pixels, crop back); the colour jitter
draws brightness, contrast and saturation per frame, as lighting and white balance drift
on a real cell.
"""

from __future__ import annotations

import dataclasses

import chex
import jax
import jax.numpy as jnp

from silri_jax.networks import random_shift


@dataclasses.dataclass(frozen=True)
class AugmentConfig:
    pad: int = 3
    brightness: float = 0.1
    contrast: float = 0.15
    saturation: float = 0.15


def colour_jitter(key: jax.Array, image: jax.Array, cfg: AugmentConfig) -> jax.Array:
    """One frame [H, W, 3] (0..255) -> jittered float32 frame, clipped to 0..255."""
    kb, kc, ks = jax.random.split(key, 3)
    x = image.astype(jnp.float32)
    sat = 1.0 + jax.random.uniform(ks, (), minval=-cfg.saturation, maxval=cfg.saturation)
    gray = jnp.mean(x, axis=-1, keepdims=True)
    x = gray + (x - gray) * sat
    con = 1.0 + jax.random.uniform(kc, (), minval=-cfg.contrast, maxval=cfg.contrast)
    mean = jnp.mean(x)
    x = mean + (x - mean) * con
    x = x + 255.0 * jax.random.uniform(kb, (), minval=-cfg.brightness, maxval=cfg.brightness)
    return jnp.clip(x, 0.0, 255.0)


def augment(key: jax.Array, images: jax.Array, cfg: AugmentConfig) -> jax.Array:
    """A batch of uint8 frames [B, H, W, 3] -> augmented float32 frames (0..255)."""
    chex.assert_rank(images, 4)
    b = images.shape[0]
    k_shift, k_col = jax.random.split(key)
    if cfg.pad > 0:
        images = jax.vmap(lambda k, im: random_shift(k, im, cfg.pad))(
            jax.random.split(k_shift, b), images)
    return jax.vmap(lambda k, im: colour_jitter(k, im, cfg))(jax.random.split(k_col, b), images)
