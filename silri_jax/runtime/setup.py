"""Env, operator and agent construction from a ``configs/train.py`` config.

The single-process loop (``silri_jax.sync_train``) already knows how to turn its flat
config into an agent config and simulation settings; the runtime config groups the same
fields into sections, so ``sync_view`` maps it onto that flat form and the helpers of
``sync_train`` are reused as they are (one definition of each rule, not two).
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
import pathlib
from typing import Any

import ml_collections

from silri_jax import envs
from silri_jax import sync_train as st
from silri_jax.agents import make_agent
from silri_jax.agents.base import Agent
from silri_jax.agents.config import validate as validate_agent_config
from silri_jax.runtime import pacing
from silri_jax.specs import EnvSpec


def sync_view(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The ``configs/sync_train.py`` fields that ``sync_train``'s helpers read."""
    a, t = config.agent, config.task
    return ml_collections.ConfigDict({
        "algo": a.algo,
        "hidden_dims": tuple(a.hidden_dims),
        "batch_size": int(a.batch_size),
        "utd": int(a.utd),
        "pretrain_steps": int(a.pretrain_steps),
        "agent_overrides": a.overrides.to_dict() if hasattr(a.overrides, "to_dict")
        else dict(a.overrides),
        "obs_mode": t.obs_mode,
        "image_size": int(t.image_size),
        "sim": t.sim.to_dict() if hasattr(t.sim, "to_dict") else dict(t.sim),
    })


def agent_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    return st.agent_config(sync_view(config))


def config_hash(config: ml_collections.ConfigDict) -> str:
    """Digest of what learner and actors must agree on: the agent and the task."""
    body = json.dumps({"agent": config.agent.to_dict(), "task": config.task.to_dict()},
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


def validate(config: ml_collections.ConfigDict) -> None:
    """Refuses settings that would fail late, with the field's name."""
    r = config.runtime
    for name in ("replay_capacity", "max_queue", "max_seq_gap", "max_outbox", "max_batch",
                 "num_actors", "eval_episodes", "keep_checkpoints"):
        if int(r[name]) <= 0:
            raise ValueError(f"config.runtime.{name} must be positive, got {r[name]}")
    for name in ("push_period_s", "log_every_s"):
        if float(r[name]) <= 0:
            raise ValueError(f"config.runtime.{name} must be positive, got {r[name]}")
    for name in ("start_training_after", "checkpoint_every_updates", "env_steps",
                 "random_steps"):
        if int(r[name]) < 0:
            raise ValueError(f"config.runtime.{name} must be >= 0, got {r[name]}")
    for name in r:
        value = r[name]
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"config.runtime.{name}={value}: must be a finite number")
    for name in ("max_updates_per_s", "control_hz"):
        if float(r[name]) < 0:
            raise ValueError(f"config.runtime.{name}={r[name]}: must be >= 0 (0: no limit)")
    pacing.check_settings(r.updates_per_env_step, r.pacing_slack_steps, r.pacing_timeout_s)
    a, t = config.agent, config.task
    fields = {"config.agent.algo": a.algo, "config.task.name": t.name,
              "config.task.obs_mode": t.obs_mode,
              "config.agent.hidden_dims": a.hidden_dims}
    if t.operator == "simulated":
        fields["config.task.operator_profile"] = t.operator_profile
    if not config.demos.path and int(config.demos.num) > 0:
        fields["config.demos.profile"] = config.demos.profile
    st.check_common(fields)
    if int(a.batch_size) < 1 or int(a.utd) < 1:
        raise ValueError(f"config.agent.batch_size={a.batch_size} and config.agent.utd="
                         f"{a.utd}: both must be integers >= 1")
    if int(config.demos.num) < 0:
        raise ValueError(f"config.demos.num={config.demos.num}: must be >= 0")
    if config.demos.path and not pathlib.Path(config.demos.path).is_file():
        raise ValueError(f"config.demos.path={config.demos.path!r}: no such file")
    validate_agent_config(agent_config(config), "config.agent.overrides.")
    _check_external_task(config)
    if not r.run_dir:
        raise ValueError("config.runtime.run_dir must name a directory")
    spool_dir(config, "actor-0")  # refuses a malformed actor_spool_dir by name


