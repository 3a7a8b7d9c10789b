"""Everything a trainer builds from the one config schema (``configs/train.py``): the
agent config, the simulation settings, the env, the operators and the agent, the config
hash, and the checks that refuse a config before it can fail late.

``sync_train``, ``learner``, ``actor`` and ``launch`` all read the same sections
(``agent``, ``task``, ``demos``, ``runtime``) through these functions, so each rule is
written once.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import ml_collections

from silri_jax import envs
from silri_jax.agents import get_config as get_agent_config
from silri_jax.agents import make_agent
from silri_jax.agents.base import Agent
from silri_jax.agents.config import CONFIGS, apply_overrides
from silri_jax.agents.config import validate as validate_agent_config
from silri_jax.operators.profiles import PROFILES
from silri_jax.specs import EnvSpec

OBS_MODES = ("state", "pixels")
# Seed ranges kept apart so demos, online episodes and evaluation never share a start state.
DEMO_SEED_OFFSET = 1_000_000
EVAL_SEED_OFFSET = 2_000_000
GYM_PREFIX = "gym:"


def _plain(value: Any) -> Any:
    return value.to_dict() if hasattr(value, "to_dict") else dict(value)


def agent_config(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The algorithm's default agent config with this run's sizes and overrides."""
    a = config.agent
    cfg = get_agent_config(a.algo)
    cfg.network.hidden_dims = tuple(a.hidden_dims)
    cfg.batch_size = int(a.batch_size)
    cfg.utd = int(a.utd)
    if int(a.pretrain_steps) >= 0 and "pretrain_steps" in cfg:
        cfg.pretrain_steps = int(a.pretrain_steps)
    return apply_overrides(cfg, a.overrides, "config.agent.overrides.")


def sim_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """The env's settings: ``task.sim`` plus the cameras of ``obs_mode="pixels"`` and, for
    an external gymnasium task, its success key and privileged-state hook."""
    t = config.task
    if t.obs_mode not in OBS_MODES:
        raise ValueError(f"config.task.obs_mode={t.obs_mode!r}: must be one of "
                         f"{list(OBS_MODES)}")
    values = _plain(t.sim)
    if t.obs_mode == "pixels":
        values.setdefault("cameras", ("front", "wrist"))
        values.setdefault("image_size", int(t.image_size))
    if str(t.name).startswith(GYM_PREFIX):
        values["success_key"] = t.get("success_key", "")
        if t.get("privileged_state", ""):
            values["privileged_state_fn"] = load_factory(t.privileged_state)
    return values


def config_hash(config: ml_collections.ConfigDict) -> str:
    """Digest of what learner and actors must agree on: the agent and the task."""
    body = json.dumps({"agent": config.agent.to_dict(), "task": config.task.to_dict()},
                      sort_keys=True, default=str)
    return hashlib.sha256(body.encode()).hexdigest()[:16]


# ---------------------------------------------------------------------------- construction
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
    """The intervening operator, or None when interventions are off."""
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


def make_env(config: ml_collections.ConfigDict, operator: Any | None = None,
             device: Any | None = None, learned_reward: bool = True) -> Any:
    """The task env, wrapped so ``operator`` can take over (None: it never does), or, with
    a teleop ``device`` (``make_teleop_device``), so the device takes over through the
    bridge's mixer (``silri_jax.envs.teleop_intervention``). With ``config.robot`` set,
    the robot env of ``silri_jax.robots`` (a real arm or its rehearsal). With
    ``config.reward.loop.model`` set (and ``learned_reward``), a learned success
    classifier gives the reward and ends the episode instead of the env's own success
    (``silri_jax.reward``); its corrections and TensorBoard rates go under
    ``runtime.run_dir``."""
    env = _interactive_env(config, operator, device)
    if learned_reward and "reward" in config:
        from silri_jax.reward.wrappers import learned_reward_from_config

        real = _is_real_robot(config)
        env = learned_reward_from_config(env, config.reward.loop,
                                         run_dir=str(config.runtime.run_dir),
                                         seed=int(config.seed), sim_verdict=not real)
    return env


def make_eval_env(config: ml_collections.ConfigDict) -> Any:
    """The env evaluations run on: no operator, and success judged by the simulator where
    there is one (the learned reward only on a real arm, where nothing else can judge)."""
    return make_env(config, None, learned_reward=_is_real_robot(config))


