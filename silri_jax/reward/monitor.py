"""How well the learned reward is doing, as the people watching it see it.

Counts per episode of what ``LearnedReward`` declared and how the judge answered, turned
into the rates a user watches in TensorBoard (``<log_dir>``, tag prefix ``reward/``):

- ``false_positive_rate``: vetoed declarations / answered-or-expired declarations;
- ``false_negative_rate``: successes the judge had to report / all successes (reported,
  confirmed, or standing unvetoed);
- ``override_rate``: episodes with a veto or a reported success / episodes;
- ``sim_agreement`` (simulation only): episodes whose learned verdict equals the
  simulator's;
- ``score``: the classifier's score at every env step (the per-episode trace, on a global
  step axis), and ``episode_max_score``;
- ``retrains`` and ``swaps`` from the background retrainer.

Everything is cumulative from the start of the run, so the curves settle as evidence
accumulates. Without tensorboardX the counts are still kept (``totals``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

COUNTS = ("episodes", "declarations", "vetoes", "confirmations", "expired", "missed",
          "overridden_episodes", "sim_agree", "sim_judged", "retrains", "swaps")


class RewardMonitor:
    def __init__(self, log_dir: str | None = None) -> None:
        self.totals = dict.fromkeys(COUNTS, 0)
        self._step = 0
        self._lock = threading.Lock()
        self.writer: Any = None
        if log_dir:
            from tensorboardX import SummaryWriter

            self.writer = SummaryWriter(log_dir)

    def rates(self) -> dict[str, float]:
        t = self.totals
        answered = t["vetoes"] + t["confirmations"] + t["expired"]
        stood = t["confirmations"] + t["expired"]
        out = {"false_positive_rate": t["vetoes"] / answered if answered else 0.0,
               "false_negative_rate": t["missed"] / (t["missed"] + stood)
               if t["missed"] + stood else 0.0,
               "override_rate": t["overridden_episodes"] / t["episodes"]
               if t["episodes"] else 0.0}
        if t["sim_judged"]:
            out["sim_agreement"] = t["sim_agree"] / t["sim_judged"]
        return out

    def score(self, prob: float) -> None:
        """One env step's classifier score."""
        with self._lock:
            self._step += 1
            if self.writer is not None:
                self.writer.add_scalar("reward/score", float(prob), self._step)

    def episode(self, counts: Mapping[str, int], max_score: float,
                sim_success: bool | None, success: bool) -> None:
        """One finished episode's counts (declarations, vetoes, confirmations, expired,
        missed) and verdicts."""
        with self._lock:
            t = self.totals
            t["episodes"] += 1
            for k in ("declarations", "vetoes", "confirmations", "expired", "missed"):
                t[k] += int(counts.get(k, 0))
            t["overridden_episodes"] += int(counts.get("vetoes", 0) > 0
                                            or counts.get("missed", 0) > 0)
            if sim_success is not None:
                t["sim_judged"] += 1
                t["sim_agree"] += int(bool(sim_success) == bool(success))
            self._write({**self.rates(), "episode_max_score": float(max_score)})

    def retrained(self, swapped: bool) -> None:
        with self._lock:
            self.totals["retrains"] += 1
            self.totals["swaps"] += int(swapped)
            self._write({"retrains": self.totals["retrains"], "swaps": self.totals["swaps"]})

    def _write(self, values: Mapping[str, float]) -> None:
        if self.writer is None:
            return
        for k, v in values.items():
            self.writer.add_scalar(f"reward/{k}", float(v), self._step)
        self.writer.flush()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            self.writer = None
