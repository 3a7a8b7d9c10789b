"""Dataset interchange: LeRobotDataset v3.0 files (``lerobot_v3``), and conversion between
them and the project's demonstration files, replay checkpoints and HIL-SERL demo pickles
(``convert``). ``python -m silri_jax.datasets --help`` lists the commands."""

from silri_jax.datasets.convert import (
    convert,
    describe,
    detect_format,
    load_episodes,
    save_episodes,
)
from silri_jax.datasets.episodes import DatasetEpisode
from silri_jax.datasets.errors import DatasetError
from silri_jax.datasets.lerobot_v3 import LeRobotReader, LeRobotWriter, find_problems, validate

__all__ = [
    "DatasetEpisode",
    "DatasetError",
    "LeRobotReader",
    "LeRobotWriter",
    "convert",
    "describe",
    "detect_format",
    "find_problems",
    "load_episodes",
    "save_episodes",
    "validate",
]
