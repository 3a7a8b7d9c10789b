"""Robot step latency: from ``RobotEnv.step`` to the 1 kHz loop using its set-point; one JSON line.

``python benchmarks/robot_step_latency.py [--steps 2000] [--control_hz 10] [--cameras 2]
[--gripper_every 10] [--width 640 --height 480] [--poll_us 100]``

The robot path of a real session, on the bridge's test plant (``benchmarks/robot_rig.py``):
a ``RobotEnv`` over a ``RealtimeArm`` whose bridge runs its 1 kHz loop on its own C++
thread, with the gains, limits, watchdog and mixer of ``configs/robots/sim_franka.py`` and
``configs/tasks/pick_cube.py``, a ``GripperWorker`` over ``NullDriver`` and a rig of
``--cameras`` fake cameras at 30 fps (observed, cropped and resized every step). After a
reset, ``env.step`` is called ``--steps`` times with absolute pose actions alternating
between two poses 10 mm apart in x; every ``--gripper_every``-th step toggles the gripper
(close, open, ...), the others keep it.

Latency, per step: t0 is taken just before the step's ``set_target`` (inside the arm, so
the env's own checks before it are not counted); t1 is the loop's own clock
(``BridgeState.time``, the same monotonic clock) of the first published loop state whose
commanded target moved toward the new pose, i.e. the tick that started interpolating to
it. Instead of sleeping, the arm's wait for the period's deadline first polls
``bridge.state()`` every ``--poll_us`` until that state shows up, then sleeps the rest of
the period as before. Each pose is 10 mm from the previous one on one line, so before the
loop takes the new set-point the commanded target only moves away from (or rests short
of) the new pose, and from the tick that takes it on, it moves toward it by the same
fraction (tick / policy period) of the way per tick. When the poll missed loop ticks
(another thread held the GIL) and the target had come to rest on the old pose, that
fraction gives the exact tick it started (``reconstructed``); otherwise t1 is the first
state seen (``coarse``: an upper bound, up to the missed ticks late). Reports p50 / p99 /
max in ms; target p99 under 2 ms.

Step time: wall time of ``env.step`` less the time spent in the arm's period wait (poll
and sleep), split into steps whose gripper command changed (the worker's ``command``
was called) and the others; the gripper must never delay a step by more than 1 ms
(``gripper_delay_ms``: p99 of gripper steps less p99 of the others, and
``gripper_command_ms_max``, the longest ``command()`` call of the worker itself, both under
1 ms). ``meets_target`` needs both targets (``meets`` has each).
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
from silri_jax.grippers.base import GripperWorker
from silri_jax.grippers.null import NullDriver
from silri_jax.robots.arm import RealtimeArm

TARGET_P99_MS = 2.0
TARGET_GRIPPER_DELAY_MS = 1.0
STEP_M = 0.01  # distance between the two alternating poses
WARMUP_STEPS = 5


class ProbeArm(RealtimeArm):
    """A ``RealtimeArm`` that times each set-point until the loop uses it.

    ``probe`` on: ``set_target`` notes t0 just before handing the target to the bridge;
    ``advance`` polls the loop's published state until its commanded target moves toward
    that target (or ``timeout_s`` passes: ``missed``), then sleeps to the deadline as
    ``RealtimeArm`` does. ``advance_s`` is the time the last ``advance`` took.
    """

    def __init__(self, bridge: Any, poll_s: float, timeout_s: float = 0.05) -> None:
        super().__init__(bridge)
        self._dt = float(bridge.period)
        self._alpha = self._dt / float(bridge.mixer_settings()["policy_period_s"])
        self.poll_s, self.timeout_s = float(poll_s), float(timeout_s)
        self.probe = False
        self.latency_s: list[float] = []
        self.coarse = 0
        self.reconstructed = 0
        self.missed = 0
        self.advance_s = 0.0
        self._goal: np.ndarray | None = None  # the previous set-point's position
        self._prev: np.ndarray | None = None  # and the one before
        self._sent: tuple[float, np.ndarray, np.ndarray, Any, float] | None = None
        self._seen: Any = None  # the last state the env read

    def state(self) -> Any:
        s = self.bridge.state()
        self._seen = s
        return s

    def set_target(self, pos: np.ndarray, quat: np.ndarray, gripper: float = -1.0) -> None:
        goal = np.array(pos, np.float64)
        older, prev, self._goal = self._prev, self._goal, goal
        self._prev = prev
        if self.probe and older is not None and prev is not None and self._seen is not None:
            # the old pose's segment started about at the pose before it
            old_step = self._alpha * float(np.linalg.norm(prev - older))
            t0 = time.monotonic()
            super().set_target(pos, quat, gripper)
            self._sent = (t0, goal, prev, self._seen, old_step)
        else:
            super().set_target(pos, quat, gripper)

    def advance(self, seconds: float) -> None:
        start = time.monotonic()
        sent, self._sent = self._sent, None
        if sent is not None:
            self._wait_used(*sent)
        super().advance(seconds)
        self.advance_s = time.monotonic() - start

    def _wait_used(self, t0: float, goal: np.ndarray, old: np.ndarray, before: Any,
                   old_step: float) -> None:
        n = float(np.linalg.norm(goal - old))
        if n < 1e-6:
            self.missed += 1  # nothing to see: the same pose again
            return
        u = (goal - old) / n
        last = before
        last_proj = float(np.dot(before.target_position, u))
        while True:
            s = self.bridge.state()
            if s.tick != last.tick:
                proj = float(np.dot(s.target_position, u))
                if proj > last_proj + 1e-9:  # moved toward the new pose: the loop has it
                    self.latency_s.append(self._used_at(s, last, goal, old, u, old_step) - t0)
                    return
                last, last_proj = s, proj
            if time.monotonic() - t0 > self.timeout_s:
                self.missed += 1
                return
            time.sleep(self.poll_s)

    def _used_at(self, s: Any, last: Any, goal: np.ndarray, old: np.ndarray, u: np.ndarray,
                 old_step: float) -> float:
        """The loop time of the tick that first used the set-point, ``s`` being the first
        state seen that shows it and ``last`` the state seen before it."""
        gap = s.tick - last.tick
        if gap == 1:
            return float(s.time)
        # The poll missed ticks (another thread held the GIL or the core). Along the line
        # of the two poses, the commanded target went on toward the old pose by
        # ``old_step`` per tick (resting there once reached) until the tick that used the
        # set-point, then toward the new pose by ``alpha`` of the way left per tick: the
        # one first tick that predicts the position seen in ``s`` is the answer.
        xg, xo = float(np.dot(goal, u)), float(np.dot(old, u))
        xj, xk = float(np.dot(last.target_position, u)), float(np.dot(s.target_position, u))
        errors = []
        for c in range(1, gap + 1):  # the set-point used c ticks after ``last``
            xs = max(xo, xj - (c - 1) * old_step)
            errors.append(abs(xs + (xg - xs) * (gap - c + 1) * self._alpha - xk))
        c = int(np.argmin(errors)) + 1
        if errors[c - 1] > 0.25 * self._alpha * abs(xg - xo):
            self.coarse += 1  # no tick fits: an upper bound, up to gap - 1 ticks late
            return float(s.time)
        self.reconstructed += 1
        return float(s.time) - (gap - c) * self._dt


class TimedGripper(GripperWorker):
    """A gripper worker that times its (non-blocking) ``command`` calls."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.command_s: list[float] = []

    def command(self, g: int) -> None:
        t = time.monotonic()
        super().command(g)
        self.command_s.append(time.monotonic() - t)


