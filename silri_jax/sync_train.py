"""Synchronous, single-process human-in-the-loop training.

One process steps the environment, lets the simulated operator intervene, fills the
buffers and runs a FIXED number of learner updates per environment step. Because nothing
runs concurrently, a run's result depends only on its config and seed, not on how fast the
machine is: this is the mode for sample-efficiency comparisons
(``benchmarks/sample_efficiency.py``). It reads the same config schema as the runtime
(``configs/train.py``; ``configs/sync_train.py`` picks the variant and the budget).

    python -m silri_jax.sync_train --config.runtime.env_steps=2000

The loop, over a ``silri_jax.training.Trainer``:
1. record ``demos.num`` operator demonstrations into ``D_I`` (or load ``demos.path``) and
   pre-train where the agent has pre-training (SiLRI: behaviour policy and a BC actor);
2. every env step: act with the stochastic policy, let the operator take over through the
   env's ``InterventionWrapper``, store the EXECUTED action (and gripper command) with
   ``is_intervention``; run the behaviour-policy steps that are due, then
   ``runtime.updates_per_env_step`` update calls;
3. every ``runtime.eval_every_steps`` steps, a deterministic evaluation without
   interventions;
4. at the end: final evaluation, the actor's parameters saved, one JSON line printed.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np

from silri_jax import config_files, envs
from silri_jax import status as status_fmt
from silri_jax.data.transitions import chunk_from_columns
from silri_jax.operators import record_demonstrations
from silri_jax.status import fit
from silri_jax.training import build
from silri_jax.training.logger import Logger
from silri_jax.training.policy import (
    EvalResult,
    batched,
    env_action,
    evaluate,
    floats,
    random_action,
    save_policy,
)
from silri_jax.training.trainer import Trainer

DEFAULT_CONFIG = config_files.CONFIG_DIR / "sync_train.py"
validate = build.validate_sync


def default_config() -> ml_collections.ConfigDict:
    """The config in ``configs/sync_train.py`` (the defaults of the synchronous loop)."""
    return config_files.sync_train_config()


def _offline_start(config: ml_collections.ConfigDict, env: Any, trainer: Trainer,
                   log: Logger, results: dict[str, Any]) -> None:
    """Demonstrations into ``D_I``, then pre-training."""
    d, seed = config.demos, int(config.seed)
    n_demo = 0
    if d.path:
        episodes = build.load_demo_episodes(config, envs.env_spec(env))
        n_demo = trainer.add_demos(episodes)
    elif int(d.num) > 0:
        t0 = time.time()
        demo_seed = build.DEMO_SEED_OFFSET + seed * 1000
        episodes = record_demonstrations(env, n=int(d.num), profile=d.profile, seed=demo_seed,
                                         operator=build.make_demo_operator(config, demo_seed))
        n_demo = trainer.add_demos(episodes)
        log.status(f"recorded {len(episodes)} demos ({n_demo} transitions) "
                   f"in {time.time() - t0:.1f}s", final=True)
    results["demo_transitions"] = n_demo
    total, t0 = trainer.pretrain_steps, time.time()

    def on_pretrain(done: int, metrics: Mapping[str, float]) -> None:
        log.scalars("pretrain", metrics, done)
        log.status("pre-training " + status_fmt.progress(
            done, total, done / max(time.time() - t0, 1e-9)))

    results["pretrain_steps"] = trainer.pretrain(on_pretrain)
    if results["pretrain_steps"]:
        log.status(f"pre-trained {total} steps in {time.time() - t0:.1f}s", final=True)


def train(config: ml_collections.ConfigDict, quiet: bool = False) -> dict[str, Any]:
    """Runs the synchronous loop described in the module docstring; returns the results
    (final evaluation, intervention rate, counts, timings, output paths)."""
    validate(config)
    t_start = time.time()
    r = config.runtime
    seed = int(config.seed)
    run_dir = pathlib.Path(r.run_dir)
    key = jax.random.PRNGKey(seed)
    log = Logger(str(run_dir / "tb"), quiet)

    # A teleop device (config.teleop.device) takes over through the bridge's mixer;
    # otherwise the task's operator does, in Python.
    device = build.make_teleop_device(config, seed)
    operator = None if device is not None else build.make_operator(config, seed)
    env, spec, agent = build.make_env_and_agent(config, operator, device=device)
    if device is not None:
        device.start()
    eval_env = build.make_eval_env(config)
    acfg = build.agent_config(config)
    key, init_key = jax.random.split(key)
    trainer = Trainer(agent, spec, acfg, int(r.replay_capacity), seed, init_key=init_key)
    results: dict[str, Any] = {"task": config.task.name, "algo": config.agent.algo,
                               "seed": seed}
    # every evaluation (env step 0 after pre-training, every eval_every_steps, the final
    # one) and the intervention rate of every logging window: the curves a benchmark plots
    eval_history: list[dict[str, float]] = []
    intervention_history: list[dict[str, float]] = []
    eval_episodes, eval_seed = int(r.eval_episodes_during), int(r.eval_seed)

    # 1. demonstrations into D_I, then pre-training.
    _offline_start(config, env if device is None else eval_env, trainer, log, results)
    if results["pretrain_steps"] > 0:
        pre = evaluate(eval_env, agent, trainer.actor_params(), eval_episodes, eval_seed)
        log.scalars("eval", dataclasses.asdict(pre), 0)
        results["pretrain_eval"] = dataclasses.asdict(pre)
        eval_history.append({"env_step": 0, **dataclasses.asdict(pre)})
        log.status(f"after pre-training: success {pre.success_rate:.2f} "
                   f"length {pre.mean_episode_length:.1f}", final=True)

    # 2. online interaction.
    env_steps, every_eval = int(r.env_steps), int(r.eval_every_steps)
    log_every, per_step = int(r.log_every_steps), int(r.updates_per_env_step)
    actor_params = trainer.actor_params()
    counts = {"interventions": 0, "episodes": 0, "successes": 0, "takeovers": 0}
    window = {"steps": 0, "interventions": 0, "updates": 0, "t": time.time()}
    recent: list[dict[str, float]] = []
    last_metrics: dict[str, float] = {}
    last_eval: EvalResult | None = None
    episode = 0
    obs, _ = env.reset(seed=seed * 100_000 + episode)
    ep_len, ep_ret, ep_interv, prev_interv = 0, 0.0, 0, False
    has_gripper = spec.action.has_gripper
    for step in range(1, env_steps + 1):
        if step <= int(r.random_steps):
            action = random_action(trainer.rng, spec)
        else:
            key, act_key = jax.random.split(key)
            a, g = agent.act(actor_params, batched(obs), act_key, deterministic=False)
            action = env_action(a, g, has_gripper)
        next_obs, reward, terminated, truncated, info = env.step(action)
        is_interv = bool(info["is_intervention"])
        row = {"observations": obs, "next_observations": next_obs,
               "actions": np.asarray(info["executed_action"], np.float32),
               "rewards": float(reward), "terminated": terminated, "truncated": truncated,
               "is_intervention": is_interv, "episode_ids": episode, "steps": ep_len}
        if has_gripper:
            row["gripper_actions"] = int(info["executed_gripper_action"])
        trainer.ingest(chunk_from_columns(spec, {k: (
            {kk: np.asarray(vv)[None] for kk, vv in v.items()} if isinstance(v, Mapping)
            else np.asarray(v)[None]) for k, v in row.items()}))
        if is_interv:
            counts["interventions"] += 1
            window["interventions"] += 1
            ep_interv += 1
            counts["takeovers"] += int(not prev_interv)
        prev_interv = is_interv
        ep_len, ep_ret = ep_len + 1, ep_ret + float(reward)
        window["steps"] += 1
        obs = next_obs

        # SiLRI's behaviour policy: beta_steps NLL steps per beta_every new interventions.
        beta = trainer.behavior_steps()
        if beta is not None:
            log.scalars("beta", beta, step)

        if step > int(r.start_training_after) and trainer.ready():
            for _ in range(per_step):
                metrics = trainer.update()
                window["updates"] += 1
            if per_step > 0:
                actor_params = trainer.actor_params()
                if step % log_every == 0:
                    last_metrics = floats(metrics)

        if terminated or truncated:
            success = bool(info.get("success", False))
            counts["episodes"] += 1
            counts["successes"] += int(success)
            recent.append({"success": float(success), "return": ep_ret, "length": ep_len,
                           "intervention_rate": ep_interv / ep_len})
            if "sim_success" in info:  # a learned reward judged; the simulator's beside it
                recent[-1]["sim_success"] = float(bool(info["sim_success"]))
            log.scalars("episode", recent[-1], step)
            episode += 1
            obs, _ = env.reset(seed=seed * 100_000 + episode)
            ep_len, ep_ret, ep_interv, prev_interv = 0, 0.0, 0, False

        if every_eval and step % every_eval == 0 and step < env_steps:
            last_eval = evaluate(eval_env, agent, actor_params, eval_episodes, eval_seed)
            log.scalars("eval", dataclasses.asdict(last_eval), step)
            eval_history.append({"env_step": step, **dataclasses.asdict(last_eval)})

        if step % log_every == 0 or step == env_steps:
            window = _log_window(log, step, env_steps, window, last_metrics, recent,
                                 last_eval, intervention_history, trainer)

    # 3. final evaluation and outputs.
    final = evaluate(eval_env, agent, actor_params, int(r.eval_episodes), eval_seed)
    log.scalars("eval", dataclasses.asdict(final), env_steps)
    eval_history.append({"env_step": env_steps, **dataclasses.asdict(final)})
    results.update(
        success_rate=final.success_rate,
        mean_episode_length=final.mean_episode_length,
        mean_return=final.mean_return,
        intervention_rate=counts["interventions"] / env_steps,
        env_steps=env_steps,
        train_episodes=counts["episodes"],
        train_success_rate=counts["successes"] / max(counts["episodes"], 1),
        updates=trainer.updates,
        beta_steps=trainer.beta_steps,
        takeovers=counts["takeovers"],
        d_r_size=len(trainer.d_r),
        d_i_size=len(trainer.d_i),
        d_i_interventions=len(trainer.d_i) - results["demo_transitions"],
        eval_history=eval_history,
        intervention_history=intervention_history,
    )
    results["policy_path"] = str(save_policy(run_dir / "policy.npz", actor_params, spec, acfg))
    if r.checkpoint_at_end:
        from silri_jax.checkpoint import Checkpointer

        with Checkpointer(run_dir / "checkpoints", async_save=False) as ckpt:
            ckpt.save(int(trainer.state.step), trainer.state,
                      metadata={"config": json.loads(config.to_json()),
                                "spec": spec.to_dict()}, force=True)
        results["checkpoint_dir"] = str(run_dir / "checkpoints")
    if device is not None:
        device.close()
    log.close()
    results["wall_s"] = time.time() - t_start
    results["log_dir"] = str(run_dir / "tb")
    return results


def _log_window(log: Logger, step: int, env_steps: int, window: dict[str, float],
                last_metrics: Mapping[str, float], recent: list[dict[str, float]],
                last_eval: EvalResult | None, intervention_history: list[dict[str, float]],
                trainer: Trainer) -> dict[str, float]:
    """TensorBoard scalars and the status line for the window that ends at ``step``."""
    now = time.time()
    dt = max(now - window["t"], 1e-9)
    perf = {"env_steps_per_s": window["steps"] / dt,
            "updates_per_s": window["updates"] / dt,
            "intervention_rate": window["interventions"] / max(window["steps"], 1),
            "d_r_size": len(trainer.d_r), "d_i_size": len(trainer.d_i),
            "beta_steps": trainer.beta_steps}
    log.scalars("train", last_metrics, step)
    log.scalars("perf", perf, step)
    intervention_history.append({"env_step": step,
                                 "intervention_rate": perf["intervention_rate"]})
    tail = recent[-10:]
    succ = np.mean([x["success"] for x in tail]) if tail else float("nan")
    lam = last_metrics.get("lambda_mean")
    log.status(fit([
        status_fmt.progress(step, env_steps, perf["env_steps_per_s"]),
        f"success {status_fmt.percent(succ)}",
        *([f"eval {status_fmt.percent(last_eval.success_rate)}"]
          if last_eval is not None else []),
        f"human {status_fmt.percent(perf['intervention_rate'])}",
        f"{perf['updates_per_s']:.0f} updates/s",
        *([f"lambda {lam:.2f}"] if lam is not None else []),
    ], log.line.width))
    return {"steps": 0, "interventions": 0, "updates": 0, "t": now}


def final_line(results: Mapping[str, Any]) -> str:
    """The one JSON evaluation line the run ends with."""
    keys = ("task", "algo", "seed", "success_rate", "mean_episode_length", "mean_return",
            "intervention_rate", "env_steps", "updates", "wall_s")
    return json.dumps({"event": "final_eval", **{k: results[k] for k in keys}})


def main(argv: list[str]) -> None:
    from absl import logging as absl_logging

    # Orbax and JAX log every save step at INFO; the terminal is for the status line.
    absl_logging.set_verbosity(absl_logging.WARNING)
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    results = train(_CONFIG.value)
    print(final_line(results), flush=True)


if __name__ == "__main__":
    from silri_jax import cli

    _CONFIG = cli.define_config("configs/sync_train.py", "training config",
                                "silri_jax.sync_train")
    cli.run(main, prog="silri_jax.sync_train", summary=__doc__.split("\n\n")[0],
            default_config="configs/sync_train.py", config_holder=_CONFIG, validate=validate)
