"""The learned reward: a success classifier over camera frames, trained on labelled
episodes and used in the loop in place of the simulator's (or a person's) verdict.

- ``model``: the classifier (project backbones, per-camera pooling, projection and head);
- ``preprocessing``: crop, resize and the predicate, saved with the model;
- ``labels``: which frames are positive and negative, the episode split, balanced batches;
- ``train``: training, temperature calibration, threshold (``python -m silri_jax.reward
  train``);
- ``model_file``: the checked model file; ``wrappers``: ``LearnedReward`` in the loop;
- ``record``: labelled simulation episodes from the simulated operator.

docs/reward.md describes the whole path.
"""

from silri_jax.reward.config import reward_config
from silri_jax.reward.model_file import Classifier, ClassifierFileError, load_classifier
from silri_jax.reward.wrappers import (
    ContinueAfterSuccess,
    LearnedReward,
    learned_reward_from_config,
)

__all__ = [
    "Classifier",
    "ClassifierFileError",
    "ContinueAfterSuccess",
    "LearnedReward",
    "learned_reward_from_config",
    "load_classifier",
    "reward_config",
]
