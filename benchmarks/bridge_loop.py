"""Benchmark of the C++ control loop: per-tick compute time, real-time factor (lockstep),
wake-up lateness and overruns (real-time), and the safety invariants of the run.

    python benchmarks/bridge_loop.py --backend {test,mujoco} --mode {lockstep,realtime} \
        --seconds S

Prints one JSON line. The policy sends a new absolute goal every 100 ms (a slow circle
around the start pose) and a simulated human takes over for 0.5 s every 2 s, so mixing,
interpolation and safety clipping are all exercised.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import sys
import time
from typing import Any

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
PANDA_XML = REPO / "silri_jax" / "envs" / "sim" / "assets" / "panda.xml"
ARM7_XML = REPO / "tests" / "bridge" / "assets" / "arm7.xml"


def _make_bridge(backend: str, mode: str, capacity: int) -> tuple[Any, str, Any]:
    from silri_jax.bridge import Bridge

    run = "realtime" if mode == "realtime" else "lockstep"
    if backend == "test":
        b = Bridge("test", run=run, timing_capacity=capacity,
                   plant={"initial_position": [0.4, 0.0, 0.4], "damping": 1.0})
        return b, "test plant (6-DOF Cartesian point mass)", None
    import mujoco

    xml = PANDA_XML if PANDA_XML.exists() else ARM7_XML
    model = mujoco.MjModel.from_xml_path(str(xml))
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    b = Bridge("mujoco", run=run, timing_capacity=capacity, model=model, data=data,
               q_nominal=data.qpos[:7].copy())
    return b, f"mujoco {xml.relative_to(REPO)}", (model, data)


def _goal(center: np.ndarray, t: float) -> np.ndarray:
    return center + 0.05 * np.array([np.cos(0.5 * t) - 1.0, np.sin(0.5 * t), 0.2 * np.sin(t)])


def _inputs(b: Any, center: np.ndarray, quat: np.ndarray, t: float) -> None:
    b.set_policy_target(_goal(center, t), quat, gripper=0.5)
    human = (t % 2.0) >= 1.5
    b.set_teleop([0.0, 0.03, -0.02, 0.0, 0.0, 0.1], human)


def _pct(x: np.ndarray, q: float) -> float:
    return float(np.percentile(x, q)) if len(x) else float("nan")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--backend", choices=["test", "mujoco"], default="test")
    p.add_argument("--mode", choices=["lockstep", "realtime"], default="lockstep")
    p.add_argument("--seconds", type=float, default=10.0,
                   help="simulated (lockstep) or wall-clock (realtime) seconds")
    args = p.parse_args(argv)
    if args.seconds <= 0:
        p.error("--seconds must be > 0")

    ticks_expected = int(args.seconds * 1000) + 1000
    b, what, _keep = _make_bridge(args.backend, args.mode, min(ticks_expected, 1 << 23))
    period = b.period
    out: dict[str, Any] = {"benchmark": "bridge_loop", "backend": args.backend,
                           "mode": args.mode, "seconds": args.seconds, "plant": what}
    if args.mode == "lockstep":
        b.step(1)
        s0 = b.state()
        center, quat = s0.ee_position.copy(), s0.ee_quat.copy()
        b.clear_timings()
        per_step = round(0.1 / period)
        n_steps = round(args.seconds / 0.1)
        start = time.perf_counter()
        for k in range(n_steps):
            _inputs(b, center, quat, k * 0.1)
            b.step(per_step)
        wall = time.perf_counter() - start
        out["realtime_factor"] = n_steps * per_step * period / wall
    else:
        with b:
            b.wait_ticks(5)
            s0 = b.state()
            center, quat = s0.ee_position.copy(), s0.ee_quat.copy()
            b.clear_timings()
            start = time.perf_counter()
            t = 0.0
            while t < args.seconds:
                _inputs(b, center, quat, t)
                b.wait(0.1)
                t = time.perf_counter() - start
        lat = b.timings()["wake_late_us"]
        out["wake_late_us_p50"] = _pct(lat, 50)
        out["wake_late_us_p99"] = _pct(lat, 99)
        out["wake_late_us_p999"] = _pct(lat, 99.9)
        out["wake_late_us_max"] = float(lat.max()) if len(lat) else float("nan")
    comp = b.timings()["compute_us"]
    m = b.metrics()
    s = b.state()
    out.update({
        "ticks": int(m["ticks"]),
        "tick_compute_us_p50": _pct(comp, 50),
        "tick_compute_us_p99": _pct(comp, 99),
        "tick_compute_us_max": float(comp.max()) if len(comp) else float("nan"),
        "overruns": int(m["overruns"]),
        "max_dtau_per_tick": float(m["max_dtau"]),
        "box_violations": int(m["box_violations"]),
        "torque_violations": int(m["torque_violations"]),
        "intervention_ticks": int(m["intervention_ticks"]),
        "fault": s.fault,
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(),
                    "processor": platform.processor() or platform.machine(),
                    "python": sys.version.split()[0]},
    })
    print(json.dumps(out))
    return out


if __name__ == "__main__":
    main()