def _stats_ms(values: list[float] | np.ndarray) -> dict[str, float]:
    a = np.asarray(values, np.float64) * 1e3
    if not len(a):
        return {"p50": float("nan"), "p99": float("nan"), "max": float("nan"), "n": 0}
    return {"p50": round(float(np.percentile(a, 50)), 3),
            "p99": round(float(np.percentile(a, 99)), 3),
            "max": round(float(a.max()), 3), "n": len(a)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--control_hz", type=float, default=None,
                   help="the policy's rate (default: the cell's, 10 Hz)")
    p.add_argument("--cameras", type=int, default=2, choices=(0, 1, 2))
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--gripper_every", type=int, default=10,
                   help="toggle the gripper every this many steps (0: never)")
    p.add_argument("--poll_us", type=float, default=100.0,
                   help="poll period of the loop's state while waiting for the set-point")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.steps < 1:
        p.error("--steps must be >= 1")

    robot, cell = robot_rig.configs(args.control_hz)
    bridge = robot_rig.make_bridge(robot, cell)
    arm = ProbeArm(bridge, args.poll_us * 1e-6)
    g = robot.gripper
    gripper = TimedGripper(NullDriver(), refractory_s=float(g.refractory_s),
                           poll_s=float(g.poll_s))
    rig = robot_rig.fake_rig(args.cameras, width=args.width, height=args.height,
                             fps=args.fps, latency_s=0.0, size=int(cell.image_size),
                             max_age_s=0.2)
    env = robot_rig.robot_env(robot, cell, arm, rig, gripper)
    step_s: list[float] = []
    gripper_step: list[bool] = []
    faults: list[str] = []
    try:
        env.reset(seed=args.seed)
        base = np.asarray(bridge.state().target_position, np.float64)
        quat = np.asarray(cell.reset_quat_wxyz, np.float64)
        poses = [np.concatenate([base + np.array([STEP_M * k, 0.0, 0.0]), quat])
                 for k in (1, 0)]
        closed = False
        gripper.command_s.clear()  # the reset's open command
        bridge.clear_timings()
        for i in range(WARMUP_STEPS + args.steps):
            measured = i >= WARMUP_STEPS
            arm.probe = measured
            cmd = specs.GRIPPER_STAY
            if args.gripper_every > 0 and measured and (i - WARMUP_STEPS) % args.gripper_every \
                    == args.gripper_every - 1:
                closed = not closed
                cmd = specs.GRIPPER_CLOSE if closed else specs.GRIPPER_OPEN
            sent = len(gripper.command_s)
            t = time.monotonic()
            _, _, _, truncated, info = env.step({"pose": poses[i % 2], "gripper": cmd})
            took = time.monotonic() - t - arm.advance_s
            if truncated:
                faults.append(str(info.get("robot_fault") or info.get("stale_cameras")))
                break
            if measured:
                step_s.append(took)
                gripper_step.append(len(gripper.command_s) > sent)
        m = bridge.metrics()
        late = bridge.timings()["wake_late_us"]
    finally:
        env.close()

    steps = np.asarray(step_s)
    mask = np.asarray(gripper_step, bool)
    lat = _stats_ms(arm.latency_s)
    with_g, without_g = _stats_ms(steps[mask]), _stats_ms(steps[~mask])
    delay = round(with_g["p99"] - without_g["p99"], 3) if with_g["n"] else 0.0
    command_max = max(gripper.command_s, default=0.0) * 1e3
    meets_latency = bool(lat["n"] > 0 and lat["p99"] < TARGET_P99_MS and not faults)
    meets_gripper = bool(delay < TARGET_GRIPPER_DELAY_MS
                         and command_max < TARGET_GRIPPER_DELAY_MS)
    print(json.dumps({
        "benchmark": "robot_step_latency", "backend": "test (realtime, 1 kHz)",
        "steps": len(step_s), "control_hz": float(cell.control_hz), "cameras": args.cameras,
        "frame": f"{args.width}x{args.height}", "size": int(cell.image_size),
        "latency_ms": lat, "reconstructed": arm.reconstructed,
        "coarse": arm.coarse, "missed": arm.missed,
        "step_ms": _stats_ms(steps), "step_ms_gripper": with_g, "step_ms_no_gripper": without_g,
        "gripper_delay_ms": delay, "gripper_command_ms_max": round(command_max, 4),
        "gripper_commands": len(gripper.command_s), "arm_overruns": arm.overruns,
        "loop": {"ticks": int(m["ticks"]), "overruns": int(m["overruns"]),
                 "wake_late_us_p99": round(float(np.percentile(late, 99)), 1)
                 if len(late) else float("nan"),
                 "rejected_targets": int(m["rejected_targets"])},
        "faults": faults,
        "target_p99_ms": TARGET_P99_MS, "target_gripper_delay_ms": TARGET_GRIPPER_DELAY_MS,
        "meets": {"latency_p99": meets_latency, "gripper_delay": meets_gripper},
        "meets_target": meets_latency and meets_gripper,
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor()
                    or platform.machine(), "python": sys.version.split()[0]},
    }))


if __name__ == "__main__":
    main()
