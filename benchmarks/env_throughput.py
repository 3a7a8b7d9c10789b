"""Environment throughput: env steps per second of one simulated task, one process.

    python benchmarks/env_throughput.py --task pick_cube --obs state
    python benchmarks/env_throughput.py --task insert_peg --obs pixels --controller python

Each env step is 100 physics ticks at 1 kHz under impedance control, observation included
(two 128x128 cameras for ``--obs pixels``). Actions are seeded random deltas; episodes
reset at their end (resets are counted in the time). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from silri_jax.envs import env_spec, make


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=["pick_cube", "insert_peg", "open_drawer"],
                   default="pick_cube")
    p.add_argument("--obs", choices=["state", "pixels"], default="state")
    p.add_argument("--controller", choices=["auto", "python", "cpp"], default="auto")
    p.add_argument("--steps", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    cfg = {"controller": args.controller}
    if args.obs == "pixels":
        cfg["cameras"] = ("front", "wrist")
    env = make(args.task, cfg)
    spec = env_spec(env)
    rng = np.random.default_rng(args.seed)
    env.reset(seed=args.seed)
    for _ in range(5):  # warm-up (renderer context, caches)
        env.step(_action(spec, rng))
    env.reset(seed=args.seed + 1)
    episodes = 0
    t0 = time.perf_counter()
    for _ in range(args.steps):
        _, _, term, trunc, _ = env.step(_action(spec, rng))
        if term or trunc:
            episodes += 1
            env.reset(seed=args.seed + 1 + episodes)
    dt = time.perf_counter() - t0
    base = env.unwrapped
    print(json.dumps({
        "benchmark": "env_throughput",
        "task": args.task,
        "obs": args.obs,
        "controller": base.controller.backend,
        "steps": args.steps,
        "steps_per_s": round(args.steps / dt, 2),
        "physics_ticks_per_step": base.ticks_per_step,
        "episodes_reset": episodes,
    }))


def _action(spec, rng):
    a = rng.uniform(-1, 1, spec.action.dim).astype(np.float32)
    return {"action": a, "gripper": int(rng.integers(3))} if spec.action.has_gripper else a


if __name__ == "__main__":
    main()
