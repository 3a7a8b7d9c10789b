"""One learner over several processes against one process with as many devices: the same
SiLRI updates, the parameter difference and the update rate, one JSON line.

    python benchmarks/multihost.py --processes 2 --devices_per_process 2

Starts ``--processes`` local processes with ``--devices_per_process`` forced CPU devices
each (``jax.distributed`` with gloo collectives, a coordinator on a free local port):
process 0 broadcasts each update's batch to the others (``runtime.follower.Leader``, as
the learner does) and all run the update over the global mesh. Then, in a fresh process,
the same updates on the same batches with ``processes x devices_per_process`` devices in
one process. The agent is the pick_cube state learner's (``silri_pick_cube_state``:
hidden 128x128, batch 128, UTD 2, 25-d state, 3-d action and gripper); each update call
gets its own seeded random batch.

Reported: ``max_abs_param_diff`` (every parameter, multi-process vs one process, after
all updates), ``follower_max_abs_diff`` (process 0 vs the others: 0 when they hold one
state), ``updates_per_s`` (multi-process, after ``--warmup`` compiled calls, the
broadcast included) and ``single_process_updates_per_s`` with the same devices.
On one machine the processes share its cores and talk over loopback TCP: this shows the
path is right, not what separate GPU nodes gain.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import socket
import subprocess
import sys
import tempfile
import time

import numpy as np

STATE_DIM, ACTION_DIM = 25, 3  # the pick_cube state spec


def _args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=2)
    ap.add_argument("--devices_per_process", type=int, default=2)
    ap.add_argument("--updates", type=int, default=20, help="timed update calls")
    ap.add_argument("--warmup", type=int, default=2, help="untimed first calls (compile)")
    ap.add_argument("--timeout_s", type=float, default=1200.0)
    # the worker role (started by the launcher)
    ap.add_argument("--worker_dir", default="", help=argparse.SUPPRESS)
    ap.add_argument("--coordinator_address", default="", help=argparse.SUPPRESS)
    ap.add_argument("--num_processes", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--process_id", type=int, default=None, help=argparse.SUPPRESS)
    return ap.parse_args(argv)


def _agent_config():
    from silri_jax import config_files
    from silri_jax.training import build

    return build.agent_config(config_files.train_config("silri_pick_cube_state"))


def _batch(spec, cfg, seed: int) -> dict:
    rng = np.random.default_rng(seed)
    u, n = int(cfg.utd), int(cfg.batch_size)

    def obs() -> dict:
        return {"state": rng.normal(size=(u, n, STATE_DIM)).astype(np.float32)}

    return {"observations": obs(), "next_observations": obs(),
            "actions": rng.uniform(-0.9, 0.9, (u, n, ACTION_DIM)).astype(np.float32),
            "rewards": rng.normal(size=(u, n)).astype(np.float32),
            "terminated": (rng.random((u, n)) < 0.05).astype(np.float32),
            "truncated": np.zeros((u, n), np.float32),
            "is_intervention": (rng.random((u, n)) < 0.5).astype(np.float32),
            "gripper_actions": rng.integers(0, 3, (u, n)).astype(np.int32)}


def worker(args: argparse.Namespace) -> None:
    from silri_jax import distributed

    info = distributed.initialize(args.coordinator_address, args.num_processes,
                                  args.process_id)
    import jax
    from flax import traverse_util

    from silri_jax import specs
    from silri_jax.agents import make_agent
    from silri_jax.runtime import follower

    spec = specs.state_env_spec(STATE_DIM, ACTION_DIM, has_gripper=True)
    cfg = _agent_config()
    agent = make_agent(cfg, spec, devices=jax.devices())
    state = agent.init(jax.random.PRNGKey(0))
    out: dict = {"process": info.index, "devices": len(jax.devices())}
    if info.is_leader:
        leader = follower.Leader(agent) if info.count > 1 else None
        if leader is not None:
            state = leader.share_state(state)
        for i in range(args.warmup):
            state, _ = agent.update(state, _batch(spec, cfg, i))
        jax.block_until_ready(state)
        batches = [_batch(spec, cfg, args.warmup + i) for i in range(args.updates)]
        t0 = time.perf_counter()
        for b in batches:
            state, _ = agent.update(state, b)
        jax.block_until_ready(state)
        out["updates_per_s"] = args.updates / (time.perf_counter() - t0)
        if leader is not None:
            leader.stop("done")
    else:
        state, summary = follower.follow(agent, state)
        out["calls"] = summary["calls"]
    flat = traverse_util.flatten_dict(jax.device_get(state.params), sep="/")
    d = pathlib.Path(args.worker_dir)
    np.savez(d / f"params-{info.count}-{info.index}.npz", **flat)
    (d / f"result-{info.count}-{info.index}.json").write_text(json.dumps(out))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(args: argparse.Namespace, d: pathlib.Path, processes: int, devices: int
           ) -> list[subprocess.Popen]:
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")
    base = [sys.executable, __file__, f"--worker_dir={d}", f"--updates={args.updates}",
            f"--warmup={args.warmup}"]
    if processes > 1:
        base += [f"--coordinator_address=127.0.0.1:{_free_port()}",
                 f"--num_processes={processes}"]
    ps = []
    for i in range(processes):
        cmd = base + ([f"--process_id={i}"] if processes > 1 else [])
        ps.append(subprocess.Popen(cmd, env=env, stdout=open(d / f"log-{processes}-{i}", "w"),
                                   stderr=subprocess.STDOUT))
    return ps


def _wait(ps: list[subprocess.Popen], d: pathlib.Path, processes: int, timeout: float
          ) -> None:
    deadline = time.monotonic() + timeout
    for i, p in enumerate(ps):
        try:
            rc = p.wait(max(deadline - time.monotonic(), 1))
        except subprocess.TimeoutExpired:
            for q in ps:
                q.kill()
            rc = "timeout"
        if rc != 0:
            tail = (d / f"log-{processes}-{i}").read_text(errors="replace")[-3000:]
            sys.exit(f"process {i} of {processes}: {rc}\n{tail}")


def _max_diff(a: np.lib.npyio.NpzFile, b: np.lib.npyio.NpzFile) -> float:
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a.files)


def main() -> None:
    args = _args()
    if args.worker_dir:
        worker(args)
        return
    n, m = args.processes, args.devices_per_process
    if n < 2 or m < 1:
        sys.exit("--processes must be >= 2 and --devices_per_process >= 1")
    with tempfile.TemporaryDirectory() as tmp:
        d = pathlib.Path(tmp)
        # one after the other, so neither run's rate includes the other's load
        _wait(_start(args, d, n, m), d, n, args.timeout_s)
        _wait(_start(args, d, 1, n * m), d, 1, args.timeout_s)
        multi = [np.load(d / f"params-{n}-{i}.npz") for i in range(n)]
        single = np.load(d / "params-1-0.npz")
        r_multi = json.loads((d / f"result-{n}-0.json").read_text())
        r_single = json.loads((d / "result-1-0.json").read_text())
        followers = [json.loads((d / f"result-{n}-{i}.json").read_text()) for i in range(1, n)]
        cfg = _agent_config()
        print(json.dumps({
            "benchmark": "multihost", "processes": n, "devices_per_process": m,
            "devices": r_multi["devices"], "backend": "cpu (gloo collectives)",
            "algo": "silri", "batch": int(cfg.batch_size), "utd": int(cfg.utd),
            "hidden_dims": list(cfg.network.hidden_dims), "updates": args.updates,
            "max_abs_param_diff": _max_diff(multi[0], single),
            "max_abs_param": max(float(np.max(np.abs(single[k]))) for k in single.files),
            "follower_max_abs_diff": max(_max_diff(multi[0], f) for f in multi[1:]),
            "follower_calls": [f["calls"].get("update", 0) for f in followers],
            "updates_per_s": round(r_multi["updates_per_s"], 3),
            "single_process_updates_per_s": round(r_single["updates_per_s"], 3),
        }), flush=True)


if __name__ == "__main__":
    main()
