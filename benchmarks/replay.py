"""Replay benchmark: memory per transition, insert and sample rates; one JSON line.

``python benchmarks/replay.py [--capacity N] [--codec yuv420|rgb] [--device]``
Two 128x128 cameras, state 20, action 7 with gripper, 100-step episodes, batch 256.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from silri_jax import specs
from silri_jax.data.replay import ReplayBuffer


def _episode_obs(spec: specs.EnvSpec, rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    obs = spec.observation.zeros((n,))
    obs["state"][...] = rng.standard_normal(obs["state"].shape)
    base = rng.integers(0, 256, (1, 128, 128, 3), dtype=np.uint8)
    for key in spec.observation.image_keys:
        obs[key][...] = base + np.arange(n, dtype=np.uint8)[:, None, None, None]
    return obs


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--capacity", type=int, default=5000)
    p.add_argument("--codec", default="yuv420")
    p.add_argument("--episodes", type=int, default=20)
    p.add_argument("--samples", type=int, default=20)
    p.add_argument("--device", action="store_true", help="also time DeviceReplay")
    args = p.parse_args()
    spec = specs.pixel_env_spec(20, 7, ("front", "wrist"), 128, has_gripper=True)
    rng = np.random.default_rng(0)
    buf = ReplayBuffer(spec, args.capacity, image_codec=args.codec)
    frames = _episode_obs(spec, rng, 101)
    n = 100
    fields = dict(
        obs={k: v[:-1] for k, v in frames.items()},
        action=np.zeros((n, 7), np.float32), reward=np.zeros(n, np.float32),
        terminated=np.zeros(n), truncated=np.eye(n)[-1],
        next_obs={k: v[1:] for k, v in frames.items()}, is_intervention=np.zeros(n),
        step=np.arange(n), gripper_action=np.ones(n, np.int32),
    )
    t0 = time.perf_counter()
    for ep in range(args.episodes):
        buf.insert_many(episode_id=np.full(n, ep), **fields)
    insert_s = time.perf_counter() - t0
    buf.sample(rng, 256)
    t0 = time.perf_counter()
    for _ in range(args.samples):
        buf.sample(rng, 256)
    sample_s = (time.perf_counter() - t0) / args.samples
    result = {
        "bench": "replay",
        "codec": args.codec,
        "capacity": args.capacity,
        "bytes_per_transition": round(buf.bytes_per_transition, 1),
        "raw_rgb_frame_bytes": 2 * 128 * 128 * 3,
        "insert_transitions_per_s": round(args.episodes * n / insert_s, 1),
        "sample_256_decoded_ms": round(1e3 * sample_s, 2),
    }
    if args.device:
        import jax

        from silri_jax.data.device_replay import DeviceReplay

        dev = DeviceReplay(spec, args.capacity, image_codec=args.codec, chunk_size=100)
        t0 = time.perf_counter()
        for ep in range(args.episodes):
            dev.insert_many(episode_id=np.full(n, ep), **fields)
        storage = dev.storage
        jax.block_until_ready(storage)
        result["device_insert_transitions_per_s"] = round(
            args.episodes * n / (time.perf_counter() - t0), 1)
        fn = jax.jit(dev.sample_fn(256))
        key = jax.random.key(0)
        jax.block_until_ready(fn(storage, key))
        t0 = time.perf_counter()
        for i in range(args.samples):
            out = fn(storage, jax.random.fold_in(key, i))
        jax.block_until_ready(out)
        result["device_sample_256_decoded_ms"] = round(
            1e3 * (time.perf_counter() - t0) / args.samples, 3)
        result["device"] = str(jax.devices()[0].platform)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
