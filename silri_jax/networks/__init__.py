"""Flax networks: image backbones, observation encoders and the agents' heads."""

from silri_jax.networks.encoders import (
    ObservationEncoder,
    ResNet10,
    SmallConv,
    SpatialLearnedEmbeddings,
    apply_backbone,
    make_backbone,
    random_shift,
)
from silri_jax.networks.heads import (
    Critic,
    CriticEnsemble,
    DeterministicActor,
    DiscreteHead,
    GaussianPolicy,
    LagrangeNetwork,
    TanhGaussianActor,
)
from silri_jax.networks.mlp import MLP

__all__ = [
    "MLP",
    "Critic",
    "CriticEnsemble",
    "DeterministicActor",
    "DiscreteHead",
    "GaussianPolicy",
    "LagrangeNetwork",
    "ObservationEncoder",
    "ResNet10",
    "SmallConv",
    "SpatialLearnedEmbeddings",
    "TanhGaussianActor",
    "apply_backbone",
    "make_backbone",
    "random_shift",
]
