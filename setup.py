"""Packaging for silri_jax.

The Python package is plain setuptools. The real-time bridge (``cpp_bridge/``) is a
pybind11 extension built by CMake from the top-level ``CMakeLists.txt``; ``build_ext``
below drives CMake so that ``pip install -e .`` on a fresh machine builds everything with
tools that come from PyPI (see ``pyproject.toml``'s build requirements).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

from setuptools import Extension, find_packages, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    """An extension whose sources are built by CMake rather than by setuptools."""

    def __init__(self, name: str, target: str) -> None:
        super().__init__(name, sources=[])
        self.target = target


class CMakeBuild(build_ext):
    """Configures and builds the CMake project, placing the module where Python finds it."""

    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, CMakeExtension):
            super().build_extension(ext)
            return
        out_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).parent.resolve()
        build_dir = pathlib.Path(os.environ.get("SILRI_CMAKE_BUILD_DIR", ROOT / "build" / "cmake"))
        build_dir.mkdir(parents=True, exist_ok=True)
        cfg = os.environ.get("SILRI_CMAKE_BUILD_TYPE", "Release")
        args = [
            "cmake",
            "-S",
            str(ROOT),
            "-B",
            str(build_dir),
            "-G",
            "Ninja",
            f"-DCMAKE_BUILD_TYPE={cfg}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-DSILRI_PYTHON_MODULE_DIR={out_dir}",
        ]
        # A cache configured by another interpreter (pip's temporary build environment)
        # points at paths that no longer exist: start that configuration afresh.
        stamp = build_dir / "python_executable.txt"
        if stamp.exists() and stamp.read_text() != sys.executable:
            (build_dir / "CMakeCache.txt").unlink(missing_ok=True)
        stamp.write_text(sys.executable)
        extra = os.environ.get("SILRI_CMAKE_ARGS", "").split()
        subprocess.run(args + extra, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(
            ["cmake", "--build", str(build_dir), "--target", ext.target, "-j", jobs], check=True
        )


ext_modules = []
if (ROOT / "CMakeLists.txt").exists() and os.environ.get("SILRI_SKIP_CPP", "0") != "1":
    ext_modules.append(CMakeExtension("silri_jax.cpp_bridge._bridge", target="_bridge"))

setup(
    name="silri_jax",
    version="0.1.0",
    description="Human-in-the-loop robot RL (SiLRI, HIL-SERL SAC, HG-DAgger) in JAX",
    python_requires=">=3.11",
    packages=find_packages(include=["silri_jax", "silri_jax.*"]),
    package_data={"silri_jax": ["**/*.proto", "**/*.xml", "**/*.json", "**/*.pyi", "py.typed"]},
    install_requires=[
        "jax>=0.5",
        "flax>=0.10",
        "optax>=0.2.4",
        "orbax-checkpoint>=0.11",
        "chex>=0.1.88",
        "numpy>=1.26",
        "grpcio>=1.66",
        "protobuf>=5.28",
        "tensorboardX>=2.6",
        "absl-py>=2.1",
        "ml-collections>=0.1.1",
        # any release the bridge supports (silri_jax/bridge/mujoco_view.py: SUPPORTED_MUJOCO);
        # 3.8 is what gym-hil allows, so both install into one environment
        "mujoco>=3.8,<4.1",
        "gymnasium>=1.0",
        "matplotlib>=3.8",
        "pyarrow>=15",
        "av>=15",
    ],
    extras_require={
        # The C++ unit tests (ctest, driven from pytest) configure CMake with this
        # interpreter, so its build tools must be importable here too, not only in
        # pip's isolated build environment.
        "dev": [
            "pytest>=8",
            "pytest-timeout",
            "ruff",
            "grpcio-tools>=1.66",
            # the TLS tests make their own certificate authority and certificates
            "cryptography>=42",
            "cmake>=3.22",
            "ninja",
            "pybind11>=2.12",
            "cmeel-eigen>=3.4",
        ],
        # TensorBoard itself, to browse the event files every run writes (tensorboardX
        # writes them without it): tensorboard --logdir runs/
        "tensorboard": ["tensorboard>=2.16"],
        # OpenCV for the opencv camera backend (USB/V4L2 cameras, video files) and PNG
        # writing; RealSense cameras need pyrealsense2, installed separately
        "cameras": ["opencv-python-headless>=4.8"],
    },
    ext_modules=ext_modules,
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
