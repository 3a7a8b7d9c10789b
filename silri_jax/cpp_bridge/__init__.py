"""The compiled robot bridge (``_bridge``), built by CMake through ``pip install -e .``.

It links no MuJoCo: the MuJoCo backend is handed the installed library's arrays and
functions at run time (``silri_jax/bridge/mujoco_view.py``), so one build works with any
supported MuJoCo installed beside it.
"""

from __future__ import annotations

try:
    from silri_jax.cpp_bridge import _bridge
except ImportError as exc:  # pragma: no cover - exercised only on a broken install
    raise ImportError(
        "silri_jax.cpp_bridge._bridge is not built or failed to load "
        f"({exc}). Build it with `pip install -e .` (needs cmake, ninja, pybind11 and "
        "cmeel-eigen from PyPI)."
    ) from exc

__all__ = ["_bridge"]