def _is_real_robot(config: ml_collections.ConfigDict) -> bool:
    if not str(config.get("robot", "")):
        return False
    from silri_jax.robots.factory import is_real

    return bool(is_real(config))


def _interactive_env(config: ml_collections.ConfigDict, operator: Any | None,
                     device: Any | None) -> Any:
    """The env with its intervention wrapper (see ``make_env``)."""
    if str(config.get("robot", "")):
        from silri_jax.robots.factory import make_robot_env

        return make_robot_env(config, operator, device)
    if device is None:
        return envs.make(config.task.name, sim_config(config), operator=operator)
    from silri_jax.envs.teleop_intervention import TeleopIntervention
    from silri_jax.teleop.intervention import InterventionGate

    env = envs.make(config.task.name, sim_config(config), operator=None)
    tc = config.teleop
    return TeleopIntervention(env, device, InterventionGate.from_config(tc),
                              max_linear_speed=float(tc.max_linear_speed_m_s),
                              max_angular_speed=float(tc.max_angular_speed_rad_s))


def make_teleop_device(config: ml_collections.ConfigDict, seed: int,
                       recording: bool = False) -> Any | None:
    """The teleop device of ``config.teleop.device``: None for "" (the task's operator
    intervenes in Python, as in the default simulated runs), the task's simulated operator
    behind the device interface for "operator" (and for "" when ``recording``: it then
    drives every step), else a hardware, replay or scripted device."""
    name = str(config.teleop.device)
    if name == "" and not recording:
        return None
    if name in ("", "operator"):
        from silri_jax.operators.device import OperatorDevice

        if recording:
            from silri_jax.operators import SimulatedOperator

            op = make_demo_operator(config, seed)
            if op is None:
                op = SimulatedOperator(config.demos.profile, always=True, seed=seed)
        else:
            op = make_operator(config, seed)
            if op is None:
                raise ValueError("config.teleop.device='operator' needs "
                                 "config.task.intervention=True")
        return OperatorDevice(op, _action_mode(config))
    from silri_jax.teleop.factory import make_device

    return make_device(config.teleop)


def _action_mode(config: ml_collections.ConfigDict) -> str:
    if str(config.task.name).startswith(GYM_PREFIX):
        return "full"
    from silri_jax.envs.sim.env import SimConfig

    return SimConfig.from_mapping(config.task.name, sim_config(config)).action_mode


def validate_teleop(config: ml_collections.ConfigDict) -> None:
    """Refuses a teleop section the device layer would refuse later, naming the field."""
    tc = config.teleop
    for name in ("max_linear_speed_m_s", "max_angular_speed_rad_s"):
        value = float(tc[name])
        if not math.isfinite(value) or value == 0:
            raise ValueError(f"config.teleop.{name}={tc[name]}: a positive speed, or -1 to "
                             "derive it from the task's action scale and control rate")
    from silri_jax.teleop.factory import backend_names, common_kwargs
    from silri_jax.teleop.intervention import InterventionGate

    try:
        InterventionGate.from_config(tc)
        name = str(tc.device)
        if name in ("", "operator"):
            return
        for part in name.split("+"):
            if part.strip() not in backend_names() and ":" not in part:
                raise ValueError(f"device={name!r}: unknown backend {part.strip()!r}; known: "
                                 f"'', operator, {', '.join(backend_names())}, or "
                                 "'<module>:<factory>'")
        common_kwargs(tc)  # mounting, deadband and bindings parse
    except ValueError as e:
        raise ValueError(f"config.teleop.{str(e).removeprefix('teleop.')}") from None


def make_env_and_agent(config: ml_collections.ConfigDict, operator: Any | None = None,
                       device: Any | None = None, devices: Sequence[Any] | None = None,
                       learned_reward: bool = True) -> tuple[Any, EnvSpec, Agent]:
    """``devices``: the agent's (default this process's; ``jax.devices()`` for a learner of
    several processes)."""
    env = make_env(config, operator, device=device, learned_reward=learned_reward)
    spec = envs.env_spec(env)
    return env, spec, make_agent(agent_config(config), spec, devices)


def make_spec_and_agent(config: ml_collections.ConfigDict,
                        devices: Sequence[Any] | None = None) -> tuple[Any, EnvSpec, Agent]:
    """What the learner needs: the spec and the agent, with an env only where building
    one touches no hardware (a real arm's spec comes from its config files; its env is
    then None: the learner never drives the robot)."""
    from silri_jax.robots.factory import is_real, spec_from_config

    if is_real(config):
        spec = spec_from_config(config)
        return None, spec, make_agent(agent_config(config), spec, devices)
    # the learned reward lives where the env steps (the actors): not built here
    return make_env_and_agent(config, devices=devices, learned_reward=False)


