"""Actor -> learner transport throughput and learner -> actor parameter push latency.

N actor processes stream transitions over loopback gRPC to a learner server in this
process that decodes them and inserts them into a replay buffer, while the learner
publishes state-SiLRI-sized actor params (MLP 18->256->256->4, float32) every push
period. Prints one JSON line:

    python benchmarks/transport.py --actors 4 --obs pixels --seconds 20

``transitions_per_s`` counts transitions received, decoded and inserted during the
measured window. ``param_push_ms_*`` is publish (before encoding) to fully reassembled at
an actor; ``param_staleness_s_p99`` is, sampled at every actor step, the age of the
parameters the actor acts with. ``lost``/``duplicated`` compare what the actors sent with
what the learner stored, by sequence number.
"""

from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing as mp
import threading
import time
from typing import Any

import numpy as np
from fake_data import random_obs
from peers import run_peer_script

from silri_jax.specs import EnvSpec, pixel_env_spec, state_env_spec

CONFIG_HASH = "bench-transport"
EPISODE_LEN = 100


def make_spec(obs: str) -> EnvSpec:
    if obs == "pixels":
        return pixel_env_spec(18, 4, cameras=("front", "wrist"), image_size=128)
    return state_env_spec(18, 4)


def actor_params(seed: int) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    sizes = [18, 256, 256, 4]
    return {
        f"Dense_{i}": {"kernel": rng.normal(size=(a, b)).astype(np.float32),
                       "bias": rng.normal(size=b).astype(np.float32)}
        for i, (a, b) in enumerate(itertools.pairwise(sizes))
    }


def run_actor(
    idx: int, address: str, obs: str, ready: Any, go: Any, stop: Any, out: Any, t0: Any
) -> None:
    """One actor process: steps a fake env as fast as it can and streams every step."""
    from silri_jax.transport.client import ActorClient

    spec = make_spec(obs)
    rng = np.random.default_rng(idx)
    pool = 16  # distinct frames, so the data is not constant; a step costs no rendering
    frames = random_obs(spec, pool, rng)
    client = ActorClient(address, spec, CONFIG_HASH, f"actor-{idx}", max_outbox=2048,
                         params_template=actor_params(0))
    client.ping()
    ready.set()
    go.wait()
    sent, step, episode = 0, 0, 0
    staleness: list[float] = []
    push_ms: dict[int, float] = {}
    published = None
    action = np.zeros(4, np.float32)
    while not stop.is_set():
        if client.latest_params() is not None:  # swap parameters between steps
            version, published, received = client.params_timing()
            if published >= t0.value > 0:  # versions published in the measured window
                push_ms[version] = (received - published) * 1e3
        if published is not None and t0.value > 0:
            staleness.append(time.time() - published)
        o = {k: v[(sent + idx) % pool] for k, v in frames.items()}
        no = {k: v[(sent + idx + 1) % pool] for k, v in frames.items()}
        client.send({
            "observations": o, "next_observations": no, "actions": action,
            "rewards": 0.0, "terminated": 0, "truncated": int(step == EPISODE_LEN - 1),
            "is_intervention": int(step % 10 == 0), "episode_ids": episode, "steps": step,
        }, timeout=60)
        sent += 1
        step += 1
        if step == EPISODE_LEN:
            step, episode = 0, episode + 1
    flushed = client.flush(60)
    stats = client.stats()
    client.close()
    stale = np.asarray(staleness) if staleness else np.zeros(1)
    out.put({"actor": f"actor-{idx}", "sent": sent, "flushed": flushed, "stats": stats,
             "push_ms": list(push_ms.values()),
             "staleness_p99": float(np.percentile(stale, 99)),
             "staleness_max": float(stale.max())})


