"""``rt-check``: can this machine hold the control loop's rate, and how far is the arm?

The loop. A real-time ``Bridge`` on the ``test`` backend (a simulated plant: nothing
moves) runs its own thread at the robot's rate for a few seconds, exactly as it would
for the arm (same thread, same ``SCHED_FIFO`` request, same absolute-deadline sleep). The
bridge records each tick's wake-up lateness against its deadline and its compute time;
consecutive wake-ups are ``p + late_i - late_(i-1)`` apart, which gives the period's
spread, and ``metrics()["overruns"]`` counts ticks that ended after the next deadline.
libfranka stops the arm (``communication_constraints_violation``) when a 1 kHz cycle is
missed, so the verdict asks for no overrun and a 99th-percentile period error under
``max_error_frac`` of the period (10 %).

The network. ICMP ping needs privileges, so the round trip is the time a TCP connection
to a port the arm serves takes to open (one SYN / SYN-ACK exchange): Franka 443 (Desk's
HTTPS on the robot's address; libfranka's own connection is TCP 1337 plus UDP, which a
probe should not disturb), UR 30004 (RTDE, what ur_rtde streams on; 29999 is the
dashboard server). The connection is closed at once, nothing is sent.
"""

from __future__ import annotations

import os
import pathlib
import resource
import socket
import time
from typing import Any

import numpy as np

# The rate of each backend's loop, Hz (robot config loop_period_s = 0).
BACKEND_RATE_HZ = {("franka", "fr3"): 1000.0, ("franka", "panda"): 1000.0,
                   ("ur", "e-series"): 500.0, ("ur", "cb3"): 125.0,
                   ("mujoco", "panda"): 1000.0}
PROBE_PORTS = {"franka": (443, "Franka Desk HTTPS"), "ur": (30004, "UR RTDE")}
DEFAULT_RATE_HZ = 1000.0


def robot_rate_hz(robot: Any) -> float:
    """The control loop rate a robot config runs at."""
    if float(robot.loop_period_s) > 0:
        return 1.0 / float(robot.loop_period_s)
    return BACKEND_RATE_HZ.get((str(robot.backend), str(robot.model)), DEFAULT_RATE_HZ)


def _pct(x: np.ndarray, q: float) -> float:
    return round(float(np.percentile(x, q)), 3) if len(x) else float("nan")


def period_stats(late_us: np.ndarray, period_us: float) -> dict[str, float]:
    """Period and wake-up lateness statistics (us) from the per-tick lateness."""
    late = np.asarray(late_us, np.float64)
    periods = period_us + np.diff(late)
    error = np.abs(periods - period_us)
    return {"period_us_p50": _pct(periods, 50), "period_us_p99": _pct(periods, 99),
            "period_us_max": round(float(periods.max()), 3) if len(periods) else float("nan"),
            "period_error_us_p99": _pct(error, 99),
            "wake_late_us_p50": _pct(late, 50), "wake_late_us_p99": _pct(late, 99),
            "wake_late_us_max": round(float(late.max()), 3) if len(late) else float("nan")}


def measure_loop(rate_hz: float, seconds: float) -> dict[str, Any]:
    """Runs a real-time test-backend bridge at ``rate_hz`` for ``seconds``; its timing."""
    from silri_jax.bridge import Bridge

    if not rate_hz > 0 or not seconds > 0:
        raise ValueError(f"rate_hz and seconds must be > 0, got {rate_hz} and {seconds}")
    period_s = 1.0 / rate_hz
    expected = round(seconds * rate_hz)
    bridge = Bridge("test", run="realtime", period_s=period_s,
                    timing_capacity=expected + 1024)
    with bridge:
        bridge.wait_ticks(1, timeout=5.0)
        bridge.clear_timings()
        before = bridge.metrics()
        bridge.wait(seconds)
        after = bridge.metrics()
        timings = bridge.timings()
    compute = np.asarray(timings["compute_us"], np.float64)
    out: dict[str, Any] = {
        "rate_hz": rate_hz, "period_us": round(period_s * 1e6, 3), "seconds": seconds,
        "ticks": int(after["ticks"] - before["ticks"]), "expected_ticks": expected,
        "overruns": int(after["overruns"] - before["overruns"]),
    }
    out.update(period_stats(timings["wake_late_us"], period_s * 1e6))
    out["compute_us_p99"] = _pct(compute, 99)
    return out


