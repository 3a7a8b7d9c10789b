"""Camera frame age at observation on the robot path: the pictures ``RobotEnv.step`` hands
the policy, and how old they are; one JSON line.

``python benchmarks/camera_frame_age.py [--steps 300] [--fps 30] [--latency_s 0.05]
[--control_hz 10] [--width 640 --height 480] [--phase random|locked]``

Where ``benchmarks/camera_age.py`` times a bare ``CameraRig`` loop, this observes through
the robot env a real session drives (``benchmarks/robot_rig.py``): a ``RobotEnv`` over a
``RealtimeArm`` on the bridge's test plant running its 1 kHz loop on its own thread (gains
and limits of ``configs/robots/sim_franka.py`` and ``configs/tasks/pick_cube.py``), a null
gripper worker, and a ``CameraRig`` of two ``FakeCamera``s (``front``, ``wrist``) at
``--fps`` with ``latency_s`` = ``--latency_s`` (the capture-to-host delay a real camera
declares). After a reset, ``env.step`` runs ``--steps`` times at ``--control_hz`` (the
arm sleeps to each period's deadline); each step's observation takes every camera's
newest frame through ``CameraRig.observe()`` (staleness check, centred square crop,
resize to the cell's ``image_size``), and ``CameraRig.ages()`` gives each frame's age at
that moment: host time since the frame arrived plus ``latency_s``.

A robot's loop and its cameras run on different clocks, so the phase between a step and
the newest frame drifts over a session; with ``--phase random`` (default) each step's
deadline is moved by a random phase within one frame period (as in ``camera_age.py``),
with ``locked`` the loop keeps one phase to the cameras. Reports p50 / p99 / max per
camera in ms; target: p99 under one control period plus the camera's latency.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from typing import Any

import numpy as np
import robot_rig

from silri_jax import specs
from silri_jax.robots.arm import RealtimeArm


class PhasedArm(RealtimeArm):
    """A ``RealtimeArm`` whose ``i``-th deadline is moved by ``phases[i]`` seconds (the
    mean period is unchanged)."""

    def __init__(self, bridge: Any, phases: np.ndarray) -> None:
        super().__init__(bridge)
        self.phases = np.asarray(phases, np.float64)
        self._i = 0
        self._prev = 0.0

    def advance(self, seconds: float) -> None:
        ph = float(self.phases[self._i % len(self.phases)]) if len(self.phases) else 0.0
        self._i += 1
        super().advance(seconds + ph - self._prev)
        self._prev = ph


def _stats_ms(values: np.ndarray) -> dict[str, float]:
    a = np.asarray(values, np.float64) * 1e3
    if not len(a):
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan")}
    return {"p50": round(float(np.percentile(a, 50)), 2),
            "p99": round(float(np.percentile(a, 99)), 2), "max": round(float(a.max()), 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--latency_s", type=float, default=0.05,
                   help="each camera's declared capture-to-host latency, s")
    p.add_argument("--control_hz", type=float, default=None,
                   help="the policy's rate (default: the cell's, 10 Hz)")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--phase", choices=("random", "locked"), default="random")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be >= 1")

    robot, cell = robot_rig.configs(args.control_hz)
    period = 1.0 / float(cell.control_hz)
    frame_period = 1.0 / args.fps
    rng = np.random.default_rng(args.seed)
    # phases for the reset's moves too: the arm does not know which advance is a step
    phases = rng.uniform(0.0, frame_period, 4096) if args.phase == "random" else np.zeros(1)
    arm = PhasedArm(robot_rig.make_bridge(robot, cell), phases)
    rig = robot_rig.fake_rig(2, width=args.width, height=args.height, fps=args.fps,
                             latency_s=args.latency_s, size=int(cell.image_size),
                             max_age_s=2 * period + frame_period + args.latency_s)
    assert rig is not None
    env = robot_rig.robot_env(robot, cell, arm, rig)
    step_s: list[float] = []
    faults: list[str] = []
    try:
        env.reset(seed=args.seed)
        skip = {n: len(a) for n, a in rig.ages().items()}  # the reset's observation
        pose = np.concatenate([np.asarray(arm.state().target_position, np.float64),
                               np.asarray(cell.reset_quat_wxyz, np.float64)])
        for _ in range(args.steps):
            t = time.monotonic()
            _, _, _, truncated, info = env.step({"pose": pose, "gripper": specs.GRIPPER_STAY})
            step_s.append(time.monotonic() - t)
            if truncated:
                faults.append(str(info.get("robot_fault") or info.get("stale_cameras")))
                break
        ages = {n: a[skip[n]:] for n, a in rig.ages().items()}
    finally:
        env.close()

    cams = rig.cameras
    latency_ms = max(c.latency_s for c in cams.values()) * 1e3
    target_ms = period * 1e3 + latency_ms
    per_camera = {n: _stats_ms(a) for n, a in ages.items()}
    observations = min(len(a) for a in ages.values())
    meets = bool(observations == args.steps and not faults
                 and all(s["p99"] < target_ms for s in per_camera.values()))
    print(json.dumps({
        "benchmark": "camera_frame_age", "path": "RobotEnv.step (test bridge, realtime)",
        "cameras": len(cams), "fps": args.fps, "latency_s": args.latency_s,
        "frame": f"{args.width}x{args.height}", "size": int(cell.image_size),
        "control_hz": float(cell.control_hz), "phase": args.phase, "steps": args.steps,
        "observations": observations, "frame_age_ms": per_camera,
        "host_age_ms_p99": {n: round(s["p99"] - latency_ms, 2) for n, s in per_camera.items()},
        "step_period_ms": _stats_ms(np.asarray(step_s)),
        "frames_received": {n: c.frames_received for n, c in cams.items()},
        "stale": sum(rig.stale_count.values()), "arm_overruns": arm.overruns,
        "faults": faults, "target_p99_ms": round(target_ms, 2), "meets_target": meets,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor()
                    or platform.machine(), "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
