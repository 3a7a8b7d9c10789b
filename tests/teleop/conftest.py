"""The fake sysfs/dev tree (``teleop_fakes.FakeSys``) as a fixture."""

from __future__ import annotations

import pathlib

import pytest
from teleop_fakes import FakeSys


@pytest.fixture
def fake_sys(tmp_path: pathlib.Path) -> FakeSys:
    return FakeSys(tmp_path)