def verdict(loop: dict[str, Any], max_error_frac: float = 0.1) -> tuple[bool, str]:
    """Whether the loop held its rate, and one line saying why."""
    period = float(loop["period_us"])
    err = float(loop["period_error_us_p99"])
    ok = loop["overruns"] == 0 and err < max_error_frac * period
    what = (f"p99 period error {err:.0f} us ({100 * err / period:.1f} % of the "
            f"{period:.0f} us period, limit {100 * max_error_frac:g} %), "
            f"{loop['overruns']} overruns in {loop['seconds']:g} s")
    if ok:
        return True, f"this machine holds {loop['rate_hz']:g} Hz: {what}"
    return False, (f"this machine cannot hold {loop['rate_hz']:g} Hz: {what} (a PREEMPT_RT "
                   "kernel, CAP_SYS_NICE for SCHED_FIFO, and no other load help)")


def preempt_rt() -> bool:
    """Whether the kernel is a PREEMPT_RT one (what 1 kHz control needs)."""
    try:
        return pathlib.Path("/sys/kernel/realtime").read_text().strip() == "1"
    except OSError:
        return "PREEMPT_RT" in os.uname().version


def scheduling() -> dict[str, Any]:
    """What decides whether the loop can get real-time priority (SCHED_FIFO 80) here."""
    soft, _ = resource.getrlimit(resource.RLIMIT_RTPRIO)
    unlimited = soft == resource.RLIM_INFINITY
    root = os.geteuid() == 0
    return {"preempt_rt": preempt_rt(), "root": root,
            "rtprio_limit": -1 if unlimited else int(soft),
            "sched_fifo_allowed": root or unlimited or soft >= 80,
            "cpus": os.cpu_count()}


def probe(host: str, port: int, tries: int = 5, timeout_s: float = 1.0) -> dict[str, Any]:
    """TCP connect times to ``host:port`` (ms): a round trip each, or the error."""
    times: list[float] = []
    error = ""
    for _ in range(max(1, tries)):
        t0 = time.perf_counter()
        try:
            with socket.create_connection((host, port), timeout=timeout_s):
                times.append((time.perf_counter() - t0) * 1e3)
        except OSError as e:
            error = f"{type(e).__name__}: {e}"
            break
    out: dict[str, Any] = {"host": host, "port": port, "tries": len(times)}
    if times:
        out.update({"connect_ms_p50": round(float(np.median(times)), 3),
                    "connect_ms_max": round(float(np.max(times)), 3)})
    if error:
        out["error"] = error
    return out


def network(robot: Any, robot_ip: str, port: int | None) -> dict[str, Any] | None:
    """The probe of a real arm's address (None when there is no real arm to reach)."""
    backend = str(robot.backend) if robot is not None else ""
    host = robot_ip or (str(robot.robot_ip) if robot is not None else "")
    if not host or (backend not in PROBE_PORTS and port is None):
        return None
    p, what = (port, "--port") if port is not None else PROBE_PORTS[backend]
    out = probe(host, int(p))
    out["service"] = what
    return out


def network_line(net: dict[str, Any]) -> str:
    """One line on the network probe."""
    where = f"{net['host']}:{net['port']} ({net['service']})"
    if "error" in net and not net["tries"]:
        return f"the arm at {where} is unreachable: {net['error']}"
    return (f"TCP connect to {where}: {net['connect_ms_p50']:.2f} ms median, "
            f"{net['connect_ms_max']:.2f} ms max over {net['tries']} tries (one round trip)")
