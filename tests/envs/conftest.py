"""Fixtures shared by the env tests."""

import pytest
from kinematic_arm import KinematicArmEnv


@pytest.fixture
def kinematic_env():
    return KinematicArmEnv()
