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
from silri_jax.training import build, rollout
from silri_jax.training.logger import Logger
from silri_jax.training.policy import EvalResult, evaluate, floats, save_policy
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
    run = _SyncRun(config, quiet)
    try:
        run.offline_start()
        for step in range(1, run.env_steps + 1):
            run.collect(step)
            run.learn(step)
            run.evaluate_if_due(step)
            run.log_if_due(step)
        return run.finish()
    finally:
        run.close()


class _SyncRun:
    """The state of one synchronous run: env, agent and trainer, the episode in progress,
    the counters and the histories the results report."""

    def __init__(self, config: ml_collections.ConfigDict, quiet: bool) -> None:
        self.t_start = time.time()
        self.config, r = config, config.runtime
        self.seed = int(config.seed)
        self.run_dir = pathlib.Path(r.run_dir)
        self.key = jax.random.PRNGKey(self.seed)
        self.log = Logger(str(self.run_dir / "tb"), quiet)
        # A teleop device (config.teleop.device) takes over through the bridge's mixer;
        # otherwise the task's operator does, in Python.
        self.device = build.make_teleop_device(config, self.seed)
        operator = None if self.device is not None else build.make_operator(config, self.seed)
        self.env, self.spec, self.agent = build.make_env_and_agent(config, operator,
                                                                   device=self.device)
        if self.device is not None:
            self.device.start()
        self.eval_env = build.make_eval_env(config)
        self.acfg = build.agent_config(config)
        self.key, init_key = jax.random.split(self.key)
        self.trainer = Trainer(self.agent, self.spec, self.acfg, int(r.replay_capacity),
                               self.seed, init_key=init_key)
        self.results: dict[str, Any] = {"task": config.task.name, "algo": config.agent.algo,
                                        "seed": self.seed}
        # every evaluation (env step 0 after pre-training, every eval_every_steps, the
        # final one) and the intervention rate of every logging window: the curves a
        # benchmark plots
        self.eval_history: list[dict[str, float]] = []
        self.intervention_history: list[dict[str, float]] = []
        self.env_steps = int(r.env_steps)
        self.run_tally = rollout.Tally()
        self.episodes = self.successes = 0
        self.window = {"steps": 0, "interventions": 0, "updates": 0, "t": time.time()}
        self.recent: list[dict[str, float]] = []
        self.last_metrics: dict[str, float] = {}
        self.last_eval: EvalResult | None = None
        self.actor_params: Any = None
        self.obs: Any = None
        self.tally = rollout.Tally()

    def _evaluate(self, step: int, episodes: int) -> EvalResult:
        r = self.config.runtime
        result = evaluate(self.eval_env, self.agent, self.actor_params, episodes,
                          int(r.eval_seed))
        self.log.scalars("eval", dataclasses.asdict(result), step)
        self.eval_history.append({"env_step": step, **dataclasses.asdict(result)})
        return result

    def offline_start(self) -> None:
        """Demonstrations and pre-training, the evaluation after it, the first reset."""
        _offline_start(self.config, self.env if self.device is None else self.eval_env,
                       self.trainer, self.log, self.results)
        self.actor_params = self.trainer.actor_params()
        if self.results["pretrain_steps"] > 0:
            pre = self._evaluate(0, int(self.config.runtime.eval_episodes_during))
            self.results["pretrain_eval"] = dataclasses.asdict(pre)
            self.log.status(f"after pre-training: success {pre.success_rate:.2f} "
                            f"length {pre.mean_episode_length:.1f}", final=True)
        self.obs, _ = self.env.reset(seed=self.seed * 100_000)

    def collect(self, step: int) -> None:
        """One env step into the buffers; at an episode's end, its statistics and a reset."""
        explore = step <= int(self.config.runtime.random_steps)
        action, self.key = rollout.choose_action(self.agent, self.actor_params, self.obs,
                                                 self.key, self.trainer.rng, self.spec, explore)
        next_obs, reward, terminated, truncated, info = self.env.step(action)
        row = rollout.transition_row(self.obs, next_obs, reward, terminated, truncated, info,
                                     self.episodes, self.tally.length,
                                     self.spec.action.has_gripper)
        self.trainer.ingest(chunk_from_columns(self.spec, rollout.row_as_columns(row)))
        is_interv = bool(row["is_intervention"])
        self.tally.add(reward, is_interv)
        self.run_tally.add(reward, is_interv)
        self.window["steps"] += 1
        self.window["interventions"] += int(is_interv)
        self.obs = next_obs
        # SiLRI's behaviour policy: beta_steps NLL steps per beta_every new interventions.
        beta = self.trainer.behavior_steps()
        if beta is not None:
            self.log.scalars("beta", beta, step)
        if terminated or truncated:
            self._end_episode(step, bool(info.get("success", False)), info)

    def _end_episode(self, step: int, success: bool, info: Mapping[str, Any]) -> None:
        self.episodes += 1
        self.successes += int(success)
        t = self.tally
        self.recent.append({"success": float(success), "return": t.ret, "length": t.length,
                            "intervention_rate": t.intervention_rate})
        if "sim_success" in info:  # a learned reward judged; the simulator's beside it
            self.recent[-1]["sim_success"] = float(bool(info["sim_success"]))
        self.log.scalars("episode", self.recent[-1], step)
        self.obs, _ = self.env.reset(seed=self.seed * 100_000 + self.episodes)
        self.tally = rollout.Tally()
        self.run_tally.new_episode()

    def learn(self, step: int) -> None:
        """``runtime.updates_per_env_step`` update calls once training has started."""
        r = self.config.runtime
        per_step = int(r.updates_per_env_step)
        if step <= int(r.start_training_after) or not self.trainer.ready():
            return
        for _ in range(per_step):
            metrics = self.trainer.update()
            self.window["updates"] += 1
        if per_step > 0:
            self.actor_params = self.trainer.actor_params()
            if step % int(r.log_every_steps) == 0:
                self.last_metrics = floats(metrics)

    def evaluate_if_due(self, step: int) -> None:
        every = int(self.config.runtime.eval_every_steps)
        if every and step % every == 0 and step < self.env_steps:
            self.last_eval = self._evaluate(step, int(self.config.runtime.eval_episodes_during))

    def log_if_due(self, step: int) -> None:
        if step % int(self.config.runtime.log_every_steps) == 0 or step == self.env_steps:
            self.window = _log_window(self.log, step, self.env_steps, self.window,
                                      self.last_metrics, self.recent, self.last_eval,
                                      self.intervention_history, self.trainer)

    def finish(self) -> dict[str, Any]:
        """The final evaluation, the policy file, the checkpoint, and the results."""
        r, trainer, results = self.config.runtime, self.trainer, self.results
        final = self._evaluate(self.env_steps, int(r.eval_episodes))
        results.update(
            success_rate=final.success_rate,
            mean_episode_length=final.mean_episode_length,
            mean_return=final.mean_return,
            intervention_rate=self.run_tally.interventions / self.env_steps,
            env_steps=self.env_steps,
            train_episodes=self.episodes,
            train_success_rate=self.successes / max(self.episodes, 1),
            updates=trainer.updates,
            beta_steps=trainer.beta_steps,
            takeovers=self.run_tally.takeovers,
            d_r_size=len(trainer.d_r),
            d_i_size=len(trainer.d_i),
            d_i_interventions=len(trainer.d_i) - results["demo_transitions"],
            eval_history=self.eval_history,
            intervention_history=self.intervention_history,
        )
        results["policy_path"] = str(save_policy(self.run_dir / "policy.npz",
                                                 self.actor_params, self.spec, self.acfg))
        if r.checkpoint_at_end:
            from silri_jax.checkpoint import Checkpointer

            with Checkpointer(self.run_dir / "checkpoints", async_save=False) as ckpt:
                ckpt.save(int(trainer.state.step), trainer.state,
                          metadata={"config": json.loads(self.config.to_json()),
                                    "spec": self.spec.to_dict()}, force=True)
            results["checkpoint_dir"] = str(self.run_dir / "checkpoints")
        results["wall_s"] = time.time() - self.t_start
        results["log_dir"] = str(self.run_dir / "tb")
        return results

    def close(self) -> None:
        if self.device is not None:
            self.device.close()
        self.log.close()


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
