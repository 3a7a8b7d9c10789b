"""Frame age at observation: how old the pictures a 10 Hz policy acts on are; one JSON line.

``python benchmarks/camera_age.py [--steps 300] [--fps 30] [--control_hz 10]
[--backend fake|mujoco] [--width 640 --height 480 --size 128]``

Two cameras (``front``, ``wrist``) deliver frames on their own reader threads at
``--fps`` (synthetic 640x480 frames, or the simulated Panda scene rendered by MuJoCo),
and a control loop paced at ``--control_hz`` calls ``CameraRig.observe()`` (newest frame,
staleness check, centred square crop, resize to ``--size``) for ``--steps`` steps. For
every observation it takes the age of each frame (host time since the frame arrived plus
the camera's expected latency, 0 here; each tick at a random phase within one frame
period, as a loop and cameras on different clocks drift) and reports p50 / p99 / max per
camera in ms, the time ``observe()`` itself took, and whether p99 is under one control
period plus the camera's latency (the target: a policy never acts on a picture older
than its own step).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np

from silri_jax.cameras import CameraRig, FakeCamera
from silri_jax.cameras.__main__ import centre_square

CAMERAS = ("front", "wrist")


def _cameras(args: argparse.Namespace) -> dict:
    if args.backend == "fake":
        return {n: FakeCamera(n, width=args.width, height=args.height, fps=args.fps, seed=i)
                for i, n in enumerate(CAMERAS)}
    import mujoco

    from silri_jax.cameras.mujoco_camera import MujocoCamera
    from silri_jax.envs.sim import scene

    spec, _ = scene.load_panda_spec()
    scene.add_table(spec)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    return {n: MujocoCamera(n, model, data, n, width=args.width, height=args.height,
                            fps=args.fps) for n in CAMERAS}


def _stats_ms(values: list[float]) -> dict[str, float]:
    a = np.asarray(values) * 1e3
    return {"p50": round(float(np.percentile(a, 50)), 2),
            "p99": round(float(np.percentile(a, 99)), 2), "max": round(float(a.max()), 2)}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--fps", type=float, default=30.0)
    p.add_argument("--control_hz", type=float, default=10.0)
    p.add_argument("--backend", choices=("fake", "mujoco"), default="fake")
    p.add_argument("--width", type=int, default=640)
    p.add_argument("--height", type=int, default=480)
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    cams = _cameras(args)
    period = 1.0 / args.control_hz
    crop = centre_square(args.height, args.width)
    rig = CameraRig(cams, crops=dict.fromkeys(CAMERAS, crop), size=args.size,
                    max_age_s=2 * period + 1.0 / args.fps)
    observe_s: list[float] = []
    # A robot's loop and its cameras run on different clocks, so the phase between a tick
    # and the newest frame drifts over a session; each tick here gets a random phase
    # within one frame period, or a loop locked to the cameras would see one age only.
    phase = np.random.default_rng(args.seed).uniform(0.0, 1.0 / args.fps, args.steps)
    with rig:
        t0 = time.monotonic() + period
        for i in range(args.steps):
            wait = t0 + i * period + phase[i] - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            start = time.monotonic()
            rig.observe()
            observe_s.append(time.monotonic() - start)
        ages = rig.ages()
    latency_ms = max(c.latency_s for c in cams.values()) * 1e3
    target_ms = period * 1e3 + latency_ms
    per_camera = {n: _stats_ms(list(a)) for n, a in ages.items()}
    print(json.dumps({
        "benchmark": "camera_age", "backend": args.backend, "cameras": len(cams),
        "fps": args.fps, "frame": f"{args.width}x{args.height}", "size": args.size,
        "control_hz": args.control_hz, "steps": args.steps,
        "frame_age_ms": per_camera, "observe_ms": _stats_ms(observe_s),
        "frames_received": {n: c.frames_received for n, c in cams.items()},
        "stale": sum(rig.stale_count.values()), "target_p99_ms": round(target_ms, 2),
        "met": all(s["p99"] < target_ms for s in per_camera.values()),
        "machine": f"{platform.machine()}, {platform.python_version()}",
    }))


if __name__ == "__main__":
    main()
