"""Dense trunks shared by every head: Dense -> LayerNorm -> activation, as in HIL-SERL."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "tanh": nn.tanh,
    "relu": nn.relu,
    "gelu": nn.gelu,
    "swish": nn.swish,
    "elu": nn.elu,
}


def activation_by_name(name: str) -> Callable[[jax.Array], jax.Array]:
    """Looks an activation up by its config name; an unknown name is an error that names it."""
    try:
        return ACTIVATIONS[name]
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; choose one of {sorted(ACTIVATIONS)}"
        ) from None


def default_init(scale: float = 1.0) -> nn.initializers.Initializer:
    return nn.initializers.variance_scaling(scale, "fan_avg", "uniform")


class MLP(nn.Module):
    """A stack of Dense -> (LayerNorm) -> activation blocks.

    LayerNorm in every block is what keeps high-UTD critics stable (RLPD, HIL-SERL).
    """

    hidden_dims: Sequence[int] = (256, 256)
    activation: str = "tanh"
    use_layer_norm: bool = True

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        act = activation_by_name(self.activation)
        for i, width in enumerate(self.hidden_dims):
            x = nn.Dense(width, kernel_init=default_init(), name=f"dense_{i}")(x)
            if self.use_layer_norm:
                x = nn.LayerNorm(name=f"norm_{i}")(x)
            x = act(x)
        return x
