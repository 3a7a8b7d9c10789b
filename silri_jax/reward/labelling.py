"""Per-frame success labels from a person at a teleop device, one episode at a time.

A recording (``python -m silri_jax.record``) or a training run with a person watching
calls :meth:`FrameLabeller.step` once per env step with whether ``label_hold`` was held
during the step and the step's edge events (``silri_jax.teleop.base.LABEL_EVENTS``). A
step produces a frame, and every label of the step lands on THAT frame: a press during
step t labels frame t + 1 (and onward), never the frame the person was looking at when
the step began. Frame 0 (the reset frame) is never labelled by a press.

What each input does (source ``HUMAN``):

- ``label_hold`` held: the frame is positive. A hold wins over everything else while it
  lasts; when it is released the latch below (if any) labels the frames again.
- ``label_success``: "from this press onward": this step's frame and every later one is
  positive, until ``label_failure`` or ``label_undo``.
- ``label_failure``: likewise negative, until ``label_success`` or ``label_undo``.
- ``label_undo``: takes back the most recent label action still standing (a press, or a
  hold from its first to its last held step; actions are ordered by when they began).
  Its effect goes, frames labelled since it included: the frames are what they would
  have been had it never happened (the latch before it labels on, a hold before it
  stays). Undo again to take back the action before. An undo with nothing left to take
  back does nothing. Labels other writers put with :meth:`mark` stay.

Other writers (the classifier in the loop, a veto) label frames with :meth:`mark` and
:meth:`mark_range` with their own source; a later press labels only the frames produced
after it. :meth:`arrays` gives ``(frame_labels, label_sources)``, int8[steps + 1], the
arrays ``Episode`` and the datasets store (``silri_jax.data.frame_labels``).
Pure Python and numpy, no clock: the same calls give the same labels.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from silri_jax.data import frame_labels as fl

LABEL_SUCCESS, LABEL_FAILURE, LABEL_UNDO = "label_success", "label_failure", "label_undo"
HOLD_ROLE = "label_hold"


@dataclasses.dataclass
class _Step:
    presses: list[tuple[int, int]]  # (action id, label) of the step's latching presses
    hold: int | None  # action id of the hold span the step's frame belongs to


@dataclasses.dataclass
class _Mark:
    lo: int
    hi: int  # inclusive
    label: int
    source: int


class FrameLabeller:
    """Frame labels of one episode (see the module docstring); ``reset()`` per episode."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Starts a new episode: only the reset frame, unlabelled."""
        self._ops: list[_Step | _Mark] = []
        self._actions: list[int] = []  # standing actions, in the order they began
        self._next_id = 0
        self._hold: int | None = None  # the hold span the previous step extended
        self._latch: int | None = None
        self._labels: list[int] = [fl.UNLABELLED]
        self._sources: list[int] = [fl.SOURCE_NONE]

    @property
    def steps(self) -> int:
        """Steps seen since ``reset`` (the episode has ``steps + 1`` frames)."""
        return len(self._labels) - 1

    def step(self, held: bool, events: Sequence[str] = ()) -> None:
        """One env step: labels the frame it produced from the hold and the label events
        (other events are ignored)."""
        presses: list[tuple[int, int]] = []
        for event in events:
            if event in (LABEL_SUCCESS, LABEL_FAILURE):
                label = fl.POSITIVE if event == LABEL_SUCCESS else fl.NEGATIVE
                presses.append((self._new_action(), label))
                self._latch = label
            elif event == LABEL_UNDO:
                if presses:  # a press of this very step: not in the log yet
                    self._actions.remove(presses.pop()[0])
                    self._latch = self._replay(extra=presses)
                elif self._actions:
                    self._undo(self._actions.pop())
        if held:
            if self._hold is None or self._hold not in self._actions:
                self._hold = self._new_action()
        else:
            self._hold = None
        self._ops.append(_Step(presses, self._hold))
        label, source = self._frame_label(self._hold is not None, self._latch)
        self._labels.append(label)
        self._sources.append(source)

    def mark(self, frame: int, label: int, source: int) -> None:
        """Labels one frame (0 .. steps) for another writer; it stays through undo."""
        if not 0 <= frame <= self.steps:
            raise IndexError(f"frame {frame}: the episode has frames 0 .. {self.steps}")
        self._put(_Mark(frame, frame, label, source))

    def mark_range(self, lo: int, hi: int, label: int, source: int) -> None:
        """Labels frames ``lo`` .. ``hi`` INCLUSIVE, clipped to 1 .. steps (the reset
        frame is not part of a range); an empty range does nothing."""
        lo, hi = max(int(lo), 1), min(int(hi), self.steps)
        if lo <= hi:
            self._put(_Mark(lo, hi, label, source))

    def arrays(self) -> tuple[np.ndarray, np.ndarray]:
        """(frame_labels, label_sources), int8[steps + 1], copies."""
        return np.asarray(self._labels, np.int8), np.asarray(self._sources, np.int8)

    def any_labelled(self) -> bool:
        return any(v != fl.UNLABELLED for v in self._labels)

    # ------------------------------------------------------------------ internals
    def _new_action(self) -> int:
        aid = self._next_id
        self._next_id += 1
        self._actions.append(aid)
        return aid

    def _put(self, m: _Mark) -> None:
        if m.label not in (fl.UNLABELLED, fl.NEGATIVE, fl.POSITIVE):
            raise ValueError(f"label {m.label}: one of -1 (unlabelled), 0, 1")
        if m.source not in fl.SOURCE_NAMES:
            raise ValueError(f"source {m.source}: one of {sorted(fl.SOURCE_NAMES)}")
        self._ops.append(m)
        self._apply_mark(m, self._labels, self._sources)

    @staticmethod
    def _apply_mark(m: _Mark, labels: list[int], sources: list[int]) -> None:
        for i in range(m.lo, m.hi + 1):
            labels[i] = m.label
            sources[i] = m.source if m.label != fl.UNLABELLED else fl.SOURCE_NONE

    @staticmethod
    def _frame_label(held: bool, latch: int | None) -> tuple[int, int]:
        if held:
            return fl.POSITIVE, fl.SOURCE_HUMAN
        if latch is not None:
            return latch, fl.SOURCE_HUMAN
        return fl.UNLABELLED, fl.SOURCE_NONE

    def _undo(self, action: int) -> None:
        if action == self._hold:
            self._hold = None  # still held after the undo: a new hold begins
        self._latch = self._replay()

    def _replay(self, extra: Sequence[tuple[int, int]] = ()) -> int | None:
        """Relabels every frame from the log with only the standing actions; returns the
        latch after the log and ``extra`` (the presses of the step in progress)."""
        standing = set(self._actions)
        labels, sources = [fl.UNLABELLED], [fl.SOURCE_NONE]
        latch: int | None = None
        for op in self._ops:
            if isinstance(op, _Mark):
                self._apply_mark(op, labels, sources)
                continue
            for aid, label in op.presses:
                if aid in standing:
                    latch = label
            label, source = self._frame_label(op.hold is not None and op.hold in standing,
                                              latch)
            labels.append(label)
            sources.append(source)
        for aid, label in extra:
            if aid in standing:
                latch = label
        self._labels, self._sources = labels, sources
        return latch
