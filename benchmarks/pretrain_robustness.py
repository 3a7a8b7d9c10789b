"""Pre-training robustness: how often SiLRI's pre-training alone gives a working policy.

    python benchmarks/pretrain_robustness.py --task pick_cube --inits 5

One demonstration set (``--demos`` episodes recorded by the ``--demo_profile`` operator,
seeded by ``--demo_seed``) and SiLRI's pre-training (behaviour cloning of the actor and
the NLL fit of the behaviour policy beta, ``--pretrain_steps`` steps, the quickstart's
network sizes) repeated for ``--inits`` network initialisations. For each it evaluates,
deterministically and without interventions on the fixed evaluation seeds:

- ``actor``: the pre-trained actor (what SiLRI's online phase starts from);
- ``beta_mean``: beta's mean action with the actor's gripper head (what the actor is pulled
  towards when lambda is large).

and reports the squared distance D between the two along the actor's own evaluation
episodes. It separates what pre-training gives from what online learning then does with
it: if the policy works for some initialisations and not for others, it sits on a narrow
ridge, and a small parameter change (one online update) can move it off. Prints one JSON
line.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from silri_jax import envs, sync_train  # noqa: E402
from silri_jax.agents import make_agent  # noqa: E402
from silri_jax.data import ReplayBuffer  # noqa: E402
from silri_jax.data.demos import insert_demos  # noqa: E402
from silri_jax.operators import record_demonstrations  # noqa: E402
from silri_jax.training import build  # noqa: E402
from silri_jax.training.policy import batched, env_action, host_actor_params  # noqa: E402
from silri_jax.training.trainer import run_pretraining  # noqa: E402


def rollout(env: Any, agent: Any, state: Any, actor_params: Any, use_beta: bool,
            episodes: int) -> dict[str, float]:
    """Deterministic episodes on the evaluation seeds; the continuous action is the actor's
    or beta's mean, the gripper command always the actor's gripper head."""
    key = jax.random.PRNGKey(0)  # unused by deterministic acting
    successes, lengths, dists = [], [], []
    for i in range(episodes):
        obs, _ = env.reset(seed=build.EVAL_SEED_OFFSET + i)
        done, length, info = False, 0, {}
        while not done:
            one = batched(obs)
            action, gripper = agent.act(actor_params, one, key, deterministic=True)
            feats = agent.features(state.frozen, one, None)
            mu_beta, _ = agent.behavior(state.params["beta"], feats)
            dists.append(float(jnp.sum((mu_beta - action) ** 2)))
            chosen = np.asarray(mu_beta) if use_beta else action
            obs, _, term, trunc, info = env.step(
                env_action(chosen, gripper, agent.has_gripper))
            length, done = length + 1, bool(term or trunc)
        successes.append(float(bool(info.get("success", False))))
        lengths.append(length)
    return {"success_rate": float(np.mean(successes)),
            "mean_episode_length": float(np.mean(lengths)),
            "distance_mean": float(np.mean(dists)),
            "distance_p90": float(np.percentile(dists, 90))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--task", choices=["pick_cube", "insert_peg", "open_drawer"],
                   default="pick_cube")
    p.add_argument("--inits", type=int, default=5, help="network initialisations")
    p.add_argument("--demos", type=int, default=20)
    p.add_argument("--demo_profile", default="expert")
    p.add_argument("--demo_seed", type=int, default=build.DEMO_SEED_OFFSET)
    p.add_argument("--pretrain_steps", type=int, default=1000)
    p.add_argument("--eval_episodes", type=int, default=10)
    args = p.parse_args(argv)
    if args.inits <= 0 or args.pretrain_steps <= 0 or args.eval_episodes <= 0:
        p.error("--inits, --pretrain_steps and --eval_episodes must be positive")

    t0 = time.time()
    config = sync_train.default_config()
    config.task.name = args.task
    env = build.make_env(config, None)
    spec = envs.env_spec(env)
    acfg = build.agent_config(config)
    agent = make_agent(acfg, spec)
    demos_buffer = ReplayBuffer(spec, 100_000)
    demos = record_demonstrations(env, n=args.demos, profile=args.demo_profile,
                                  seed=args.demo_seed)
    transitions = insert_demos(demos_buffer, demos)

    runs = []
    for init in range(args.inits):
        state = agent.init(jax.random.PRNGKey(init))
        rng = np.random.default_rng(init)
        state, metrics = run_pretraining(
            agent, state,
            lambda n, rng=rng: demos_buffer.sample(rng, acfg.batch_size, n, decode=False),
            args.pretrain_steps)
        actor_params = host_actor_params(agent, state)
        runs.append({
            "init": init,
            "actor": rollout(env, agent, state, actor_params, False, args.eval_episodes),
            "beta_mean": rollout(env, agent, state, actor_params, True, args.eval_episodes),
            "bc_loss": float(metrics["actor_bc_loss"]),
            "beta_sigma": float(metrics["beta_sigma"]),
        })
    actor_ok = [r["actor"]["success_rate"] for r in runs]
    beta_ok = [r["beta_mean"]["success_rate"] for r in runs]
    result = {
        "benchmark": "pretrain_robustness", "task": args.task, "algo": "silri",
        "demos": args.demos, "demo_profile": args.demo_profile,
        "demo_transitions": transitions, "pretrain_steps": args.pretrain_steps,
        "eval_episodes": args.eval_episodes,
        "actor_success_mean": float(np.mean(actor_ok)),
        "beta_mean_success_mean": float(np.mean(beta_ok)),
        "runs": runs, "wall_s": round(time.time() - t0, 1),
    }
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    main()
