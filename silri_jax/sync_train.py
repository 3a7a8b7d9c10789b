"""Synchronous, single-process human-in-the-loop training.

One process steps the environment, lets the simulated operator intervene, fills the
buffers and runs a FIXED number of learner updates per environment step. Because nothing
runs concurrently, a run's result depends only on its config and seed, not on how fast the
machine is: this is the mode for sample-efficiency comparisons
(``benchmarks/sample_efficiency.py``).
The quickstart's main job is the asynchronous runtime (``silri_jax.launch``), which paces
its actors to the same one update call per env step.

    python -m silri_jax.sync_train --config=configs/sync_train.py --config.env_steps=2000

The loop:
1. record ``num_demos`` operator demonstrations into ``D_I`` and pre-train where the agent
   has pre-training (SiLRI: behaviour policy and a BC actor);
2. every env step: act with the stochastic policy, let the operator take over through the
   env's ``InterventionWrapper``, store the EXECUTED action (and gripper command) in ``D_R``
   and, for interventions, also in ``D_I`` with ``is_intervention`` set; feed the count of
   new intervention transitions to SiLRI's beta schedule; run ``updates_per_env_step``
   update calls on batches drawn per ``agent.batch_source``;
3. every ``eval_every`` steps, a deterministic evaluation without interventions;
4. at the end: final evaluation, the actor's parameters saved, one JSON line printed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import time
from collections.abc import Callable, Mapping
from typing import Any

import jax
import ml_collections
import numpy as np
from flax import traverse_util

from silri_jax import config_files, envs
from silri_jax import status as status_fmt
from silri_jax.agents import get_config as get_agent_config
from silri_jax.agents import make_agent
from silri_jax.agents.base import Agent, AgentState
from silri_jax.agents.config import apply_overrides
from silri_jax.agents.config import validate as validate_agent_config
from silri_jax.data import MixedSampler, ReplayBuffer, insert_demos
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.operators import SimulatedOperator, record_demonstrations
from silri_jax.specs import EnvSpec
from silri_jax.status import Status, fit

DEFAULT_CONFIG = config_files.CONFIG_DIR / "sync_train.py"
OBS_MODES = ("state", "pixels")
# Seed ranges kept apart so demos, online episodes and evaluation never share a start state.
DEMO_SEED_OFFSET = 1_000_000
EVAL_SEED_OFFSET = 2_000_000
POLICY_FORMAT_VERSION = 1


def default_config() -> ml_collections.ConfigDict:
    """The config in ``configs/sync_train.py`` (the defaults of the synchronous loop)."""
    return config_files.sync_train_config()


# ---------------------------------------------------------------------------- construction
def agent_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The agent's default config with this run's sizes and overrides applied."""
    cfg = get_agent_config(config.algo)
    cfg.network.hidden_dims = tuple(config.hidden_dims)
    cfg.batch_size = int(config.batch_size)
    cfg.utd = int(config.utd)
    if config.pretrain_steps >= 0 and "pretrain_steps" in cfg:
        cfg.pretrain_steps = int(config.pretrain_steps)
    return apply_overrides(cfg, config.agent_overrides, "config.agent_overrides.")


def sim_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
    if config.obs_mode not in OBS_MODES:
        raise ValueError(f"obs_mode must be one of {OBS_MODES}, got {config.obs_mode!r}")
    values = dict(config.sim.to_dict()) if hasattr(config.sim, "to_dict") else dict(config.sim)
    if config.obs_mode == "pixels":
        values.setdefault("cameras", ("front", "wrist"))
        values.setdefault("image_size", int(config.image_size))
    return values


