"""The one error type of the dataset package.

Readers, the validator and the converters raise :class:`DatasetError` for anything wrong
with what is on disk (a missing or corrupt file, inconsistent metadata), always naming the
file and the problem, so a caller can report it in one line instead of a library traceback.
It subclasses ``ValueError`` because a bad dataset is a bad input value.
"""

from __future__ import annotations

import os


class DatasetError(ValueError):
    """A dataset on disk is missing, corrupt or inconsistent; the message names the file."""


def where(path: str | os.PathLike[str], problem: str) -> DatasetError:
    """A :class:`DatasetError` reading ``"<path>: <problem>"``."""
    return DatasetError(f"{os.fspath(path)}: {problem}")
