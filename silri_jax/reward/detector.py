"""The decision rule that turns per-frame scores into "success now", in one place.

The in-the-loop wrapper and the trainer's episode-level held-out report both run it, so
the recall and false alarms the report promises are those of the rule the robot uses:
success is declared at the first frame where the score has been above the threshold
(and the predicate true) for ``consecutive`` frames in a row, never within the first
``warmup_steps`` steps of the episode (frame 0, the reset frame, counts as step 0).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np


@dataclasses.dataclass
class SuccessDetector:
    threshold: float
    consecutive: int = 1
    warmup_steps: int = 0
    run: int = 0

    def __post_init__(self) -> None:
        if self.consecutive < 1:
            raise ValueError(f"consecutive must be >= 1, got {self.consecutive}")
        if self.warmup_steps < 0:
            raise ValueError(f"warmup_steps must be >= 0, got {self.warmup_steps}")

    def reset(self) -> None:
        self.run = 0

    def update(self, prob: float, predicate_ok: bool, step: int) -> bool:
        """Feeds the frame of ``step``; True when success is declared on it."""
        above = prob > self.threshold and predicate_ok
        self.run = self.run + 1 if above else 0
        return self.run >= self.consecutive and step >= self.warmup_steps


def first_declaration(probs: Sequence[float], predicate_ok: Sequence[bool],
                      threshold: float, consecutive: int, warmup_steps: int = 0) -> int:
    """Frame index at which the rule declares success over a whole episode, -1 if never."""
    det = SuccessDetector(threshold, consecutive, warmup_steps)
    for t, (p, ok) in enumerate(zip(probs, predicate_ok, strict=True)):
        if det.update(float(p), bool(ok), t):
            return t
    return -1


def episode_outcomes(declared: np.ndarray, onsets: np.ndarray, successful: np.ndarray,
                     within: int = 3) -> dict[str, float]:
    """Episode-level figures: of the success episodes, the fraction declared no earlier
    than the onset and at most ``within`` frames after it (``recall_within``), and those
    declared before the onset (``early``); of the failed episodes, the fraction with any
    declaration (``false_alarm``)."""
    declared, onsets, successful = map(np.asarray, (declared, onsets, successful))
    s, f = successful, ~successful
    latency = declared - onsets
    hit = s & (declared >= 0) & (latency >= 0) & (latency <= within)
    early = s & (declared >= 0) & (latency < 0)
    out = {"success_episodes": int(s.sum()), "failed_episodes": int(f.sum()),
           f"recall_within_{within}": float(hit.sum() / max(s.sum(), 1)),
           "declared_early": float(early.sum() / max(s.sum(), 1)),
           "missed": float((s & (declared < 0)).sum() / max(s.sum(), 1)),
           "false_alarm": float((f & (declared >= 0)).sum() / max(f.sum(), 1))}
    lat = latency[s & (declared >= 0) & (latency >= 0)]
    out["mean_latency_frames"] = float(lat.mean()) if len(lat) else float("nan")
    return out


def guarded_threshold(scores: Sequence[tuple[np.ndarray, np.ndarray]], onsets: np.ndarray,
                      successful: np.ndarray, start: float, consecutive: int,
                      warmup_steps: int, allowed_early: int) -> tuple[float, bool]:
    """The lowest threshold >= ``start`` under which the rule declares no failed episode
    and no success episode more than ``allowed_early`` frames before its onset, from
    ``scores`` (per episode: probabilities and predicate flags per frame). Returns it and
    whether some success episode is still declared under it (the highest candidate is
    always clean, as it declares nothing at all: a guard that leaves no detection is not
    met).

    Raising the threshold only shrinks the runs of frames above it, so the first
    declaration can only move later or vanish: a bisection over the distinct scores."""

    def clean(th: float) -> bool:
        for (p, ok), onset, won in zip(scores, onsets, successful, strict=True):
            d = first_declaration(p, ok, th, consecutive, warmup_steps)
            if d >= 0 and (not won or d < onset - allowed_early):
                return False
        return True

    def detects(th: float) -> bool:
        return any(won and first_declaration(p, ok, th, consecutive, warmup_steps) >= 0
                   for (p, ok), won in zip(scores, successful, strict=True))

    everything = np.concatenate([np.asarray(p, np.float64) for p, _ in scores])
    candidates = np.unique(np.r_[start, everything[everything > start]])
    lo, hi = 0, len(candidates) - 1
    if clean(candidates[lo]):
        return float(candidates[lo]), detects(candidates[lo])
    while hi - lo > 1:  # invariant: candidates[lo] fails, candidates[hi] is clean
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if clean(candidates[mid]) else (mid, hi)
    return float(candidates[hi]), detects(candidates[hi])