def validate(config: ml_collections.ConfigDict) -> None:
    """Refuses a config that would fail late (after minutes of demos) with a clear message."""
    positive = ("env_steps", "batch_size", "utd", "eval_episodes", "final_eval_episodes",
                "log_every", "replay_capacity")
    for name in positive:
        if int(config[name]) <= 0:
            raise ValueError(f"config.{name} must be positive, got {config[name]}")
    for name in ("num_demos", "updates_per_env_step", "start_training_after", "random_steps",
                 "eval_every"):
        if int(config[name]) < 0:
            raise ValueError(f"config.{name} must be >= 0, got {config[name]}")
    check_common({f"config.{k}": config[k] for k in ("algo", "task", "obs_mode",
                                                       "hidden_dims", "operator_profile",
                                                       "demo_profile")})
    validate_agent_config(agent_config(config), "config.agent_overrides.")
    if config.algo in ("hgdagger", "bc") and config.num_demos == 0 and not config.intervention:
        raise ValueError(f"{config.algo} learns only from D_I: it needs demos or interventions")
    if config.algo == "bc" and config.num_demos == 0:
        raise ValueError("bc trains on the demonstrations only: config.num_demos must be > 0")


def check_common(fields: Mapping[str, Any]) -> None:
    """The checks both trainers' configs share, on ``{flag name: value}`` of the fields
    named ``...algo``, ``...task``/``...name``, ``...obs_mode``, ``...hidden_dims`` and
    ``...profile``: names that must be known and MLP widths."""
    from silri_jax.agents.config import CONFIGS
    from silri_jax.operators.profiles import PROFILES

    for name, value in fields.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "algo" and value not in CONFIGS:
            raise ValueError(f"{name}={value!r}: must be one of {sorted(CONFIGS)}")
        if leaf in ("task", "name") and not str(value).startswith("gym:") \
                and value not in envs.list_tasks():
            raise ValueError(f"{name}={value!r}: must be one of {list(envs.list_tasks())} "
                             "or 'gym:<module>:<gymnasium id>'")
        if leaf == "obs_mode" and value not in OBS_MODES:
            raise ValueError(f"{name}={value!r}: must be one of {list(OBS_MODES)}")
        if leaf.endswith("profile") and value not in PROFILES:
            raise ValueError(f"{name}={value!r}: must be one of {sorted(PROFILES)}")
        if leaf == "hidden_dims":
            dims = tuple(value)
            if not dims or any(not isinstance(d, int) or d < 1 for d in dims):
                raise ValueError(f"{name}={dims}: must be a non-empty tuple of integers >= 1")


# ---------------------------------------------------------------------------- policy file
def save_policy(path: str | os.PathLike[str], actor_params: Mapping, spec: EnvSpec,
                config: ml_collections.ConfigDict) -> pathlib.Path:
    """Writes the actor's parameters (flattened, no pickle) with the spec and agent config,
    atomically, so an evaluation script can rebuild the agent and act."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    flat = traverse_util.flatten_dict(jax.device_get(dict(actor_params)), sep="/")
    arrays = {"params/" + k: np.asarray(v) for k, v in flat.items()}
    arrays["format_version"] = np.int64(POLICY_FORMAT_VERSION)
    arrays["spec_json"] = np.str_(json.dumps(spec.to_dict()))
    arrays["agent_config_json"] = np.str_(agent_config(config).to_json())
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, path)
    return path


def load_policy(path: str | os.PathLike[str]) -> tuple[dict[str, Any], EnvSpec, Agent]:
    """(actor params, spec, agent) from ``save_policy``; ``agent.act(params, ...)`` acts."""
    with np.load(path, allow_pickle=False) as z:
        if int(z["format_version"]) != POLICY_FORMAT_VERSION:
            raise ValueError(f"{path}: unsupported policy format {int(z['format_version'])}")
        spec = EnvSpec.from_dict(json.loads(str(z["spec_json"])))
        cfg = ml_collections.ConfigDict(json.loads(str(z["agent_config_json"])))
        flat = {k[len("params/"):]: z[k] for k in z.files if k.startswith("params/")}
    cfg.network.hidden_dims = tuple(cfg.network.hidden_dims)
    params = traverse_util.unflatten_dict(flat, sep="/")
    return params, spec, make_agent(cfg, spec)


# ---------------------------------------------------------------------------- acting
def _batched(obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: np.asarray(v)[None] for k, v in obs.items()}


def env_action(action: np.ndarray, gripper: np.ndarray | None, has_gripper: bool) -> Any:
    """One env action from the agent's batched outputs (batch of one)."""
    a = np.asarray(action[0], np.float32)
    if has_gripper:
        return {"action": a, "gripper": int(np.asarray(gripper)[0])}
    return a


