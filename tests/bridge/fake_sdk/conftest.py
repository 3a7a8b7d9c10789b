"""Runs the checks in this folder against a ``_bridge`` built with the fake libfranka and
ur_rtde (``tests/bridge/test_fake_sdk_facade.py`` builds it and starts pytest here in a
subprocess with ``SILRI_FAKE_BRIDGE_SO`` set). Without that variable (e.g. when the main
pytest run walks this folder) it does nothing, and its ``check_*.py`` files are not
collected by the default ``test_*.py`` pattern."""

from __future__ import annotations

import importlib.util
import os
import sys

_SO = os.environ.get("SILRI_FAKE_BRIDGE_SO")
if _SO:
    import mujoco  # noqa: F401  (loads libmujoco for _bridge)

    _spec = importlib.util.spec_from_file_location("silri_jax.cpp_bridge._bridge", _SO)
    assert _spec is not None and _spec.loader is not None
    _module = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(_module)
    # silri_jax.cpp_bridge's `from silri_jax.cpp_bridge import _bridge` now finds this one.
    sys.modules["silri_jax.cpp_bridge._bridge"] = _module