def _check_external_task(config: ml_collections.ConfigDict) -> None:
    """An external gymnasium task needs an operator of its own for interventions and
    recorded demonstrations: the built-in one drives only the project's simulated tasks."""
    t, d = config.task, config.demos
    if not str(t.name).startswith("gym:"):
        return
    for name in ("operator", "privileged_state"):
        value = t.get(name, "")
        if value and value != "simulated":
            try:
                load_factory(value)
            except ValueError as e:
                raise ValueError(f"config.task.{name}={value!r}: {e}") from None
    if t.operator != "simulated":
        return
    if int(d.num) > 0 and not d.path:
        raise ValueError(
            f"config.demos.num={d.num}: the built-in simulated operator demonstrates only the "
            f"project's own tasks, not {t.name!r}; set config.demos.path to a demo file, "
            "config.task.operator to '<module>:<factory>' (an operator for this env), or "
            "config.demos.num=0")
    if t.intervention:
        raise ValueError(
            f"config.task.intervention=True: the built-in simulated operator cannot operate "
            f"{t.name!r}; set config.task.operator to '<module>:<factory>' or "
            "config.task.intervention=False")


def spool_dir(config: ml_collections.ConfigDict, actor_id: str) -> pathlib.Path | None:
    """The actor's spool folder: ``runtime.actor_spool_dir`` (``{run_dir}`` replaced) /
    ``actor_id``; None when the spool is off (an empty setting)."""
    raw = config.runtime.get("actor_spool_dir", "")
    if not isinstance(raw, str):
        raise ValueError(f"config.runtime.actor_spool_dir must be a string, got {raw!r}")
    if not raw:
        return None
    try:
        path = raw.format(run_dir=config.runtime.run_dir)
    except (KeyError, IndexError, ValueError) as e:
        raise ValueError(f"config.runtime.actor_spool_dir={raw!r}: only {{run_dir}} may be "
                         f"substituted ({e!r})") from e
    return pathlib.Path(path) / actor_id


def load_factory(path: str) -> Any:
    """``"package.module:attribute"`` -> the attribute (operator factories of custom tasks)."""
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ValueError(f"expected 'module:attribute', got {path!r}")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"cannot load {path!r}: {e}") from e


def make_operator(config: ml_collections.ConfigDict, seed: int) -> Any | None:
    """The intervening operator of an actor, or None when interventions are off."""
    t = config.task
    if not t.intervention:
        return None
    if t.operator == "simulated":
        from silri_jax.operators import SimulatedOperator

        return SimulatedOperator(t.operator_profile, seed=seed)
    return load_factory(t.operator)(profile=t.operator_profile, seed=seed)


def make_demo_operator(config: ml_collections.ConfigDict, seed: int) -> Any | None:
    """The operator that records ``demos.num`` demonstrations: None for the built-in
    simulated one (``record_demonstrations`` makes it from ``demos.profile``), else the
    task's own operator factory, called with ``always=True`` when it takes that argument
    (an operator that otherwise lets a good policy act must drive every step here)."""
    t = config.task
    if t.operator == "simulated":
        return None
    factory = load_factory(t.operator)
    kwargs: dict[str, Any] = {"profile": config.demos.profile, "seed": seed}
    try:
        if "always" in inspect.signature(factory).parameters:
            kwargs["always"] = True
    except (TypeError, ValueError):
        pass
    return factory(**kwargs)


def make_env(config: ml_collections.ConfigDict, operator: Any | None = None) -> Any:
    """The task env wrapped for interventions exactly as ``sync_train`` builds it; an
    external gymnasium task also gets its success key and privileged-state hook."""
    values = st.sim_config(sync_view(config))
    t = config.task
    if str(t.name).startswith("gym:"):
        values["success_key"] = t.get("success_key", "")
        if t.get("privileged_state", ""):
            values["privileged_state_fn"] = load_factory(t.privileged_state)
    return envs.make(t.name, values, operator=operator)


def make_env_and_agent(
    config: ml_collections.ConfigDict, operator: Any | None = None
) -> tuple[Any, EnvSpec, Agent]:
    env = make_env(config, operator)
    spec = envs.env_spec(env)
    return env, spec, make_agent(agent_config(config), spec)