# ---------------------------------------------------------------------------- checks
def check_names(fields: Mapping[str, Any]) -> None:
    """Checks ``{flag name: value}`` of fields named ``...algo``, ``...name`` (the task),
    ``...obs_mode``, ``...hidden_dims`` and ``...profile``: names that must be known and
    MLP widths."""
    for name, value in fields.items():
        leaf = name.rsplit(".", 1)[-1]
        if leaf == "algo" and value not in CONFIGS:
            raise ValueError(f"{name}={value!r}: must be one of {sorted(CONFIGS)}")
        if leaf == "name" and not str(value).startswith(GYM_PREFIX) \
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


def validate(config: ml_collections.ConfigDict) -> None:
    """Refuses settings that would fail late (after minutes of demos), naming the field,
    the value and what is allowed."""
    from silri_jax.runtime import pacing

    r = config.runtime
    for name in ("replay_capacity", "max_queue", "max_seq_gap", "max_outbox", "max_batch",
                 "num_actors", "eval_episodes", "eval_episodes_during", "keep_checkpoints",
                 "log_every_steps"):
        if int(r[name]) <= 0:
            raise ValueError(f"config.runtime.{name} must be positive, got {r[name]}")
    for name in ("push_period_s", "log_every_s"):
        if float(r[name]) <= 0:
            raise ValueError(f"config.runtime.{name} must be positive, got {r[name]}")
    if r.get("actor_tokens_file", ""):
        from silri_jax.transport import actor_tokens

        actor_tokens.load(str(r.actor_tokens_file))  # a bad file fails now, by name
    for name in ("start_training_after", "checkpoint_every_updates", "env_steps",
                 "random_steps", "eval_every_steps"):
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
    a, t, d = config.agent, config.task, config.demos
    fields = {"config.agent.algo": a.algo, "config.task.name": t.name,
              "config.task.obs_mode": t.obs_mode, "config.agent.hidden_dims": a.hidden_dims}
    if t.operator == "simulated":
        fields["config.task.operator_profile"] = t.operator_profile
    if not d.path and int(d.num) > 0:
        fields["config.demos.profile"] = d.profile
    check_names(fields)
    if int(a.batch_size) < 1 or int(a.utd) < 1:
        raise ValueError(f"config.agent.batch_size={a.batch_size} and config.agent.utd="
                         f"{a.utd}: both must be integers >= 1")
    if int(d.num) < 0:
        raise ValueError(f"config.demos.num={d.num}: must be >= 0")
    if d.path:
        from silri_jax.datasets import DatasetError, detect_format

        try:
            detect_format(d.path)
        except DatasetError as e:
            raise ValueError(f"config.demos.path={d.path!r}: {e}") from None
    validate_agent_config(agent_config(config), "config.agent.overrides.")
    has_demos = bool(d.path) or int(d.num) > 0
    if a.algo in ("hgdagger", "bc") and not has_demos and not t.intervention:
        raise ValueError(f"config.agent.algo={a.algo!r} learns only from D_I: it needs "
                         "demonstrations (config.demos) or config.task.intervention=True")
    if a.algo == "bc" and not has_demos:
        raise ValueError("config.agent.algo='bc' trains on the demonstrations only: set "
                         "config.demos.num > 0 or config.demos.path")
    _check_external_task(config)
    if str(config.get("robot", "")):
        _check_robot(config)
    if "teleop" in config:
        validate_teleop(config)
    if "reward" in config:
        validate_reward_loop(config)
    if not r.run_dir:
        raise ValueError("config.runtime.run_dir must name a directory")


