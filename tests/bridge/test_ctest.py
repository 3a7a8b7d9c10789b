"""Builds the C++ unit tests with CMake into build/ctest and runs them with ctest.

This is how the single command ``python -m pytest -q`` also runs the C++ tests (the
controller, fuzzing, watchdog, mixing, determinism, MuJoCo and fake-SDK backend tests).
The first build takes a minute or two on two cores; later runs rebuild incrementally.
"""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "ctest"


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900)


@pytest.mark.timeout(1200)
def test_ctest_suite_passes() -> None:
    for tool in ("cmake", "ctest"):
        assert shutil.which(tool), f"{tool} not on PATH (pip install cmake ninja)"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    cache = BUILD / "CMakeCache.txt"
    if cache.exists():
        configured = re.search(r"^Python_EXECUTABLE:\w+=(.*)$", cache.read_text(), re.M)
        if not configured or configured.group(1) != sys.executable:
            cache.unlink()  # configured by another interpreter: its paths may be gone
    configure = _run([
        "cmake", "-S", str(REPO), "-B", str(BUILD), *generator,
        "-DCMAKE_BUILD_TYPE=Release",
        f"-DPython_EXECUTABLE={sys.executable}",
        "-DSILRI_BUILD_PYTHON=OFF", "-DSILRI_BUILD_TESTS=ON", "-DSILRI_USE_FAKE_SDKS=ON",
    ])
    assert configure.returncode == 0, configure.stdout + configure.stderr
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    build = _run(["cmake", "--build", str(BUILD), "-j", jobs])
    assert build.returncode == 0, build.stdout[-8000:] + build.stderr[-8000:]
    test = _run(["ctest", "--test-dir", str(BUILD), "--output-on-failure"])
    assert test.returncode == 0, test.stdout[-8000:] + test.stderr[-8000:]
    assert "100% tests passed" in test.stdout
