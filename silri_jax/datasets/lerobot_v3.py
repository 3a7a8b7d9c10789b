"""LeRobotDataset v3.0 interchange: the public entry points in one import.

The format (``lerobot_format.py``), its statistics (``lerobot_stats.py``), video streams
(``lerobot_video.py``), the writer, the reader and the validator each live in their own
module; this one gathers what callers use::

    from silri_jax.datasets.lerobot_v3 import LeRobotReader, LeRobotWriter, validate
"""

from __future__ import annotations

from silri_jax.datasets.errors import DatasetError
from silri_jax.datasets.lerobot_format import CODEBASE_VERSION, DEFAULT_FEATURES
from silri_jax.datasets.lerobot_reader import LeRobotReader
from silri_jax.datasets.lerobot_validate import find_problems, validate
from silri_jax.datasets.lerobot_video import default_codec, encodable_codecs
from silri_jax.datasets.lerobot_writer import LeRobotWriter

__all__ = [
    "CODEBASE_VERSION",
    "DEFAULT_FEATURES",
    "DatasetError",
    "LeRobotReader",
    "LeRobotWriter",
    "default_codec",
    "encodable_codecs",
    "find_problems",
    "validate",
]
