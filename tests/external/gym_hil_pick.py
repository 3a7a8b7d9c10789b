"""A user's operator for gym-hil's ``gym_hil/PandaPickCubeBase-v0``, written as a user of
an external env would: it sees only the adapter's observation. ``state`` is the env's
Dict observation flattened in key order: ``agent_pos`` (joint positions 7, joint
velocities 7, gripper command 1 in [0, 255], pinch-site position 3), then
``environment_state`` (the cube's position 3). Actions are gym-hil's: a position step in
metres for x, y, z, three unused rotation entries and a gripper step (+1 closes).
"""

from __future__ import annotations

from typing import Any

import numpy as np

CLOSED = 0.5 * 255.0  # gripper command above this: closed


class PickOperator:
    """Above the cube, down, close, wait for the fingers, lift. ``always`` drives every
    step (demonstrations); otherwise it takes over when the proposed motion leads away
    from where it would go."""

    def __init__(self, always: bool = False, step_m: float = 0.02, settle_steps: int = 6,
                 ) -> None:
        self.always, self.step_m, self.settle_steps = always, step_m, settle_steps
        self.closed_for = 0

    def reset(self, seed: int | None = None) -> None:
        self.closed_for = 0

    def act(self, s: np.ndarray) -> np.ndarray:
        grip, tcp, cube = float(s[14]), s[15:18], s[18:21]
        a = np.zeros(7, np.float32)
        if grip < CLOSED:
            self.closed_for = 0
            if np.linalg.norm(cube - tcp) < 0.012:
                a[6] = 1.0  # at the cube: close
                return a
            level = cube + np.array([0.0, 0.0, 0.05])
            target = cube if np.linalg.norm(cube[:2] - tcp[:2]) <= 0.008 else \
                np.array([cube[0], cube[1], max(tcp[2], level[2])])
            a[:3] = np.clip(target - tcp, -self.step_m, self.step_m)
            a[6] = -1.0
            return a
        self.closed_for += 1
        a[6] = 1.0
        if self.closed_for > self.settle_steps:
            a[2] = self.step_m  # lift
        return a

    def __call__(self, state: Any, proposed: Any) -> np.ndarray | None:
        want = self.act(np.asarray(state["state"], np.float32).reshape(-1))
        if self.always:
            return want
        move = np.asarray(proposed, np.float32).reshape(-1)[:3]
        if float(np.dot(move, want[:3])) < 0.0:
            return want
        return None


def make_operator(profile: str = "skilled", seed: int = 0, always: bool = False
                  ) -> PickOperator:
    return PickOperator(always=always)
