"""Builds ``_bridge`` against the fake libfranka and ur_rtde (tests/fakes) into
``build/fake_sdk`` and runs ``tests/bridge/fake_sdk/check_*.py`` with it in a subprocess
(the module this process imported stays the real build)."""

from __future__ import annotations

import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
BUILD = REPO / "build" / "fake_sdk"
MODULE_DIR = BUILD / "module"


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=900, **kw)


@pytest.mark.timeout(1200)
def test_facade_against_the_fake_sdks() -> None:
    assert shutil.which("cmake"), "cmake not on PATH (pip install cmake ninja)"
    generator = ["-G", "Ninja"] if shutil.which("ninja") else []
    cache = BUILD / "CMakeCache.txt"
    if cache.exists():
        configured = re.search(r"^Python_EXECUTABLE:\w+=(.*)$", cache.read_text(), re.M)
        if not configured or configured.group(1) != sys.executable:
            cache.unlink()
    configure = _run([
        "cmake", "-S", str(REPO), "-B", str(BUILD), *generator,
        "-DCMAKE_BUILD_TYPE=Release", f"-DPython_EXECUTABLE={sys.executable}",
        "-DSILRI_BUILD_PYTHON=ON", "-DSILRI_USE_FAKE_SDKS=ON",
        f"-DSILRI_PYTHON_MODULE_DIR={MODULE_DIR}",
    ])
    assert configure.returncode == 0, configure.stdout + configure.stderr
    jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", "2")
    build = _run(["cmake", "--build", str(BUILD), "--target", "_bridge", "-j", jobs])
    assert build.returncode == 0, build.stdout[-8000:] + build.stderr[-8000:]
    (so,) = MODULE_DIR.glob("_bridge*.so")
    env = {**os.environ, "SILRI_FAKE_BRIDGE_SO": str(so)}
    run = _run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                "-o", "python_files=check_*.py", str(REPO / "tests/bridge/fake_sdk")], env=env)
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-4000:]
    assert " passed" in run.stdout
