"""The robot-path benchmarks (``benchmarks/robot_step_latency.py``,
``benchmarks/camera_frame_age.py``) run with a few steps and print one JSON line with
their fields; the timing targets are measured by the benchmarks, not asserted here."""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys
from typing import Any

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _run(script: str, *args: str) -> dict[str, Any]:
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1, out.stdout[-2000:]
    return json.loads(lines[0])


def _stats(d: dict[str, Any]) -> None:
    assert {"p50", "p99", "max"} <= set(d), d


def test_robot_step_latency_reports_one_json_line():
    r = _run("robot_step_latency.py", "--steps", "12", "--control_hz", "20",
             "--gripper_every", "4", "--width", "160", "--height", "120")
    assert r["benchmark"] == "robot_step_latency" and r["steps"] == 12, r
    for key in ("latency_ms", "step_ms", "step_ms_gripper", "step_ms_no_gripper"):
        _stats(r[key])
    assert r["latency_ms"]["n"] + r["missed"] == 12, r
    assert r["step_ms_gripper"]["n"] == 3 and r["gripper_commands"] == 3, r
    for key in ("gripper_delay_ms", "gripper_command_ms_max", "target_p99_ms",
                "target_gripper_delay_ms", "coarse", "loop"):
        assert key in r, key
    assert set(r["meets"]) == {"latency_p99", "gripper_delay"}, r
    assert isinstance(r["meets_target"], bool) and r["faults"] == [], r


def test_camera_frame_age_reports_one_json_line():
    r = _run("camera_frame_age.py", "--steps", "10", "--control_hz", "20", "--width", "160",
             "--height", "120", "--latency_s", "0.03")
    assert r["benchmark"] == "camera_frame_age" and r["steps"] == 10, r
    assert r["observations"] == 10 and r["stale"] == 0 and r["faults"] == [], r
    assert set(r["frame_age_ms"]) == {"front", "wrist"}
    for stats in r["frame_age_ms"].values():
        _stats(stats)
        assert 30.0 <= stats["p50"] <= stats["p99"] <= stats["max"], r  # latency included
    assert r["target_p99_ms"] == 80.0 and isinstance(r["meets_target"], bool), r
