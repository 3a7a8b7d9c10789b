"""Learner update throughput: UTD groups per second for one agent, one JSON line.

    python benchmarks/learner_throughput.py --algo silri --obs state --batch 256 --utd 2
    python benchmarks/learner_throughput.py --algo sac --obs state \
        --peer_python /tmp/lerobot-peer/bin/python

Like the peer script (``shared/peers/lerobot_sac.py``), batches are prepared once on the
device and cycled, so the figure is the compiled update itself; each UTD group still
uses ``utd`` distinct batches. ``bytes_per_pixel_transition`` is the replay storage of
one transition with two 128x128 cameras (the codec the learner uses). With
``--peer_python`` the LeRobot peer runs in the same invocation, right after, with the same
shapes, and the ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import jax
import numpy as np

from silri_jax import specs
from silri_jax.agents import get_config, make_agent
from silri_jax.data import ReplayBuffer

STATE_DIM, ACTION_DIM = 18, 4


def random_batch(spec: specs.EnvSpec, n: int, rng: np.random.Generator) -> specs.Batch:
    b = specs.example_batch(spec, n)
    for part in ("observations", "next_observations"):
        for k, s in spec.observation.entries.items():
            if s.dtype == "uint8":
                b[part][k] = rng.integers(0, 256, size=(n, *s.shape), dtype=np.uint8)
            else:
                b[part][k] = rng.normal(size=(n, *s.shape)).astype(np.float32)
    b["actions"] = rng.uniform(-1, 1, size=(n, spec.action.dim)).astype(np.float32)
    b["rewards"] = rng.normal(size=n).astype(np.float32)
    b["is_intervention"] = (rng.uniform(size=n) < 0.5).astype(np.float32)
    return b


def replay_bytes_per_pixel_transition(codec: str) -> float:
    spec = specs.pixel_env_spec(STATE_DIM, ACTION_DIM, image_size=128)
    return ReplayBuffer(spec, capacity=1000, image_codec=codec).bytes_per_transition


def run_peer(python: str, obs: str, batch: int, utd: int, steps: int) -> dict:
    cmd = [
        python,
        "../shared/peers/lerobot_sac.py",
        "--mode",
        obs,
        "--batch",
        str(batch),
        "--utd",
        str(utd),
        "--steps",
        str(steps),
    ]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algo", default="silri", choices=["sac", "silri", "hgdagger", "bc"])
    p.add_argument("--obs", default="state", choices=["state", "pixels"])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--utd", type=int, default=2)
    p.add_argument("--seconds", type=float, default=20.0, help="measurement time")
    p.add_argument("--backbone", default="resnet10", help="image backbone for --obs pixels")
    p.add_argument("--codec", default="yuv420", help="replay image codec")
    p.add_argument("--peer_python", default="", help="python of a LeRobot environment")
    p.add_argument("--peer_steps", type=int, default=0, help="peer steps (0: auto)")
    a = p.parse_args()

    if a.obs == "state":
        spec = specs.state_env_spec(STATE_DIM, ACTION_DIM)
    else:
        spec = specs.pixel_env_spec(STATE_DIM, ACTION_DIM, image_size=128)
    cfg = get_config(a.algo)
    cfg.batch_size, cfg.utd = a.batch, a.utd
    cfg.encoder.backbone = a.backbone
    agent = make_agent(cfg, spec)
    state = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    groups = [
        jax.device_put(
            jax.tree.map(
                lambda *xs: np.stack(xs), *[random_batch(spec, a.batch, rng) for _ in range(a.utd)]
            )
        )
        for _ in range(4)
    ]
    t0 = time.perf_counter()
    for g in groups[:2]:
        state, _ = agent.update(state, g)
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0

    n, t0 = 0, time.perf_counter()
    while True:
        state, metrics = agent.update(state, groups[n % 4])
        n += 1
        if n % 5 == 0:
            jax.block_until_ready(metrics)
            if time.perf_counter() - t0 >= a.seconds:
                break
    dt = time.perf_counter() - t0
    result = {
        "algo": a.algo,
        "obs": a.obs,
        "batch": a.batch,
        "utd": a.utd,
        "devices": agent.num_devices,
        "backend": jax.default_backend(),
        "device_kind": jax.devices()[0].device_kind,
        "updates_per_s": n / dt,
        "compile_s": compile_s,
        "bytes_per_pixel_transition": replay_bytes_per_pixel_transition(a.codec),
        "codec": a.codec,
    }
    if a.obs == "pixels":
        result["backbone"] = a.backbone
    if a.peer_python:
        steps = a.peer_steps or (300 if a.obs == "state" else 5)
        peer = run_peer(a.peer_python, a.obs, a.batch, a.utd, steps)
        result["peer_updates_per_s"] = peer["updates_per_s"]
        result["ratio_vs_peer"] = result["updates_per_s"] / peer["updates_per_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
