"""``benchmarks/replay.py`` (replay memory and rates) runs and prints its one JSON line."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_replay_benchmark_reports_one_json_line():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "replay.py"), "--capacity",
                          "400", "--episodes", "3", "--samples", "2"], capture_output=True,
                         text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1
    r = json.loads(lines[0])
    # yuv420 frames: 1.5 bytes a pixel, two 128x128 cameras, about one frame a transition
    assert r["bench"] == "replay" and 40_000 < r["bytes_per_transition"] < 80_000, r
    assert r["insert_transitions_per_s"] > 0 and r["sample_256_decoded_ms"] > 0