def validate_reward_loop(config: ml_collections.ConfigDict) -> None:
    """The ``reward.loop`` section: ranges, the judge's name, what a judge needs."""
    from silri_jax.reward.oversight import JUDGE_KINDS

    lp = config.reward.loop
    if not str(lp.model):
        return
    for name in ("confirm_window", "missed_lookback", "judge_reaction_steps", "warmup_steps"):
        if int(lp[name]) < 0:
            raise ValueError(f"config.reward.loop.{name}={lp[name]}: must be >= 0")
    if int(lp.retrain_min_frames) < 1:
        raise ValueError(f"config.reward.loop.retrain_min_frames={lp.retrain_min_frames}: "
                         "must be >= 1")
    if not 0.0 <= float(lp.judge_error_rate) <= 1.0:
        raise ValueError(f"config.reward.loop.judge_error_rate={lp.judge_error_rate}: a "
                         "probability in [0, 1]")
    judge = str(lp.judge)
    if judge not in JUDGE_KINDS:
        raise ValueError(f"config.reward.loop.judge={judge!r}: one of {list(JUDGE_KINDS)}")
    if judge and int(lp.confirm_window) == 0:
        raise ValueError(f"config.reward.loop.judge={judge!r} needs a window to answer in: "
                         "set config.reward.loop.confirm_window > 0")
    if judge == "simulated" and int(lp.judge_reaction_steps) >= int(lp.confirm_window):
        raise ValueError(
            f"config.reward.loop.judge_reaction_steps={lp.judge_reaction_steps} must be "
            f"below config.reward.loop.confirm_window={lp.confirm_window}, or the simulated "
            "judge answers too late")
    if judge == "simulated" and _is_real_robot(config):
        raise ValueError("config.reward.loop.judge='simulated' judges from the simulator; a "
                         "real arm needs judge='device' (a person at the teleop device)")
    if judge == "device" and str(config.teleop.device) in ("", "operator"):
        raise ValueError("config.reward.loop.judge='device' reads the teleop device's "
                         "success and failure buttons: set config.teleop.device")
    if bool(str(lp.retrain_success)) != bool(str(lp.retrain_failures)):
        raise ValueError("config.reward.loop.retrain_success and retrain_failures: set both "
                         "(the sets the model was trained on) or neither")


def _check_robot(config: ml_collections.ConfigDict) -> None:
    """The robot and cell files load and fit together; a real arm's run fits it."""
    from silri_jax.robots.factory import resolve

    robot, cell = resolve(config)
    real = str(robot.backend) != "mujoco"
    if real and int(config.demos.num) > 0 and not config.demos.path:
        raise ValueError(
            "config.demos.num > 0 records demonstrations with the simulated operator, which "
            f"cannot drive a real {robot.backend} arm: record them with python -m "
            "silri_jax.record and set config.demos.path (or config.demos.num=0)")
    if real and float(config.runtime.updates_per_env_step) > 0:
        raise ValueError(
            f"config.runtime.updates_per_env_step={config.runtime.updates_per_env_step}: "
            "a real arm must not pause mid-motion waiting for the learner; set it to 0")
    if real and str(config.teleop.device) in ("", "operator"):
        raise ValueError(
            f"config.teleop.device={config.teleop.device!r}: a real arm takes a human's "
            "device (spacemouse, gamepad, keyboard, ...), not the simulated operator")
    del cell


def validate_sync(config: ml_collections.ConfigDict) -> None:
    """``validate`` plus what the synchronous loop alone needs: a whole number of update
    calls per env step and a step budget."""
    validate(config)
    ratio = float(config.runtime.updates_per_env_step)
    if not ratio.is_integer():
        raise ValueError(f"config.runtime.updates_per_env_step={ratio}: sync_train runs a "
                         "whole number of update calls per env step")
    if int(config.runtime.env_steps) <= 0:
        raise ValueError("config.runtime.env_steps must be positive, got "
                         f"{config.runtime.env_steps} (sync_train runs a fixed budget)")


def _check_external_task(config: ml_collections.ConfigDict) -> None:
    """An external gymnasium task needs an operator of its own for interventions and
    recorded demonstrations: the built-in one drives only the project's simulated tasks."""
    t, d = config.task, config.demos
    if not str(t.name).startswith(GYM_PREFIX):
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


def load_demo_episodes(config: ml_collections.ConfigDict, spec: EnvSpec) -> list[Any]:
    """The episodes of ``config.demos.path`` in any format ``silri_jax.datasets`` reads
    (a demo ``.npz``, a LeRobotDataset v3.0 folder, a HIL-SERL pickle, a replay
    checkpoint), refused by name when they were recorded on another env spec."""
    from silri_jax.datasets import load_episodes
    from silri_jax.transport.codec import describe_spec_difference

    path = str(config.demos.path)
    got, episodes = load_episodes(path)
    diff = describe_spec_difference(spec, got)
    if diff:
        raise ValueError(f"config.demos.path={path!r}: recorded on another env spec than "
                         f"this task's: {diff}")
    if not episodes:
        raise ValueError(f"config.demos.path={path!r}: holds no episodes")
    return episodes
