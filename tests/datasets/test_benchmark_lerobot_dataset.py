"""``benchmarks/lerobot_dataset.py`` runs at tiny sizes and prints its one JSON line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PEER = Path(os.environ.get("SILRI_LEROBOT_PYTHON", "/tmp/lerobot-peer/bin/python"))
TINY = ["--episodes", "2", "--frames", "6", "--size", "64", "--reads", "5"]


def _run(*extra: str) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "lerobot_dataset.py"),
                          *TINY, *extra], capture_output=True, text=True, timeout=600,
                         cwd=ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout
    return json.loads(lines[0])


def test_benchmark_prints_one_json_line() -> None:
    r = _run()
    assert r["bench"] == "lerobot_dataset" and r["episodes"] == 2
    assert r["write_s"] > 0 and r["random_frame_read_ms_p50"] > 0
    assert r["random_frame_read_ms_p99"] >= r["random_frame_read_ms_p50"]
    assert "peer_write_s" not in r


@pytest.mark.skipif(not PEER.is_file(), reason="LeRobot peer environment not installed: run "
                    "../shared/peers/setup-lerobot.sh /tmp/lerobot-peer")
def test_benchmark_times_lerobots_writer_too() -> None:
    r = _run("--peer_python", str(PEER))
    assert r["peer_write_s"] > 0 and r["write_speedup"] > 0
    assert r["peer_random_frame_read_ms_p99"] > 0