def random_action(rng: np.random.Generator, spec: EnvSpec) -> Any:
    a = rng.uniform(-1.0, 1.0, spec.action.dim).astype(np.float32)
    if spec.action.has_gripper:
        return {"action": a, "gripper": int(rng.integers(0, 3))}
    return a


@dataclasses.dataclass
class EvalResult:
    success_rate: float
    mean_episode_length: float
    mean_return: float


def evaluate(env: Any, agent: Agent, actor_params: Mapping, episodes: int,
             seed: int) -> EvalResult:
    """Deterministic policy, no operator, seeds ``seed .. seed + episodes - 1``."""
    successes, lengths, returns = [], [], []
    key = jax.random.PRNGKey(0)  # unused by a deterministic policy
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        done, length, ret, info = False, 0, 0.0, {}
        while not done:
            a, g = agent.act(actor_params, _batched(obs), key, deterministic=True)
            obs, r, term, trunc, info = env.step(env_action(a, g, agent.has_gripper))
            length, ret, done = length + 1, ret + float(r), bool(term or trunc)
        successes.append(float(bool(info.get("success", False))))
        lengths.append(length)
        returns.append(ret)
    return EvalResult(float(np.mean(successes)), float(np.mean(lengths)), float(np.mean(returns)))


# ---------------------------------------------------------------------------- logging
class Logger:
    """TensorBoard scalars plus the terminal status (``silri_jax.status.Status``: in place
    on a terminal, plain lines in a log)."""

    def __init__(self, log_dir: str, quiet: bool = False) -> None:
        from tensorboardX import SummaryWriter

        self.writer = SummaryWriter(log_dir)
        self.quiet = quiet
        self.line = Status(quiet=quiet)

    def scalars(self, prefix: str, values: Mapping[str, Any], step: int) -> None:
        for k, v in values.items():
            self.writer.add_scalar(f"{prefix}/{k}", float(v), step)

    def status(self, line: str, final: bool = False, key: str | None = None) -> None:
        """``final``: a line that stays (an event); else the changing status line."""
        if final:
            self.line.event(line)
        else:
            self.line.show(line, key=key)

    def close(self) -> None:
        self.line.close()
        self.writer.flush()
        self.writer.close()


def host_actor_params(agent: Agent, state: AgentState) -> dict[str, Any]:
    """A host copy of the actor's parameters: updates donate the learner state's buffers,
    so a view into them would be deleted by the next update."""
    return jax.tree.map(lambda x: np.array(x, copy=True), agent.actor_params(state))


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in jax.device_get(dict(metrics)).items()}


# ---------------------------------------------------------------------------- the loop
class _Sampler:
    """Update batches ([utd, B]) from the buffers the agent's ``batch_source`` names."""

    def __init__(self, agent: Agent, d_r: ReplayBuffer, d_i: ReplayBuffer, batch_size: int,
                 utd: int) -> None:
        self.source, self.d_r, self.d_i = agent.batch_source, d_r, d_i
        self.batch_size, self.utd = batch_size, utd
        self.mixed = MixedSampler(d_r, d_i, batch_size, 0.5)
        if self.source not in ("mixed", "intervention", "demos"):
            raise ValueError(f"unknown batch source {self.source!r}")

    def ready(self) -> bool:
        if self.source == "mixed":
            return len(self.d_r) + len(self.d_i) > 0
        return len(self.d_i) > 0

    def sample(self, rng: np.random.Generator) -> tuple[dict[str, Any], ObservationDecoder]:
        """``(batch, decoder)``: the images stay in the buffers' stored form (yuv420 is half
        the bytes of RGB to copy to the device), and ``agent.update(state, batch, decoder)``
        decodes them inside the compiled update instead of on the host."""
        if self.source == "mixed":
            return self.mixed.sample(rng, self.utd, decode=False)
        # "demos" (BC) never sees interventions: its D_I holds only the demos (see train)
        return self.d_i.sample(rng, self.batch_size, self.utd, decode=False)

    def sample_intervention(
        self, rng: np.random.Generator, steps: int
    ) -> tuple[dict[str, Any], ObservationDecoder]:
        """``steps`` stored-form D_I batches for ``pretrain`` / ``update_behavior``."""
        return self.d_i.sample(rng, self.batch_size, steps, decode=False)


