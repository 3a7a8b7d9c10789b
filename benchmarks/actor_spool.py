"""What the actor's durable spool costs per environment step.

Every transition an actor produces is written to its spool (``runtime.actor_spool_dir``)
before the client may send it, and released once the learner acks it; that write sits in
the actor's control loop. This times ``ActorSpool.append`` (encode, validate, write) plus
the ``release`` that follows an ack, on the transitions the quickstart's and the pixel
configs produce, with and without ``fsync``. Prints one JSON line:

    python benchmarks/actor_spool.py --obs state
    python benchmarks/actor_spool.py --obs pixels --fsync

``append_us_p50/p99`` is one append; ``steps_per_s`` is appends plus releases (one
release per ``--ack_every`` appends, as the client's acks arrive) in a tight loop: an
upper bound on the control rate the spool alone allows. ``bytes_per_step`` is the size on
disk, headers included. The spool lives in ``--dir`` (default: a temporary folder on the
system's temp disk; pass the disk the actor will use).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import time

import numpy as np
from fake_data import random_obs

from silri_jax.runtime.spool import ActorSpool
from silri_jax.specs import EnvSpec, pixel_env_spec, state_env_spec


def make_spec(obs: str, image_size: int) -> EnvSpec:
    # pick_cube's layout: 25 state dims (pose, velocity, gripper, cube), 3-D action + gripper
    if obs == "pixels":
        return pixel_env_spec(25, 3, cameras=("front", "wrist"), image_size=image_size,
                              has_gripper=True)
    return state_env_spec(25, 3, has_gripper=True)


def transitions(spec: EnvSpec, n: int, seed: int = 0) -> list[dict]:
    """``n`` distinct transitions shaped like ``spec`` (random frames: no codec shortcut)."""
    rng = np.random.default_rng(seed)
    return [{"observations": random_obs(spec, None, rng),
             "next_observations": random_obs(spec, None, rng),
             "actions": rng.uniform(-1, 1, spec.action.dim).astype(np.float32),
             "rewards": -0.05, "terminated": 0, "truncated": 0, "is_intervention": int(i % 3 == 0),
             "episode_ids": 1, "steps": i, "gripper_actions": 1} for i in range(n)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--obs", choices=("state", "pixels"), default="state")
    p.add_argument("--image_size", type=int, default=128)
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--ack_every", type=int, default=16, help="appends between two releases")
    p.add_argument("--fsync", action="store_true", help="fsync every record (power-loss safe)")
    p.add_argument("--dir", default=None, help="folder for the spool (default: a temp dir)")
    args = p.parse_args()
    spec = make_spec(args.obs, args.image_size)
    pool = transitions(spec, 64)
    with tempfile.TemporaryDirectory(dir=args.dir) as where:
        spool = ActorSpool(where, spec, "bench", "bench-spool", fsync=args.fsync)
        spool.recover(0)
        for i in range(1, 33):  # warm-up: first segment, page cache, codec paths
            spool.append(i, pool[i % len(pool)])
        spool.release(32)
        seq, times = 32, []
        t0 = time.perf_counter()
        for i in range(args.steps):
            seq += 1
            t = time.perf_counter()
            spool.append(seq, pool[i % len(pool)])
            times.append(time.perf_counter() - t)
            if seq % args.ack_every == 0:
                spool.release(seq)
        wall = time.perf_counter() - t0
        records, on_disk = spool.disk_usage()
        files = sum(f.stat().st_size for f in spool.directory.glob("segment-*.log"))
        if files != on_disk:
            raise RuntimeError(f"spool accounting {on_disk} B differs from the files' {files} B")
        spool.close(acked_seq=seq)
    us = np.asarray(times) * 1e6
    print(json.dumps({
        "benchmark": "actor_spool", "obs": args.obs,
        "image_size": args.image_size if args.obs == "pixels" else None,
        "fsync": args.fsync, "steps": args.steps, "ack_every": args.ack_every,
        "append_us_p50": round(float(np.percentile(us, 50)), 1),
        "append_us_p99": round(float(np.percentile(us, 99)), 1),
        "steps_per_s": round(args.steps / wall, 1),
        "bytes_per_step": round(on_disk / records) if records else None,
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
    }))


if __name__ == "__main__":
    main()
