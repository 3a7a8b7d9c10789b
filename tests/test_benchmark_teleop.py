"""``benchmarks/teleop_latency.py`` runs, sees every press and release, and prints one
JSON line (the latency target itself is met in the benchmark, not asserted here)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_teleop_latency_benchmark_reports_one_json_line():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "teleop_latency.py"),
                          "--edges", "20"], capture_output=True, text=True, timeout=300,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert r["benchmark"] == "teleop_latency" and r["edges"] + r["missed"] == 21, r
    assert r["edges"] >= 15 and 0 < r["latency_ms_p50"] <= r["latency_ms_p99"], r