PRETRAIN_CHUNK = 100


def run_pretraining(
    agent: Agent,
    state: AgentState,
    sample: Callable[[int], tuple[dict[str, Any], ObservationDecoder]],
    steps: int,
    on_metrics: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[AgentState, dict[str, float]]:
    """``steps`` pre-training steps in compiled chunks of at most ``PRETRAIN_CHUNK``
    (``sample(n)`` gives n stored-form D_I batches and their decoder); ``on_metrics(done,
    metrics)`` after each chunk. Returns the state and the last chunk's metrics; a
    non-finite metric raises ``FloatingPointError`` naming it."""
    done, metrics = 0, {}
    while done < steps:
        n = min(PRETRAIN_CHUNK, steps - done)
        state, m = agent.pretrain(state, *sample(n))
        done += n
        metrics = _floats(m)
        bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
        if bad:  # stop here, naming it, instead of training on a diverged policy
            raise FloatingPointError(
                f"pre-training diverged after {done} steps: {bad} (check the agent's "
                "learning rates and the demonstrations)")
        if on_metrics is not None:
            on_metrics(done, metrics)
    return state, metrics


def train(config: ml_collections.ConfigDict, quiet: bool = False) -> dict[str, Any]:
    """Runs the synchronous loop described in the module docstring; returns the results
    (final evaluation, intervention rate, counts, timings, output paths)."""
    validate(config)
    t_start = time.time()
    seed = int(config.seed)
    np_rng = np.random.default_rng(seed)
    key = jax.random.PRNGKey(seed)
    log = Logger(str(config.log_dir), quiet)

    sim = sim_config(config)
    operator = (
        SimulatedOperator(config.operator_profile, seed=seed) if config.intervention else None
    )
    env = envs.make(config.task, sim, operator=operator)
    eval_env = envs.make(config.task, sim, operator=None)
    spec = envs.env_spec(env)
    acfg = agent_config(config)
    agent = make_agent(acfg, spec)
    key, init_key = jax.random.split(key)
    state: AgentState = agent.init(init_key)

    d_r = ReplayBuffer(spec, int(config.replay_capacity))
    d_i = ReplayBuffer(spec, int(config.replay_capacity))
    results: dict[str, Any] = {"task": config.task, "algo": config.algo, "seed": seed}
    # every evaluation (env step 0 after pre-training, every eval_every, the final one) and
    # the intervention rate of every log_every window: the curves a benchmark plots
    eval_history: list[dict[str, float]] = []
    intervention_history: list[dict[str, float]] = []

    # 1. demonstrations into D_I, then pre-training.
    num_demo_transitions = 0
    if config.num_demos > 0:
        t0 = time.time()
        demos = record_demonstrations(env, n=int(config.num_demos),
                                      profile=config.demo_profile,
                                      seed=DEMO_SEED_OFFSET + seed * 1000)
        num_demo_transitions = insert_demos(d_i, demos)
        log.status(f"recorded {len(demos)} demos ({num_demo_transitions} transitions) "
                   f"in {time.time() - t0:.1f}s", final=True)
    results["demo_transitions"] = num_demo_transitions
    pretrain_steps = int(acfg.get("pretrain_steps", 0)) if agent.has_pretraining else 0
    if pretrain_steps > 0 and len(d_i) > 0:
        t0 = time.time()
        def on_pretrain(done: int, metrics: Mapping[str, float]) -> None:
            log.scalars("pretrain", metrics, done)
            log.status("pre-training " + status_fmt.progress(
                done, pretrain_steps, done / max(time.time() - t0, 1e-9)))

        state, _ = run_pretraining(
            agent, state, lambda n: d_i.sample(np_rng, acfg.batch_size, n, decode=False),
            pretrain_steps, on_pretrain)
        log.status(f"pre-trained {pretrain_steps} steps in {time.time() - t0:.1f}s", final=True)
    results["pretrain_steps"] = pretrain_steps if len(d_i) > 0 else 0
    if agent.has_pretraining and results["pretrain_steps"] > 0:
        pre = evaluate(eval_env, agent, host_actor_params(agent, state),
                       int(config.eval_episodes), EVAL_SEED_OFFSET)
        log.scalars("eval", dataclasses.asdict(pre), 0)
        results["pretrain_eval"] = dataclasses.asdict(pre)
        eval_history.append({"env_step": 0, **dataclasses.asdict(pre)})
        log.status(f"after pre-training: success {pre.success_rate:.2f} "
                   f"length {pre.mean_episode_length:.1f}", final=True)

    # 2. online interaction.
    sampler = _Sampler(agent, d_r, d_i, acfg.batch_size, acfg.utd)
    schedule = agent.beta_schedule() if hasattr(agent, "beta_schedule") else None
    store_interventions_in_d_i = agent.batch_source != "demos"
    actor_params = host_actor_params(agent, state)
    counts = {"updates": 0, "beta_steps": 0, "interventions": 0, "episodes": 0,
              "successes": 0, "takeovers": 0}
    window = {"steps": 0, "interventions": 0, "updates": 0, "t": time.time()}
    recent: list[dict[str, float]] = []
    last_metrics: dict[str, float] = {}
    last_eval: EvalResult | None = None
    episode = 0
    obs, _ = env.reset(seed=seed * 100_000 + episode)
    ep_len, ep_ret, ep_interv, prev_interv = 0, 0.0, 0, False
    for step in range(1, int(config.env_steps) + 1):
        if step <= config.random_steps:
            action = random_action(np_rng, spec)
        else:
            key, act_key = jax.random.split(key)
            a, g = agent.act(actor_params, _batched(obs), act_key, deterministic=False)
            action = env_action(a, g, spec.action.has_gripper)
        next_obs, reward, terminated, truncated, info = env.step(action)
        is_interv = bool(info["is_intervention"])
        executed = np.asarray(info["executed_action"], np.float32)
        grip = int(info["executed_gripper_action"]) if spec.action.has_gripper else None
        row = dict(obs=obs, action=executed, reward=float(reward), terminated=terminated,
                   truncated=truncated, next_obs=next_obs, is_intervention=is_interv,
                   episode_id=episode, step=ep_len, gripper_action=grip)
        d_r.insert(**row)
        if is_interv:
            counts["interventions"] += 1
            window["interventions"] += 1
            ep_interv += 1
            counts["takeovers"] += int(not prev_interv)
            if store_interventions_in_d_i:
                d_i.insert(**row)
        prev_interv = is_interv
        ep_len, ep_ret = ep_len + 1, ep_ret + float(reward)
        window["steps"] += 1
        obs = next_obs

        # SiLRI's behaviour policy: beta_steps NLL steps per beta_every new interventions.
        if schedule is not None and is_interv and store_interventions_in_d_i:
            due = schedule.observe(1)
            if due > 0:
                state, bm = agent.update_behavior(state, *sampler.sample_intervention(np_rng, due))
                counts["beta_steps"] += due
                log.scalars("beta", _floats(bm), step)

        if step > config.start_training_after and sampler.ready():
            for _ in range(int(config.updates_per_env_step)):
                state, metrics = agent.update(state, *sampler.sample(np_rng))
                counts["updates"] += 1
                window["updates"] += 1
            if config.updates_per_env_step > 0:
                actor_params = host_actor_params(agent, state)
                if step % config.log_every == 0:
                    last_metrics = _floats(metrics)

        if terminated or truncated:
            success = bool(info.get("success", False))
            counts["episodes"] += 1
            counts["successes"] += int(success)
            recent.append({"success": float(success), "return": ep_ret, "length": ep_len,
                           "intervention_rate": ep_interv / ep_len})
            log.scalars("episode", recent[-1], step)
            episode += 1
            obs, _ = env.reset(seed=seed * 100_000 + episode)
            ep_len, ep_ret, ep_interv, prev_interv = 0, 0.0, 0, False

        if config.eval_every and step % config.eval_every == 0 and step < config.env_steps:
            last_eval = evaluate(eval_env, agent, actor_params, int(config.eval_episodes),
                                 EVAL_SEED_OFFSET)
            log.scalars("eval", dataclasses.asdict(last_eval), step)
            eval_history.append({"env_step": step, **dataclasses.asdict(last_eval)})

        if step % config.log_every == 0 or step == config.env_steps:
            now = time.time()
            dt = max(now - window["t"], 1e-9)
            perf = {"env_steps_per_s": window["steps"] / dt,
                    "updates_per_s": window["updates"] / dt,
                    "intervention_rate": window["interventions"] / max(window["steps"], 1),
                    "d_r_size": len(d_r), "d_i_size": len(d_i),
                    "beta_steps": counts["beta_steps"]}
            log.scalars("train", last_metrics, step)
            log.scalars("perf", perf, step)
            intervention_history.append(
                {"env_step": step, "intervention_rate": perf["intervention_rate"]})
            tail = recent[-10:]
            succ = np.mean([r["success"] for r in tail]) if tail else float("nan")
            lam = last_metrics.get("lambda_mean")
            log.status(fit([
                status_fmt.progress(step, int(config.env_steps), perf["env_steps_per_s"]),
                f"success {status_fmt.percent(succ)}",
                *([f"eval {status_fmt.percent(last_eval.success_rate)}"]
                  if last_eval is not None else []),
                f"human {status_fmt.percent(perf['intervention_rate'])}",
                f"{perf['updates_per_s']:.0f} updates/s",
                *([f"lambda {lam:.2f}"] if lam is not None else []),
            ], log.line.width))
            window = {"steps": 0, "interventions": 0, "updates": 0, "t": now}

    # 3. final evaluation and outputs.
    final = evaluate(eval_env, agent, actor_params, int(config.final_eval_episodes),
                     EVAL_SEED_OFFSET)
    log.scalars("eval", dataclasses.asdict(final), int(config.env_steps))
    eval_history.append({"env_step": int(config.env_steps), **dataclasses.asdict(final)})
    online_steps = int(config.env_steps)
    results.update(
        success_rate=final.success_rate,
        mean_episode_length=final.mean_episode_length,
        mean_return=final.mean_return,
        intervention_rate=counts["interventions"] / online_steps,
        env_steps=online_steps,
        train_episodes=counts["episodes"],
        train_success_rate=counts["successes"] / max(counts["episodes"], 1),
        updates=counts["updates"],
        beta_steps=counts["beta_steps"],
        takeovers=counts["takeovers"],
        d_r_size=len(d_r),
        d_i_size=len(d_i),
        d_i_interventions=len(d_i) - num_demo_transitions,
        eval_history=eval_history,
        intervention_history=intervention_history,
    )
    if config.save_policy_path:
        results["policy_path"] = str(save_policy(config.save_policy_path,
                                                 actor_params, spec, config))
    if config.checkpoint_dir:
        from silri_jax.checkpoint import Checkpointer

        with Checkpointer(config.checkpoint_dir, async_save=False) as ckpt:
            ckpt.save(int(state.step), state, metadata={"config": config.to_dict(),
                                                         "spec": spec.to_dict()}, force=True)
        results["checkpoint_dir"] = str(config.checkpoint_dir)
    log.close()
    results["wall_s"] = time.time() - t_start
    results["log_dir"] = str(config.log_dir)
    return results


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