class Sink:
    """The learner's insert: a replay buffer (or a plain preallocated ring)."""

    def __init__(self, spec: EnvSpec, capacity: int, kind: str) -> None:
        self.kind = kind
        self.lock = threading.Lock()
        self.inserted = 0
        self.last_seq: dict[str, int] = {}
        self.duplicated = 0
        self.gaps = 0
        if kind == "replay":
            from silri_jax.data.replay import ReplayBuffer

            self.buffer = ReplayBuffer(spec, capacity, image_codec="rgb")
        else:
            self.obs = spec.observation.zeros((capacity,))
            self.next_obs = spec.observation.zeros((capacity,))
            self.scalars = {k: np.zeros(capacity, np.float32)
                            for k in ("rewards", "terminated", "truncated", "is_intervention")}
            self.actions = np.zeros((capacity, spec.action.dim), np.float32)
        self.capacity = capacity

    def __call__(self, batch: Any) -> None:
        d = batch.data
        # Independent exactly-once check by sequence number (the server dedups too).
        last = self.last_seq.get(batch.actor_id, batch.first_seq - 1)
        if batch.first_seq <= last:
            self.duplicated += last - batch.first_seq + 1
        elif batch.first_seq > last + 1:
            self.gaps += batch.first_seq - last - 1
        self.last_seq[batch.actor_id] = max(last, batch.last_seq)
        if self.kind == "replay":
            self.buffer.insert_many(
                d["observations"], d["actions"], d["rewards"], d["terminated"], d["truncated"],
                d["next_observations"], d["is_intervention"], d["episode_ids"], d["steps"],
            )
        else:
            n = len(batch)
            idx = (self.inserted + np.arange(n)) % self.capacity
            for k in self.obs:
                self.obs[k][idx] = d["observations"][k]
                self.next_obs[k][idx] = d["next_observations"][k]
            for k, arr in self.scalars.items():
                arr[idx] = d[k]
            self.actions[idx] = d["actions"]
        with self.lock:
            self.inserted += len(batch)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--actors", type=int, default=4)
    p.add_argument("--obs", choices=("pixels", "state"), default="pixels")
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--push_period", type=float, default=1.0)
    p.add_argument("--sink", choices=("replay", "ring"), default="replay")
    p.add_argument("--capacity", type=int, default=20_000)
    p.add_argument("--peer_python", default="",
                   help="python of a LeRobot env: also runs ../shared/peers/"
                        "lerobot_transport.py and reports the ratio")
    a = p.parse_args()

    from silri_jax.transport.server import LearnerServer

    spec = make_spec(a.obs)
    try:
        sink = Sink(spec, a.capacity, a.sink)
    except ImportError:
        sink = Sink(spec, a.capacity, "ring")
    server = LearnerServer(spec, CONFIG_HASH, sink, max_queue=16)
    ctx = mp.get_context("spawn")
    ready = [ctx.Event() for _ in range(a.actors)]
    go, stop, out = ctx.Event(), ctx.Event(), ctx.Queue()
    t0_wall = ctx.Value("d", 0.0)  # start of the measured window (wall clock)
    procs = [ctx.Process(target=run_actor, args=(i, server.address, a.obs, ready[i], go, stop,
                                                  out, t0_wall), daemon=True)
             for i in range(a.actors)]
    for pr in procs:
        pr.start()
    for ev in ready:
        if not ev.wait(120):
            raise SystemExit("an actor process did not start")

    version = [0]
    publish_stop = threading.Event()

    def publisher() -> None:
        while not publish_stop.is_set():
            version[0] += 1
            server.publish_params(version[0], actor_params(version[0]))
            publish_stop.wait(a.push_period)

    pub = threading.Thread(target=publisher, daemon=True)
    pub.start()
    go.set()
    time.sleep(min(2.0, a.seconds / 5))  # warm-up: connections, first params, JIT-free
    n0, t0 = sink.inserted, time.perf_counter()
    t0_wall.value = time.time()
    time.sleep(a.seconds)
    n1, t1 = sink.inserted, time.perf_counter()
    stop.set()
    results = [out.get(timeout=120) for _ in procs]
    for pr in procs:
        pr.join(30)
    publish_stop.set()
    pub.join()
    st = server.stats()
    server.stop(0)

    peer = run_peer(a.peer_python) if a.peer_python else None
    sent = sum(r["sent"] for r in results)
    stored = sum(sink.last_seq.values())
    push = np.asarray([m for r in results for m in r["push_ms"]] or [np.nan])
    print(json.dumps({
        "benchmark": "transport",
        "actors": a.actors,
        "obs": a.obs,
        "seconds": a.seconds,
        "sink": sink.kind,
        "transitions_per_s": round((n1 - n0) / (t1 - t0), 1),
        "mb_per_s": round((n1 - n0) * 2 * sum(s.nbytes for s in spec.observation.entries.values())
                          / (t1 - t0) / 1e6, 1),
        "param_push_ms_p50": round(float(np.percentile(push, 50)), 2),
        "param_push_ms_p99": round(float(np.percentile(push, 99)), 2),
        "param_pushes": int(push.size),
        "param_staleness_s_p99": round(max(r["staleness_p99"] for r in results), 3),
        "push_period_s": a.push_period,
        "sent": sent,
        "stored": int(sink.inserted),
        "lost": int(sent - stored + sink.gaps),
        "duplicated": int(sink.duplicated),
        "server_duplicates_dropped": st["duplicates"],
        "refused": st["refused_total"],
        "all_flushed": all(r["flushed"] for r in results),
        **peer_fields(peer, (n1 - n0) / (t1 - t0)),
    }))


def run_peer(python: str) -> dict[str, Any]:
    """LeRobot's transport on the same machine in the same invocation (after ours, so the
    two never compete for the CPU)."""
    return run_peer_script(python, "lerobot_transport.py", ["--episodes", "20", "--ep_len",
                                                            "100"], timeout=1200)


def peer_fields(peer: dict[str, Any] | None, ours: float) -> dict[str, Any]:
    if peer is None:
        return {}
    if "error" in peer:
        return {"peer_error": peer["error"]}
    theirs = float(peer["transitions_per_s"])
    return {"peer": peer.get("peer"), "peer_transitions_per_s": round(theirs, 1),
            "ratio_vs_peer": round(ours / theirs, 2) if theirs > 0 else None}


if __name__ == "__main__":
    main()
