"""Keyword settings -> the compiled settings structs, with errors that name the field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

import numpy as np

from silri_jax.cpp_bridge import _bridge

T = TypeVar("T")

MODES = {
    "policy": _bridge.Mode.POLICY,
    "teleop": _bridge.Mode.TELEOP,
    "shared": _bridge.Mode.SHARED,
}


def to_mode(mode: str | _bridge.Mode) -> _bridge.Mode:
    """Accepts ``"policy"``, ``"teleop"``, ``"shared"`` or a ``Mode``."""
    if isinstance(mode, _bridge.Mode):
        return mode
    try:
        return MODES[str(mode).lower()]
    except KeyError:
        known = sorted(MODES)
        raise ValueError(f"unknown control mode {mode!r}; expected one of {known}") from None


def apply(obj: T, values: Mapping[str, Any] | None, what: str) -> T:
    """Sets each ``values`` entry on ``obj``; unknown names and wrong shapes raise naming them."""
    for name, value in (values or {}).items():
        if name.startswith("_") or not hasattr(obj, name):
            known = sorted(n for n in dir(obj) if not n.startswith("_"))
            raise TypeError(f"{what} has no setting {name!r}; known: {known}")
        current = getattr(obj, name)
        if isinstance(current, np.ndarray):
            arr = np.asarray(value, dtype=np.float64)
            if name not in ("tau_max", "q_min", "q_max", "q_nominal") and (
                arr.shape != current.shape
            ):
                raise ValueError(
                    f"{what}.{name} must have shape {current.shape}, got {arr.shape}"
                )
            value = arr
        try:
            setattr(obj, name, value)
        except TypeError as exc:
            raise TypeError(f"{what}.{name}: {exc}") from None
    return obj
