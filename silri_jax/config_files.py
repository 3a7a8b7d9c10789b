"""Loading the repository's Python config files (``configs/*.py``) and benchmark scripts.

The configs live outside the package, next to ``launchers/``, as ml_collections files that
absl's ``config_flags`` reads by path. Code that needs one without a command line (the
synchronous loop's defaults, tests, benchmarks under test) loads it through here, so the
one way of executing a file as a module is written once.
"""

from __future__ import annotations

import importlib.util
import pathlib
import types

import ml_collections

REPO = pathlib.Path(__file__).resolve().parents[1]
CONFIG_DIR = REPO / "configs"


def load_module(path: str | pathlib.Path, name: str | None = None) -> types.ModuleType:
    """Executes the Python file at ``path`` as a fresh module (not added to sys.modules)."""
    path = pathlib.Path(path)
    spec = importlib.util.spec_from_file_location(name or f"_file_{path.stem}", path)
    if spec is None or spec.loader is None or not path.is_file():
        raise FileNotFoundError(f"cannot load {path}: no such Python file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_config(variant: str = "silri_pick_cube_state") -> ml_collections.ConfigDict:
    """``configs/train.py:<variant>``, the actor-learner runtime's config."""
    return load_module(CONFIG_DIR / "train.py").get_config(variant)


def sync_train_config() -> ml_collections.ConfigDict:
    """``configs/sync_train.py``, the synchronous loop's config."""
    return load_module(CONFIG_DIR / "sync_train.py").get_config()


def benchmark_module(name: str) -> types.ModuleType:
    """``benchmarks/<name>.py`` as a module (benchmarks are scripts, not a package)."""
    return load_module(REPO / "benchmarks" / f"{name}.py", name)
