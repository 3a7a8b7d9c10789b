"""The learned functions: actors, critic ensemble, behaviour policy, Lagrange net, gripper.

Every head owns an ``ObservationEncoder`` over the (frozen) backbone features and the
proprio state, so each network's optimizer sees only its own parameters.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from silri_jax.networks.encoders import ObservationEncoder
from silri_jax.networks.mlp import MLP, default_init
from silri_jax.specs import NUM_GRIPPER_ACTIONS

Features = Mapping[str, jax.Array]


class EncodedMLP(nn.Module):
    """ObservationEncoder -> optional action concat -> MLP trunk."""

    hidden_dims: Sequence[int] = (256, 256)
    activation: str = "tanh"
    use_layer_norm: bool = True
    latent_dim: int = 256
    dropout_rate: float = 0.1
    dropout_axis: str | None = None

    @nn.compact
    def __call__(
        self, features: Features, action: jax.Array | None = None, train: bool = False
    ) -> jax.Array:
        x = ObservationEncoder(self.latent_dim, dropout_rate=self.dropout_rate,
                               dropout_axis=self.dropout_axis, name="encoder")(features, train)
        if action is not None:
            x = jnp.concatenate([x, action], axis=-1)
        return MLP(self.hidden_dims, self.activation, self.use_layer_norm, name="trunk")(x)


class _TrunkArgs(nn.Module):
    hidden_dims: Sequence[int] = (256, 256)
    activation: str = "tanh"
    use_layer_norm: bool = True
    latent_dim: int = 256
    dropout_rate: float = 0.1
    # the data-parallel axis: dropout masks keyed by global example position (see
    # ObservationEncoder); None outside a sharded update
    dropout_axis: str | None = None

    def trunk(self, name: str = "body") -> EncodedMLP:
        return EncodedMLP(
            self.hidden_dims,
            self.activation,
            self.use_layer_norm,
            self.latent_dim,
            self.dropout_rate,
            self.dropout_axis,
            name=name,
        )


class TanhGaussianActor(_TrunkArgs):
    """SAC's actor: returns (mean, std) of the pre-tanh Gaussian; std in [1e-5, 5]."""

    action_dim: int = 1
    log_std_min: float = -11.512925  # log(1e-5)
    log_std_max: float = 1.609438  # log(5)

    @nn.compact
    def __call__(self, features: Features, train: bool = False) -> tuple[jax.Array, jax.Array]:
        h = self.trunk()(features, train=train)
        mean = nn.Dense(self.action_dim, kernel_init=default_init(), name="mean")(h)
        log_std = nn.Dense(self.action_dim, kernel_init=default_init(), name="log_std")(h)
        log_std = jnp.clip(log_std, self.log_std_min, self.log_std_max)
        return mean, jnp.exp(log_std)


class DeterministicActor(_TrunkArgs):
    """SiLRI's actor: ``mu_pi(s) = tanh(...)``."""

    action_dim: int = 1

    @nn.compact
    def __call__(self, features: Features, train: bool = False) -> jax.Array:
        h = self.trunk()(features, train=train)
        return jnp.tanh(nn.Dense(self.action_dim, kernel_init=default_init(), name="mean")(h))


class GaussianPolicy(_TrunkArgs):
    """Behaviour policy ``beta(s) = N(tanh(m(s)), diag sigma(s)^2)``.

    Its sigma is SiLRI's uncertainty estimate, so the bounds are wide and the std is a
    state-dependent output, not a free parameter.
    """

    action_dim: int = 1
    log_std_min: float = -5.0
    log_std_max: float = 1.0

    @nn.compact
    def __call__(self, features: Features, train: bool = False) -> tuple[jax.Array, jax.Array]:
        h = self.trunk()(features, train=train)
        mean = jnp.tanh(nn.Dense(self.action_dim, kernel_init=default_init(), name="mean")(h))
        log_std = nn.Dense(self.action_dim, kernel_init=default_init(), name="log_std")(h)
        log_std = jnp.clip(log_std, self.log_std_min, self.log_std_max)
        return mean, jnp.exp(log_std)


class Critic(_TrunkArgs):
    """One Q-function head: trunk and final layer, all its own."""

    @nn.compact
    def __call__(self, features: Features, action: jax.Array, train: bool = False) -> jax.Array:
        h = self.trunk()(features, action, train=train)
        return jnp.squeeze(nn.Dense(1, kernel_init=default_init(), name="q")(h), -1)


class CriticEnsemble(nn.Module):
    """K independent critics; the whole head (encoder, trunk, output) is vmapped.

    Output: Q values [K, B].
    """

    ensemble_size: int = 2
    hidden_dims: Sequence[int] = (256, 256)
    activation: str = "tanh"
    use_layer_norm: bool = True
    latent_dim: int = 256
    dropout_rate: float = 0.1
    dropout_axis: str | None = None

    @nn.compact
    def __call__(self, features: Features, action: jax.Array, train: bool = False) -> jax.Array:
        ensemble = nn.vmap(
            Critic,
            variable_axes={"params": 0},
            split_rngs={"params": True, "dropout": True},
            in_axes=None,
            out_axes=0,
            axis_size=self.ensemble_size,
        )
        return ensemble(
            self.hidden_dims,
            self.activation,
            self.use_layer_norm,
            self.latent_dim,
            self.dropout_rate,
            self.dropout_axis,
            name="members",
        )(features, action, train)


class LagrangeNetwork(_TrunkArgs):
    """State-wise multiplier ``lambda(s) = softplus(f(s)) >= 0``; last layer zero-initialised,
    so every state starts from the same multiplier: softplus(0) = log 2, or ``init_value``
    when given (the last layer's bias is then softplus^-1(init_value))."""

    init_value: float | None = None

    @nn.compact
    def __call__(self, features: Features, train: bool = False) -> jax.Array:
        h = self.trunk()(features, train=train)
        bias_init = nn.initializers.zeros
        if self.init_value is not None:
            if not self.init_value > 0:
                raise ValueError(f"the initial lambda must be > 0, got {self.init_value}")
            bias_init = nn.initializers.constant(math.log(math.expm1(self.init_value)))
        f = nn.Dense(1, kernel_init=nn.initializers.zeros, bias_init=bias_init, name="out")(h)
        return jax.nn.softplus(jnp.squeeze(f, -1))


class DiscreteHead(_TrunkArgs):
    """Three outputs over gripper commands {open, stay, close}: Q values (grasp critic)
    or logits (cross-entropy head)."""

    num_actions: int = NUM_GRIPPER_ACTIONS

    @nn.compact
    def __call__(self, features: Features, train: bool = False) -> jax.Array:
        h = self.trunk()(features, train=train)
        return nn.Dense(self.num_actions, kernel_init=default_init(), name="out")(h)
