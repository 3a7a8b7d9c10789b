"""Simulated operators: scripted experts, skill profiles and a takeover policy.

``SimulatedOperator`` implements the same interface as a human teleoperation device
(``silri_jax.operators.base.Operator``), and ``record_demonstrations`` drives it through
whole episodes to produce the offline demonstrations.
"""

from silri_jax.operators.base import Operator
from silri_jax.operators.demos import evaluate_operator, record_demonstrations
from silri_jax.operators.profiles import PROFILES, SkillProfile, get_profile
from silri_jax.operators.simulated import SimulatedOperator, TakeoverPolicy

__all__ = [
    "PROFILES",
    "Operator",
    "SimulatedOperator",
    "SkillProfile",
    "TakeoverPolicy",
    "evaluate_operator",
    "get_profile",
    "record_demonstrations",
]
