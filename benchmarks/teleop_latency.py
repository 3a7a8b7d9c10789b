"""Teleop latency: from a device sample to the bridge's loop acting on it; one JSON line.

``python benchmarks/teleop_latency.py [--edges 250] [--period_s 0.04] [--pump_hz 1000]``

A replay device (a JSONL file of samples: the clutch pressed and released every
``period_s``, with a push in +x) is pumped by ``PumpThread`` into a real-time bridge on
the test plant at 1 kHz, the same path a SpaceMouse takes on a real arm (device poll ->
intervention gate -> ``set_teleop`` -> the wait-free buffer -> the mixer's tick). For
every press and release the latency is the time from the moment the sample existed
(the replay's own timestamp on the host clock) to the first published loop state whose
intervention flag shows it. Reports p50 / p99 / max in ms (target: p99 under 5 ms).
"""

from __future__ import annotations

import argparse
import json
import pathlib
import tempfile
import time

import numpy as np

from silri_jax.bridge import Bridge
from silri_jax.envs.teleop_intervention import PumpThread, TeleopPump
from silri_jax.teleop.intervention import InterventionGate
from silri_jax.teleop.replay import ReplayDevice


def _replay_file(path: pathlib.Path, edges: int, period: float) -> list[float]:
    lines, times = [], []
    for i in range(edges + 1):
        t = 0.2 + i * period
        held = i % 2 == 0
        lines.append(json.dumps({"t": t, "twist": [0.5 if held else 0.0, 0, 0, 0, 0, 0],
                                 "gripper": 1, "buttons": {"clutch": held}}))
        times.append(t)
    path.write_text("\n".join(lines) + "\n")
    return times


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--edges", type=int, default=250)
    p.add_argument("--period_s", type=float, default=0.04)
    p.add_argument("--pump_hz", type=float, default=1000.0)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = pathlib.Path(tmp) / "edges.jsonl"
        times = _replay_file(path, args.edges, args.period_s)
        bridge = Bridge("test", run="realtime", control_mode="shared",
                        mixer={"require_button": True, "hold_when_engaged": True},
                        watchdog={"teleop_timeout_s": 0.1, "policy_timeout_s": 1e6})
        with bridge:
            bridge.wait(0.2)
            device = ReplayDevice(path)
            pump = TeleopPump(device, InterventionGate("clutch"), bridge, 0.05, 0.5)
            t0 = time.monotonic() + 0.05
            device.rewind(t0)  # the replay's clock starts now, with everything built
            thread = PumpThread(pump, args.pump_hz).start()
            latencies: list[float] = []
            flag, k = False, 0
            deadline = t0 + times[-1] + 1.0
            while k < len(times) and time.monotonic() < deadline:
                s = bridge.state()
                if s.intervention != flag:
                    seen = time.monotonic()
                    flag = s.intervention
                    expect = k % 2 == 0  # press, release, press, ...
                    if flag == expect:
                        latencies.append(seen - (t0 + times[k]))
                        k += 1
                time.sleep(0.0001)
            thread.stop()
    lat = np.asarray(latencies) * 1e3
    print(json.dumps({
        "benchmark": "teleop_latency", "edges": len(lat), "missed": len(times) - len(lat),
        "pump_hz": args.pump_hz, "latency_ms_p50": round(float(np.percentile(lat, 50)), 3),
        "latency_ms_p99": round(float(np.percentile(lat, 99)), 3),
        "latency_ms_max": round(float(lat.max()), 3), "target_p99_ms": 5.0}))


if __name__ == "__main__":
    main()
