"""The episode record every converter produces: the project's ``Episode`` plus what other
formats carry per step.

:class:`DatasetEpisode` is a :class:`silri_jax.data.demos.Episode` (so ``save_demos``,
``insert_demos`` and the learner take it as is) with two optional extras:

- ``is_intervention``: uint8[T], 1 where a human drove the step (LeRobot's
  ``complementary_info.is_intervention``, HIL-SERL's ``intervene_action``, the replay's
  flag); None when the source does not say;
- ``task``: the episode's task text (LeRobot's ``tasks``), None when unknown;
- ``success``: whether the episode ended in success (LeRobot's ``next.success``), None
  when the source does not say;
- ``intervention_segment``: int64[T], the id of the human takeover each step belongs to
  (-1 for the policy's steps; LeRobot's ``complementary_info.intervention_segment``),
  None when the source does not say.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from silri_jax.data.demos import Episode
from silri_jax.specs import EnvSpec


@dataclasses.dataclass
class DatasetEpisode(Episode):
    """An ``Episode`` with optional per-step intervention flags and a task text."""

    is_intervention: np.ndarray | None = None
    task: str | None = None
    intervention_segment: np.ndarray | None = None
    # whether the episode ended in the task's success (LeRobot's ``next.success`` on its
    # terminating step); None: the source does not say
    success: bool | None = None

    def validate(self, spec: EnvSpec, index: int = 0) -> None:
        super().validate(spec, index)
        if self.is_intervention is not None and np.shape(self.is_intervention) != (len(self),):
            raise ValueError(f"episode {index}: is_intervention has shape "
                             f"{np.shape(self.is_intervention)}, expected ({len(self)},)")
        seg = self.intervention_segment
        if seg is not None and np.shape(seg) != (len(self),):
            raise ValueError(f"episode {index}: intervention_segment has shape "
                             f"{np.shape(seg)}, expected ({len(self)},)")


def interventions_of(ep: Episode) -> np.ndarray | None:
    """``ep.is_intervention`` when ``ep`` carries it, else None."""
    flags = getattr(ep, "is_intervention", None)
    return None if flags is None else np.asarray(flags, np.uint8)


def segments_of(ep: Episode) -> np.ndarray:
    """Per-step takeover ids: the episode's own, else numbered from its intervention flags
    (each run of human steps one takeover, counted from 0; -1 for the policy's steps; all
    steps one takeover when the source has no flags, as a demonstration is)."""
    seg = getattr(ep, "intervention_segment", None)
    if seg is not None:
        return np.asarray(seg, np.int64)
    flags = interventions_of(ep)
    if flags is None:
        return np.zeros(len(ep), np.int64)
    human = flags.astype(bool)
    starts = human & ~np.concatenate([[False], human[:-1]])
    ids = np.cumsum(starts) - 1
    return np.where(human, ids, -1).astype(np.int64)


def success_of(ep: Episode) -> bool:
    """Whether ``ep`` ended in success: its own ``success`` when it says, else whether it
    terminated (a demonstration ends by reaching the goal; failures end truncated, or
    are stored apart with ``success=False``)."""
    flag = getattr(ep, "success", None)
    if flag is not None:
        return bool(flag)
    return bool(np.asarray(ep.terminated)[-1]) if len(ep) else False


def task_of(ep: Episode) -> str | None:
    return getattr(ep, "task", None)
