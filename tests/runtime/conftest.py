"""Shared fixtures of the runtime tests: the expert demo file and the helpers' path."""

from __future__ import annotations

import pathlib
import sys

import pytest

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for p in (str(HERE), str(ROOT)):
    if p not in sys.path:
        sys.path.insert(0, p)


@pytest.fixture(scope="session")
def demos(tmp_path_factory: pytest.TempPathFactory) -> str:
    """20 expert episodes of the reach task (about 150 transitions) as a demo file."""
    from tests.runtime import reach_gym

    path = tmp_path_factory.mktemp("demos") / "reach_demos.npz"
    reach_gym.write_demos(str(path), n=20, seed=0)
    return str(path)
