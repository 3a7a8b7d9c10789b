"""Skill profiles: how well a simulated operator executes what the scripted expert wants.

One code path for every operator; a profile only changes numbers. The perturbations mimic
what limits a real teleoperator: hand tremor (noise), a consistent drift (bias, drawn per
episode), reaction time, moments of hesitation, occasional wrong moves and timid
corrections (gain below one).
"""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class SkillProfile:
    name: str
    noise_std: float  # Gaussian noise on each normalised action dimension
    bias: float  # norm of a constant per-episode bias on the translation dims
    reaction_delay: int  # env steps between noticing a problem and taking over
    hesitation_prob: float  # chance per step to freeze (zero action) ...
    hesitation_steps: int  # ... for this many steps
    wrong_move_prob: float  # chance per step of a random action (gripper included)
    gain: float  # fraction of the expert's correction actually applied
    # Within this distance (m) of the task's focus (the cube, the hole, the handle) the
    # operator takes care: noise, bias, hesitation and wrong moves are scaled by
    # ``careful_scale`` and the gain moves as far towards one. 0: the same everywhere.
    careful_radius: float = 0.0
    careful_scale: float = 1.0

    def __post_init__(self) -> None:
        if self.noise_std < 0 or self.bias < 0 or self.reaction_delay < 0:
            raise ValueError(f"profile {self.name!r}: noise, bias and delay must be >= 0")
        for f in ("hesitation_prob", "wrong_move_prob"):
            if not 0.0 <= getattr(self, f) <= 1.0:
                raise ValueError(f"profile {self.name!r}: {f} must be a probability")
        if not 0.0 < self.gain <= 1.5:
            raise ValueError(f"profile {self.name!r}: gain must be in (0, 1.5]")
        if self.careful_radius < 0 or not 0.0 <= self.careful_scale <= 1.0:
            raise ValueError(f"profile {self.name!r}: careful_radius must be >= 0 and "
                             "careful_scale in [0, 1]")

    def careful(self) -> SkillProfile:
        """The profile as it acts near the task's focus."""
        k = self.careful_scale
        return dataclasses.replace(
            self, name=f"{self.name} (careful)", noise_std=k * self.noise_std,
            bias=k * self.bias, hesitation_prob=k * self.hesitation_prob,
            wrong_move_prob=k * self.wrong_move_prob, gain=1.0 - k * (1.0 - self.gain),
            careful_radius=0.0, careful_scale=1.0)


PROFILES: dict[str, SkillProfile] = {
    p.name: p
    for p in (
        SkillProfile("expert", 0.02, 0.0, 1, 0.0, 0, 0.0, 1.0),
        SkillProfile("skilled", 0.10, 0.05, 2, 0.03, 2, 0.01, 0.8),
        # about half its pick_cube episodes succeed on its own: the main job's operator
        SkillProfile("novice", 0.22, 0.13, 3, 0.07, 3, 0.035, 0.62),
        SkillProfile("unskilled", 0.35, 0.20, 4, 0.10, 4, 0.06, 0.5),
    )
}


def get_profile(name_or_profile: str | SkillProfile) -> SkillProfile:
    if isinstance(name_or_profile, SkillProfile):
        return name_or_profile
    if name_or_profile not in PROFILES:
        raise ValueError(f"unknown skill profile {name_or_profile!r}; known: {sorted(PROFILES)}")
    return PROFILES[name_or_profile]
