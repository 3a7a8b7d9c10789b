"""The two action distributions the agents need, as pure functions.

Written out (rather than taken from a distributions library) because the losses are held
to hand-computed values: every log-density term is visible here.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp

LOG_2PI = math.log(2.0 * math.pi)


def gaussian_log_prob(x: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """Log density of a diagonal Gaussian, summed over the last axis."""
    z = (x - mean) / std
    return jnp.sum(-0.5 * z * z - jnp.log(std) - 0.5 * LOG_2PI, axis=-1)


def tanh_gaussian_log_prob_pre_tanh(u: jax.Array, mean: jax.Array, std: jax.Array) -> jax.Array:
    """Log density of ``tanh(u)`` under tanh(N(mean, std)), given the pre-tanh value ``u``."""
    log_det = jnp.sum(2.0 * (math.log(2.0) - u - jax.nn.softplus(-2.0 * u)), axis=-1)
    return gaussian_log_prob(u, mean, std) - log_det
