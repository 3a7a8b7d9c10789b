"""The compiled robot bridge (``_bridge``), built by CMake through ``pip install -e .``.

``mujoco`` is imported first so that ``libmujoco`` is already loaded from the installed
wheel when ``_bridge`` (which links it) is loaded, wherever the build took its copy from.
"""

from __future__ import annotations

import mujoco  # noqa: F401  (loads libmujoco for _bridge)

try:
    from silri_jax.cpp_bridge import _bridge
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "silri_jax.cpp_bridge._bridge is not built or failed to load "
        f"({exc}). Build it with `pip install -e .` (needs cmake, ninja, pybind11, "
        "cmeel-eigen and the mujoco wheel from PyPI)."
    ) from exc

__all__ = ["_bridge"]
