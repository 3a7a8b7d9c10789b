"""``benchmarks/camera_age.py`` runs and prints one JSON line (the age target itself is
met in the benchmark, not asserted here)."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_camera_age_benchmark_reports_one_json_line():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "camera_age.py"),
                          "--steps", "10", "--control_hz", "20", "--width", "160",
                          "--height", "120", "--size", "32"],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    assert r["benchmark"] == "camera_age" and r["steps"] == 10 and r["stale"] == 0, r
    assert set(r["frame_age_ms"]) == {"front", "wrist"}
    for stats in r["frame_age_ms"].values():
        assert 0 <= stats["p50"] <= stats["p99"] <= stats["max"], r
