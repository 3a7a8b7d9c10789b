"""Learner update throughput: UTD groups per second for one agent, one JSON line.

    python benchmarks/learner_throughput.py --algo silri --obs state --batch 256 --utd 2
    python benchmarks/learner_throughput.py --algo silri --obs pixels --backbone small_conv
    python benchmarks/learner_throughput.py --algo silri --obs pixels --backbone small_conv \
        --host_decode
    python benchmarks/learner_throughput.py --algo silri --obs pixels --replay device
    python benchmarks/learner_throughput.py --algo sac --obs state \
        --peer_python /tmp/lerobot-peer/bin/python

State observations: like the peer script (``shared/peers/lerobot_sac.py``), batches are
prepared once on the device and cycled, so the figure is the compiled update itself; each
UTD group still uses ``utd`` distinct batches.

Pixel observations: the learner's own path. Each UTD group is sampled from filled
``D_R``/``D_I`` buffers (half each, ``--fill`` transitions, random frames) with
``decode=False``, crosses to the device as uint8 in the codec's stored form and is decoded
inside the compiled update. ``--host_decode`` measures the old path instead: numpy decodes
on the host and RGB crosses. ``--replay device`` keeps the same buffers on the accelerator
(``DeviceReplay``) and draws each group inside the compiled update (``DeviceUpdater``):
nothing is gathered or copied on the host per group. ``host_sample_ms`` is the host's time
per group (gather, plus the decode with ``--host_decode``); ``batch_mb`` the bytes of one
group as sent.

``bytes_per_pixel_transition`` is the replay storage of one transition with two 128x128
cameras (the codec the learner uses). With ``--peer_python`` the LeRobot peer runs in the
same invocation, right after, with the same shapes, and the ratio is reported.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import numpy as np
from fake_data import random_obs
from peers import run_peer_script

from silri_jax import specs
from silri_jax.agents import get_config, make_agent
from silri_jax.data import (
    DeviceMixedSampler,
    DeviceReplay,
    DeviceUpdater,
    MixedSampler,
    ReplayBuffer,
)
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.parallel import replicated

STATE_DIM, ACTION_DIM = 18, 4


def random_batch(spec: specs.EnvSpec, n: int, rng: np.random.Generator) -> specs.Batch:
    b = specs.example_batch(spec, n)
    b["observations"] = random_obs(spec, n, rng)
    b["next_observations"] = random_obs(spec, n, rng)
    b["actions"] = rng.uniform(-1, 1, size=(n, spec.action.dim)).astype(np.float32)
    b["rewards"] = rng.normal(size=n).astype(np.float32)
    b["is_intervention"] = (rng.uniform(size=n) < 0.5).astype(np.float32)
    return b


def filled_buffer(
    spec: specs.EnvSpec, codec: str, n: int, rng: np.random.Generator, interventions: bool,
    make: Callable[..., Any] = ReplayBuffer,
) -> Any:
    """A buffer (``make``: ``ReplayBuffer`` or a ``DeviceReplay`` factory) holding one
    ``n``-step episode of random frames (each frame stored once: every observation is the
    previous transition's next observation)."""
    buf = make(spec, capacity=n, image_codec=codec)
    frames = random_obs(spec, n + 1, rng)
    buf.insert_many(
        obs={k: v[:-1] for k, v in frames.items()},
        action=rng.uniform(-1, 1, size=(n, spec.action.dim)).astype(np.float32),
        reward=rng.normal(size=n).astype(np.float32),
        terminated=np.zeros(n, bool),
        truncated=np.zeros(n, bool),
        next_obs={k: v[1:] for k, v in frames.items()},
        is_intervention=np.full(n, interventions),
        episode_id=np.zeros(n, np.int64),
        step=np.arange(n),
    )
    return buf


GroupSource = Callable[[], tuple[Any, ObservationDecoder | None]]


def replay_groups(
    spec: specs.EnvSpec, a: argparse.Namespace, rng: np.random.Generator
) -> GroupSource:
    """UTD groups sampled from filled D_R / D_I as the learner samples them."""
    half = max(a.fill // 2, 1)
    sampler = MixedSampler(
        filled_buffer(spec, a.codec, half, rng, False),
        filled_buffer(spec, a.codec, half, rng, True),
        a.batch,
    )

    def group() -> tuple[Any, ObservationDecoder | None]:
        if a.host_decode:
            return sampler.sample(rng, a.utd), None
        return sampler.sample(rng, a.utd, decode=False)

    return group


def device_replay_updater(
    spec: specs.EnvSpec, a: argparse.Namespace, rng: np.random.Generator, agent: Any
) -> DeviceUpdater:
    """The same filled D_R / D_I as ``replay_groups``, kept on the accelerator: each group
    is drawn and decoded inside the compiled update (``DeviceUpdater``)."""
    half = max(a.fill // 2, 1)
    where = replicated(agent.mesh)

    def make(spec: specs.EnvSpec, capacity: int, image_codec: str) -> DeviceReplay:
        return DeviceReplay(spec, capacity, image_codec=image_codec, chunk_size=256,
                            device=where)

    sampler = DeviceMixedSampler(filled_buffer(spec, a.codec, half, rng, False, make),
                                 filled_buffer(spec, a.codec, half, rng, True, make), a.batch)
    sampler.storages()  # written to the device before timing
    return DeviceUpdater(agent, sampler, a.utd)


def device_groups(
    spec: specs.EnvSpec, a: argparse.Namespace, rng: np.random.Generator
) -> GroupSource:
    """Four groups prepared once on the device and cycled (the compiled update alone)."""
    groups = [
        jax.device_put(
            jax.tree.map(
                lambda *xs: np.stack(xs), *[random_batch(spec, a.batch, rng) for _ in range(a.utd)]
            )
        )
        for _ in range(4)
    ]
    count = iter(range(1 << 62))
    return lambda: (groups[next(count) % 4], None)


def group_mb(batch: Any) -> float:
    return sum(x.nbytes for x in jax.tree.leaves(batch)) / 1e6


def replay_bytes_per_pixel_transition(codec: str) -> float:
    spec = specs.pixel_env_spec(STATE_DIM, ACTION_DIM, image_size=128)
    return ReplayBuffer(spec, capacity=1000, image_codec=codec).bytes_per_transition


def run_peer(python: str, obs: str, batch: int, utd: int, steps: int) -> dict:
    """LeRobot's SAC learner on the same machine, right after ours."""
    return run_peer_script(python, "lerobot_sac.py", ["--mode", obs, "--batch", str(batch),
                                                      "--utd", str(utd), "--steps", str(steps)])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--algo", default="silri", choices=["sac", "silri", "hgdagger", "bc"])
    p.add_argument("--obs", default="state", choices=["state", "pixels"])
    p.add_argument("--batch", type=int, default=256)
    p.add_argument("--utd", type=int, default=2)
    p.add_argument("--seconds", type=float, default=20.0, help="measurement time")
    p.add_argument("--backbone", default="resnet10", help="image backbone for --obs pixels")
    p.add_argument("--codec", default="yuv420", help="replay image codec")
    p.add_argument("--fill", type=int, default=2000, help="pixels: transitions in D_R + D_I")
    p.add_argument(
        "--host_decode",
        action="store_true",
        help="pixels: decode on the host and send RGB (the old path) instead of decoding "
        "inside the compiled update",
    )
    p.add_argument(
        "--replay",
        default="host",
        choices=["host", "device"],
        help="pixels: sample each group on the host and copy it over (host, as the learner "
        "does today) or keep D_R/D_I on the accelerator and draw inside the update (device)",
    )
    p.add_argument("--peer_python", default="", help="python of a LeRobot environment")
    p.add_argument("--peer_steps", type=int, default=0, help="peer steps (0: auto)")
    a = p.parse_args()

    if a.host_decode and a.obs != "pixels":
        p.error("--host_decode applies to --obs pixels only")
    if a.replay == "device" and (a.obs != "pixels" or a.host_decode):
        p.error("--replay device applies to --obs pixels without --host_decode")
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
    t0 = time.perf_counter()
    updater = None
    if a.replay == "device":
        updater = device_replay_updater(spec, a, rng, agent)
    elif a.obs == "pixels":
        next_group = replay_groups(spec, a, rng)
    else:
        next_group = device_groups(spec, a, rng)
    fill_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(2):
        state, _ = updater(state) if updater else agent.update(state, *next_group())
    jax.block_until_ready(state)
    compile_s = time.perf_counter() - t0

    # The host samples group n+1 while the device runs group n (as in the learner's loop,
    # which only waits on metrics now and then); at most two groups are in flight.
    n, sample_s, mb, t0 = 0, 0.0, 0.0, time.perf_counter()
    previous = None
    while True:
        if updater is not None:  # nothing to sample or copy on the host
            state, metrics = updater(state)
        else:
            ts = time.perf_counter()
            batch, decoder = next_group()
            sample_s += time.perf_counter() - ts
            mb = group_mb(batch)
            state, metrics = agent.update(state, batch, decoder)
        n += 1
        if previous is not None:
            jax.block_until_ready(previous)
        previous = metrics
        if time.perf_counter() - t0 >= a.seconds:
            break
    jax.block_until_ready(metrics)
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
        "groups": n,
        "compile_s": compile_s,
        "bytes_per_pixel_transition": replay_bytes_per_pixel_transition(a.codec),
        "codec": a.codec,
        "load_avg_1m": os.getloadavg()[0],
    }
    if a.obs == "pixels":
        result.update(
            backbone=a.backbone,
            decode="host" if a.host_decode else "in_update",
            replay=a.replay,
            host_sample_ms=1e3 * sample_s / n,
            batch_mb=mb,
            fill_s=fill_s,
        )
    if a.peer_python:
        steps = a.peer_steps or (300 if a.obs == "state" else 5)
        peer = run_peer(a.peer_python, a.obs, a.batch, a.utd, steps)
        if "error" in peer:
            result["peer_error"] = peer["error"]
        else:
            result["peer_updates_per_s"] = peer["updates_per_s"]
            result["ratio_vs_peer"] = result["updates_per_s"] / peer["updates_per_s"]
    print(json.dumps(result))


if __name__ == "__main__":
    sys.exit(main())
