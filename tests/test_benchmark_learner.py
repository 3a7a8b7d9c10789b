"""``benchmarks/learner_throughput.py`` runs its pixel paths end to end on a tiny budget:
groups sampled on the host, and groups drawn from replay kept on the accelerator
(``--replay device``), each printing its one JSON line. The figures are benchmarks, not
asserted here; what is pinned is that both paths train and report what they measured."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("replay", ["host", "device"])
def test_pixel_paths_run_and_report(replay):
    cmd = [sys.executable, str(ROOT / "benchmarks" / "learner_throughput.py"),
           "--algo", "silri", "--obs", "pixels", "--backbone", "small_conv", "--batch", "8",
           "--utd", "2", "--seconds", "1", "--fill", "64", "--replay", replay]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["replay"] == replay and result["obs"] == "pixels"
    assert result["groups"] >= 1 and result["updates_per_s"] > 0
    if replay == "device":  # nothing crosses from the host per group
        assert result["host_sample_ms"] == 0.0 and result["batch_mb"] == 0.0
    else:
        assert result["batch_mb"] > 0


def test_device_replay_needs_pixels():
    cmd = [sys.executable, str(ROOT / "benchmarks" / "learner_throughput.py"),
           "--obs", "state", "--replay", "device"]
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "--replay device applies to --obs pixels" in proc.stderr
