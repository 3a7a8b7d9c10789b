"""The operator interface shared by simulated operators and human teleoperation devices.

An operator is called before every env step with the env's privileged state (in
simulation; a real device may ignore it) and the policy's proposed action. It returns
``None`` to let the policy act, or the action to execute instead, in the env's own action
format (``{"action": float[d], "gripper": int}`` or a flat array). ``InterventionWrapper``
executes it and flags the step, so nothing downstream can tell who the operator was.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable


@runtime_checkable
class Operator(Protocol):
    def __call__(self, state: Mapping[str, Any], proposed_action: Any) -> Any | None: ...

    def reset(self, seed: int | None) -> None:
        """Called at every episode start with a seed derived from the episode's."""
