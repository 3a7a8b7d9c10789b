"""Who watches the classifier: a person at a teleop device, or a simulated one.

When the learned reward declares success it does not end the episode at once: the arm
holds its pose for ``confirm_window`` steps (``LearnedReward``) and a judge may answer.
A judge is called once per env step with the step's ``info`` and whether a declaration is
pending, and returns one of

- ``"veto"`` (pending only): the classifier was wrong; the pending frames become negatives
  and the episode goes on;
- ``"confirm"`` (pending only): the classifier was right; success now, without waiting out
  the window;
- ``"success"`` (not pending): the task is achieved and the classifier has not said so;
  the last frames become positives and the episode ends in success;
- ``None``: nothing to say. A pending declaration nobody answers stands when the window
  ends.

Judges never wait: a person who does not answer costs nothing but the window, and every
step runs at the control rate whatever the judge does.

``DeviceJudge`` reads the teleop device's edge events (``info["teleop_events"]``): the
``failure`` binding vetoes, the ``success`` binding confirms or reports a missed success.
``SimulatedJudge`` is the simulated operator's counterpart: it sees the simulator's
verdict (``info["sim_success"]``), answers after a reaction delay and is wrong with a
configurable probability, so the correction loop is exercised without a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import numpy as np

JUDGEMENTS = ("veto", "confirm", "success")
JUDGE_KINDS = ("", "device", "simulated")


class Judge(Protocol):
    def reset(self) -> None: ...

    def __call__(self, info: Mapping[str, Any], pending: bool) -> str | None: ...


class DeviceJudge:
    """A person's answers from the teleop device's ``success`` and ``failure`` events."""

    def reset(self) -> None:
        pass

    def __call__(self, info: Mapping[str, Any], pending: bool) -> str | None:
        events = tuple(info.get("teleop_events", ()))
        if pending:
            if "failure" in events:
                return "veto"
            if "success" in events:
                return "confirm"
            return None
        return "success" if "success" in events else None


class SimulatedJudge:
    """A simulated person who judges from the simulator's verdict.

    Each pending declaration is answered once, ``reaction_steps`` steps after it began
    (at most the window, so it always answers in time): a correct judge vetoes a false
    declaration and confirms a true one; with probability ``error_rate`` it errs (lets a
    false one stand, vetoes a true one). A success the classifier has not declared after
    ``reaction_steps`` steps of simulator success is reported (with probability
    ``1 - error_rate``, decided once per episode).
    """

    def __init__(self, error_rate: float = 0.0, reaction_steps: int = 1, seed: int = 0
                 ) -> None:
        if not 0.0 <= error_rate <= 1.0:
            raise ValueError(f"judge error_rate must be in [0, 1], got {error_rate}")
        if reaction_steps < 0:
            raise ValueError(f"judge reaction_steps must be >= 0, got {reaction_steps}")
        self.error_rate, self.reaction = float(error_rate), int(reaction_steps)
        self.rng = np.random.default_rng(seed)
        self.reset()

    def reset(self) -> None:
        self._pending_for = 0
        self._answer: str | None = None
        self._success_for = 0
        self._report_missed: bool | None = None

    def _errs(self) -> bool:
        return bool(self.rng.random() < self.error_rate)

    def __call__(self, info: Mapping[str, Any], pending: bool) -> str | None:
        if "sim_success" not in info:
            raise KeyError("SimulatedJudge needs info['sim_success'] (the simulator's "
                           "verdict, set by LearnedReward); it only runs in simulation")
        truth = bool(info["sim_success"])
        self._success_for = self._success_for + 1 if truth else 0
        if not pending:
            self._pending_for, self._answer = 0, None
            if self._success_for > self.reaction:
                if self._report_missed is None:
                    self._report_missed = not self._errs()
                if self._report_missed:
                    return "success"
            return None
        if self._pending_for == 0:  # a new declaration: decide the answer once
            right = not self._errs()
            self._answer = ("confirm" if right else "veto") if truth else \
                ("veto" if right else None)
        self._pending_for += 1
        if self._pending_for > self.reaction:
            answer, self._answer = self._answer, None
            return answer
        return None


def make_judge(kind: str, *, error_rate: float = 0.0, reaction_steps: int = 1,
               seed: int = 0) -> Judge | None:
    """The judge of ``reward.loop.judge``: "" none, "device", or "simulated"."""
    if kind == "":
        return None
    if kind == "device":
        return DeviceJudge()
    if kind == "simulated":
        return SimulatedJudge(error_rate, reaction_steps, seed)
    raise ValueError(f"reward.loop.judge={kind!r}: choose one of {list(JUDGE_KINDS)}")
