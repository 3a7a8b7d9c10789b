"""The run's summary: the intervention trend from the history and the picture."""

from __future__ import annotations

import json

from silri_jax import summary_plot


def _history(tmp_path):
    rows = [{"env_steps": 1000 * (i + 1), "success_rate_20": i / 9,
             "intervention_rate": 0.5 - 0.05 * i, "lambda_mean": 0.7 - 0.05 * i}
            for i in range(10)]
    path = tmp_path / "history.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n{\"torn")
    return path


def test_intervention_trend_weights_periods_by_steps(tmp_path):
    history = summary_plot.read_history(_history(tmp_path))
    assert len(history) == 10  # the torn last line is skipped
    first, last = summary_plot.intervention_trend(history)
    assert abs(first - 0.475) < 1e-9  # the periods ending at 1k and 2k steps
    assert abs(last - 0.075) < 1e-9  # the periods ending at 9k and 10k steps
    assert summary_plot.intervention_trend([]) == (None, None)


def test_plot_writes_a_png(tmp_path):
    history = summary_plot.read_history(_history(tmp_path))
    out = summary_plot.plot(history, tmp_path / "summary.png", policy_success=0.9,
                            operator_success=0.5, operator_name="novice operator")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
