"""A simulated, deliberately imperfect operator: the scripted expert plus a skill profile
and a policy for when to take over and when to hand back.

Takeover triggers, checked every step while the policy drives:
- off track: for ``off_track_steps`` consecutive steps the policy's translation points
  away from where the expert would go (cosine below ``off_track_cos``);
- stuck: the TCP moved less than ``stuck_distance`` over the last ``stuck_window`` steps;
- about to fail: fewer than ``urgency_steps`` steps left and the task not done.
A trigger fires after the profile's reaction delay. Control goes back to the policy after
``max_takeover`` steps, or earlier (at least ``min_takeover``) once the policy's own proposal
agrees with the expert again (back on track).

With ``always=True`` the operator drives every step: that is how demonstrations are
recorded, and how the profiles' success rates are measured.
"""

from __future__ import annotations

import dataclasses
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax import specs
from silri_jax.operators.experts import expert_action
from silri_jax.operators.profiles import SkillProfile, get_profile


@dataclasses.dataclass(frozen=True)
class TakeoverPolicy:
    off_track_cos: float = 0.0
    off_track_steps: int = 3
    min_expert_speed: float = 0.2  # below this the expert has no clear direction
    stuck_window: int = 10
    stuck_distance: float = 0.005
    urgency_steps: int = 25
    min_takeover: int = 5
    max_takeover: int = 20
    back_on_track_cos: float = 0.8


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na < 1e-9 or nb < 1e-9:
        return 0.0
    return float(a @ b / (na * nb))


def _proposal(action: Any) -> np.ndarray | None:
    """Continuous part of a proposed action in any accepted form (None when absent)."""
    if action is None:
        return None
    if isinstance(action, Mapping):
        return np.asarray(action["action"], np.float64).reshape(-1)
    return np.asarray(action, np.float64).reshape(-1)


class SimulatedOperator:
    """Callable operator: ``op(privileged_state, proposed_action) -> action | None``."""

    def __init__(
        self,
        profile: str | SkillProfile = "expert",
        always: bool = False,
        takeover: TakeoverPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        self._careful = self.profile.careful()
        self.always = always
        self.policy = takeover or TakeoverPolicy()
        self.reset(seed)

    def reset(self, seed: int | None) -> None:
        if seed is not None or not hasattr(self, "rng"):
            self.rng = np.random.default_rng(seed)
        p = self.profile
        direction = self.rng.normal(size=3)
        self._bias = p.bias * direction / max(np.linalg.norm(direction), 1e-9)
        self._active = False
        self._pending = -1
        self._takeover_len = 0
        self._off_track = 0
        self._hesitate = 0
        self._history: deque[np.ndarray] = deque(maxlen=self.policy.stuck_window + 1)
        self.interventions = 0  # takeovers started this episode

    # --------------------------------------------------------------- acting
    def act(self, state: Mapping[str, Any]) -> Any:
        """The profile-perturbed expert action, in the env's action format."""
        a, g = expert_action(state)
        p, bias = self.profile, self._bias
        if p.careful_radius > 0 and "focus_pos" in state and np.linalg.norm(
                np.asarray(state["ee_pos"]) - np.asarray(state["focus_pos"])) < p.careful_radius:
            p, bias = self._careful, p.careful_scale * self._bias
        if self._hesitate > 0:
            self._hesitate -= 1
            a, g = np.zeros_like(a), specs.GRIPPER_STAY
        elif self.rng.random() < p.hesitation_prob:
            self._hesitate = p.hesitation_steps - 1
            a, g = np.zeros_like(a), specs.GRIPPER_STAY
        elif self.rng.random() < p.wrong_move_prob:
            a = self.rng.uniform(-1.0, 1.0, a.shape)
            g = int(self.rng.integers(0, specs.NUM_GRIPPER_ACTIONS))
        else:
            a = p.gain * a
            a[:3] += bias
            a += self.rng.normal(0.0, p.noise_std, a.shape)
        a = np.clip(a, -1.0, 1.0).astype(np.float32)
        if state["has_gripper"]:
            return {"action": a, "gripper": int(g)}
        return a

    # ------------------------------------------------------------ takeover
    def __call__(self, state: Mapping[str, Any], proposed_action: Any) -> Any | None:
        if state["step"] == 0 and self._history:
            self.reset(None)  # a new episode that the wrapper did not announce
        self._history.append(np.asarray(state["ee_pos"], np.float64).copy())
        if self.always:
            return self.act(state)
        pol = self.policy
        expert, _ = expert_action(state)
        proposal = _proposal(proposed_action)
        agrees = proposal is not None and _cos(proposal[:3], expert[:3]) >= pol.back_on_track_cos
        if self._active:
            self._takeover_len += 1
            if self._takeover_len >= pol.max_takeover or (
                self._takeover_len >= pol.min_takeover and agrees
            ):
                self._active = False
                self._off_track = 0
                self._history.clear()
                return None
            return self.act(state)
        if self._pending >= 0:
            self._pending -= 1
            if self._pending < 0:
                self._active, self._takeover_len = True, 0
                self.interventions += 1
                return self.act(state)
            return None
        if self._triggered(state, expert, proposal):
            self._pending = self.profile.reaction_delay - 1
            if self._pending < 0:
                self._active, self._takeover_len = True, 0
                self.interventions += 1
                return self.act(state)
        return None

    def _triggered(
        self, state: Mapping[str, Any], expert: np.ndarray, proposal: np.ndarray | None
    ) -> bool:
        pol = self.policy
        if state.get("success"):
            return False
        if proposal is not None and np.linalg.norm(expert[:3]) >= pol.min_expert_speed:
            off = _cos(proposal[:3], expert[:3]) < pol.off_track_cos
            self._off_track = self._off_track + 1 if off else 0
            if self._off_track >= pol.off_track_steps:
                return True
        if len(self._history) > pol.stuck_window:
            moved = np.linalg.norm(self._history[-1] - self._history[0])
            if moved < pol.stuck_distance:
                return True
        left = state["max_episode_steps"] - state["step"]
        return left <= pol.urgency_steps
