"""One process of ``test_multihost.py``: a miniature SiLRI learner on a seeded synthetic
replay of the pick_cube state spec (25-d state, 3-d action and a gripper).

    python tests/runtime/multihost_worker.py --out OUT --updates 20 [--checkpoint DIR] \
        [--coordinator_address HOST:PORT --num_processes N --process_id I]

Process 0 (or the only process) fills ``D_R``/``D_I`` with the same seeded transitions,
pre-trains, then runs ``--updates`` trainer steps (the beta steps that fall due, then one
UTD group each), ingesting a few transitions before each; with several processes every
batch call is shared through ``runtime.follower.Leader`` and the others follow. Every
process writes its final parameters to ``OUT.<process>.npz`` and prints one JSON line.
With ``--checkpoint``, process 0 alone also saves the final state there with the learner's
``Checkpointer`` and restores it (the host-copy path of a state spread over processes).
The device count is fixed by ``XLA_FLAGS`` in the environment.
"""

from __future__ import annotations

import argparse
import json

import numpy as np

STATE_DIM, ACTION_DIM = 25, 3  # the pick_cube state spec


def agent_config():
    from silri_jax.agents import get_config

    cfg = get_config("silri")
    cfg.network.hidden_dims = (32, 32)
    cfg.network.latent_dim = 16
    cfg.batch_size = 32
    cfg.utd = 2
    cfg.pretrain_steps = 4
    cfg.beta_every = 24  # a round of beta steps every few updates
    cfg.beta_steps = 2
    return cfg


def chunk(spec, rng: np.random.Generator, n: int, first_id: int):
    from silri_jax.data.transitions import chunk_from_columns

    return chunk_from_columns(spec, {
        "observations": {"state": rng.normal(size=(n, STATE_DIM)).astype(np.float32)},
        "next_observations": {"state": rng.normal(size=(n, STATE_DIM)).astype(np.float32)},
        "actions": rng.uniform(-0.9, 0.9, size=(n, ACTION_DIM)).astype(np.float32),
        "rewards": rng.normal(size=n).astype(np.float32),
        "terminated": (rng.random(n) < 0.1).astype(np.uint8),
        "truncated": np.zeros(n, np.uint8),
        "is_intervention": (rng.random(n) < 0.5).astype(np.uint8),
        "episode_ids": np.arange(first_id, first_id + n, dtype=np.int64),
        "steps": np.zeros(n, np.int64),
        "gripper_actions": rng.integers(0, 3, size=n).astype(np.int32),
    })


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--updates", type=int, default=20)
    ap.add_argument("--checkpoint", default="")
    ap.add_argument("--coordinator_address", default="")
    ap.add_argument("--num_processes", type=int, default=None)
    ap.add_argument("--process_id", type=int, default=None)
    args = ap.parse_args()

    from silri_jax import distributed

    info = distributed.initialize(args.coordinator_address, args.num_processes,
                                  args.process_id)
    import jax
    from flax import traverse_util

    from silri_jax import specs
    from silri_jax.agents import make_agent
    from silri_jax.runtime import follower
    from silri_jax.training.trainer import Trainer

    spec = specs.state_env_spec(STATE_DIM, ACTION_DIM, has_gripper=True)
    cfg = agent_config()
    agent = make_agent(cfg, spec, devices=jax.devices())
    result = {"process": info.index, "processes": info.count,
              "devices": len(jax.devices()), "local_devices": jax.local_device_count()}
    if info.is_leader:
        trainer = Trainer(agent, spec, cfg, capacity=4096, seed=0)
        leader = follower.Leader(agent) if info.count > 1 else None
        if leader is not None:
            trainer.state = leader.share_state(trainer.state)
        rng = np.random.default_rng(1)
        trainer.ingest(chunk(spec, rng, 256, 0))
        import time
        t0 = time.time()
        trainer.pretrain()
        t1 = time.time()
        for i in range(args.updates):
            trainer.ingest(chunk(spec, rng, 8, 1000 + 8 * i))
            trainer.step()
            if i == 0:
                jax.block_until_ready(trainer.state)
                t2 = time.time()
        jax.block_until_ready(trainer.state)
        result["t"] = [t1 - t0, t2 - t1, time.time() - t2]
        state = trainer.state
        if leader is not None:
            leader.stop("done")
            result["calls"] = leader.calls
        result["beta_steps"] = trainer.beta_steps
        result["updates"] = trainer.updates
        if args.checkpoint:
            from silri_jax.checkpoint import Checkpointer

            with Checkpointer(args.checkpoint, async_save=False) as ckpt:
                ckpt.save(1, state, metadata={"processes": info.count})
                restored, _ = ckpt.restore(state)
            result["restored_equal"] = all(
                np.array_equal(np.asarray(a), np.asarray(b))
                for a, b in zip(jax.tree.leaves(restored), jax.tree.leaves(state), strict=True))
            result["restored_types"] = sorted({type(x).__name__
                                               for x in jax.tree.leaves(restored)})
    else:
        state, summary = follower.follow(agent, agent.init(jax.random.PRNGKey(123)))
        result["calls"] = sum(summary["calls"].values())
    flat = traverse_util.flatten_dict(jax.device_get(state.params), sep="/")
    np.savez(f"{args.out}.{info.index}.npz", **{k: np.asarray(v) for k, v in flat.items()},
             step=np.asarray(state.step), beta_updates=np.asarray(
                 state.counters["beta_updates"]))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
