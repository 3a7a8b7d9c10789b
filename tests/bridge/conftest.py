"""Shared fixtures of the bridge tests."""

from __future__ import annotations

import pathlib

import pytest

ASSETS = pathlib.Path(__file__).parent / "assets"


@pytest.fixture
def arm7_xml() -> pathlib.Path:
    return ASSETS / "arm7.xml"
