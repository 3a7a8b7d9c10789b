"""The picture a run ends with: what happened, without TensorBoard.

The learner appends one JSON line per status period to ``<run_dir>/history.jsonl``
(env steps, the period's training success and intervention rate, lambda). At the end of a
bounded run the launcher draws them against env steps in ``<run_dir>/summary.png``, with
the learned policy's evaluation (no interventions) and the operator's own success rate
as reference lines: the policy should end above its operator, with the operator taking
over less and less.
"""

from __future__ import annotations

import json
import math
import pathlib
from collections.abc import Sequence
from typing import Any


def read_history(path: str | pathlib.Path) -> list[dict[str, Any]]:
    """The history records, oldest first (a torn last line from a kill is skipped)."""
    path = pathlib.Path(path)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def _weighted(records: Sequence[dict[str, Any]], key: str) -> float | None:
    """Mean of ``key`` over ``records`` weighted by the env steps of each record's period."""
    total, weight = 0.0, 0.0
    for r in records:
        steps = r["env_steps"] - r["prev_env_steps"]
        v = r.get(key)
        if v is None or steps <= 0 or not math.isfinite(v):
            continue
        total, weight = total + v * steps, weight + steps
    return total / weight if weight else None


def intervention_trend(history: Sequence[dict[str, Any]], fraction: float = 0.2
                       ) -> tuple[float | None, float | None]:
    """The intervention rate over the first and over the last ``fraction`` of the env
    steps of training (periods weighted by their steps)."""
    records = [dict(r) for r in history if r.get("env_steps", 0) > 0]
    if not records:
        return None, None
    prev = 0
    for r in records:
        r["prev_env_steps"], prev = prev, r["env_steps"]
    end = records[-1]["env_steps"]
    first = [r for r in records if r["prev_env_steps"] < fraction * end]
    last = [r for r in records if r["env_steps"] > (1 - fraction) * end]
    return _weighted(first, "intervention_rate"), _weighted(last, "intervention_rate")


def _moving_mean(values: Sequence[float], n: int) -> list[float]:
    """Trailing mean over up to ``n`` values (shorter at the start)."""
    out, acc = [], 0.0
    for i, v in enumerate(values):
        acc += v
        if i >= n:
            acc -= values[i - n]
        out.append(acc / min(i + 1, n))
    return out


def plot(history: Sequence[dict[str, Any]], out: str | pathlib.Path, *,
         policy_success: float | None, operator_success: float | None,
         operator_name: str = "operator", title: str = "") -> pathlib.Path:
    """Draws success, intervention rate and lambda against env steps into ``out`` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recs = [r for r in history if r.get("env_steps", 0) > 0]
    x = [r["env_steps"] for r in recs]

    def series(key: str) -> tuple[list[float], list[float]]:
        pts = [(r["env_steps"], r[key]) for r in recs if r.get(key) is not None]
        return [p[0] for p in pts], [p[1] for p in pts]

    has_lambda = any(r.get("lambda_mean") is not None for r in recs)
    rows = 3 if has_lambda else 2
    fig, axes = plt.subplots(rows, 1, figsize=(7, 2.4 * rows), sharex=True)
    ax = axes[0]
    ax.plot(*series("success_rate_20"), color="tab:blue",
            label="training episodes (last 20, with interventions)")
    if policy_success is not None:
        ax.axhline(policy_success, color="tab:green", lw=2,
                   label=f"learned policy alone: {policy_success:.0%}")
    if operator_success is not None:
        ax.axhline(operator_success, color="tab:red", ls="--",
                   label=f"{operator_name} alone: {operator_success:.0%}")
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("success rate")
    ax.legend(loc="lower right", fontsize=7)
    if title:
        ax.set_title(title, fontsize=9)
    ax = axes[1]
    xs, ys = series("intervention_rate")
    ax.plot(xs, ys, color="tab:orange", alpha=0.35, lw=1, label="per status period")
    ax.plot(xs, _moving_mean(ys, 10), color="tab:orange", lw=2, label="mean of 10 periods")
    ax.legend(loc="upper right", fontsize=7)
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel("intervention rate\n(operator steps / steps)", fontsize=8)
    if has_lambda:
        axes[2].plot(*series("lambda_mean"), color="tab:purple")
        axes[2].set_ylabel("lambda (mean)")
    axes[-1].set_xlabel("env steps")
    if x:
        axes[-1].set_xlim(0, max(x))
    fig.tight_layout()
    out = pathlib.Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out
