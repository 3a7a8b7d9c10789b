"""``make(task_name, config)``: the one way the actor, the tests and the benchmarks build envs.

Simulated tasks get the full wrapper stack (see ``silri_jax.envs.wrappers``). A name of the
form ``"gym:<id>"`` builds any registered gymnasium env through the generic adapter.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import gymnasium as gym

from silri_jax import specs

if TYPE_CHECKING:
    from silri_jax.operators.base import Operator

SIM_TASKS = ("pick_cube", "insert_peg", "open_drawer")
GYM_PREFIX = "gym:"


def list_tasks() -> tuple[str, ...]:
    return SIM_TASKS


def _to_mapping(config: Any) -> dict[str, Any]:
    if config is None:
        return {}
    if hasattr(config, "to_dict"):  # ml_collections.ConfigDict
        return dict(config.to_dict())
    if isinstance(config, Mapping):
        return dict(config)
    raise TypeError(f"config must be a mapping or a ConfigDict, got {type(config).__name__}")


def make(
    task_name: str, config: Any = None, operator: Operator | None = None
) -> gym.Env:
    """Builds a task env. ``config`` overrides ``SimConfig`` fields (or, for ``gym:`` names,
    holds ``kwargs`` for ``gymnasium.make`` and ``max_episode_steps``)."""
    from silri_jax.envs import wrappers

    values = _to_mapping(config)
    if task_name.startswith(GYM_PREFIX):
        from silri_jax.envs.adapters import GymAdapter

        inner = gym.make(task_name[len(GYM_PREFIX) :], **values.pop("kwargs", {}))
        env: gym.Env = GymAdapter(inner, success_key=str(values.get("success_key") or ""),
                                  privileged_state_fn=values.get("privileged_state_fn"))
        if values.get("max_episode_steps"):
            env = wrappers.TimeLimit(env, int(values["max_episode_steps"]))
        return wrappers.InterventionWrapper(env, operator)
    if task_name not in SIM_TASKS:
        raise ValueError(
            f"unknown task {task_name!r}; known: {list(SIM_TASKS)} or 'gym:<gymnasium id>'"
        )
    from silri_jax.envs.sim.env import PandaSimEnv, SimConfig

    cfg = SimConfig.from_mapping(task_name, values)
    base = PandaSimEnv(cfg)
    env = base
    if cfg.crops or (cfg.render_size and cfg.render_size != cfg.image_size):
        env = wrappers.ImageCropResize(env, cfg.crops, cfg.image_size)
    env = wrappers.WorkspaceClip(
        env, cfg.resolved("workspace_low"), cfg.resolved("workspace_high")
    )
    env = wrappers.EEDeltaAction(
        env,
        mode=cfg.action_mode,
        scale_pos=cfg.resolved("action_scale_pos"),
        scale_rot=cfg.action_scale_rot,
        has_gripper=base.has_gripper,
        nominal_quat=base.nominal_quat,
    )
    env = wrappers.TimeLimit(env, int(cfg.resolved("max_episode_steps")))
    return wrappers.InterventionWrapper(env, operator)


def env_spec(env: gym.Env) -> specs.EnvSpec:
    """The ``EnvSpec`` an agent is built from, read off a made env's spaces."""
    obs_space = env.observation_space
    if not isinstance(obs_space, gym.spaces.Dict):
        raise ValueError("made envs observe a dict; wrap other envs with GymAdapter")
    entries = {
        k: specs.ArraySpec(s.shape, s.dtype.name) for k, s in obs_space.spaces.items()
    }
    act = env.action_space
    if isinstance(act, gym.spaces.Dict):
        return specs.EnvSpec(
            specs.ObservationSpec(entries), specs.ActionSpec(act["action"].shape[0], True)
        )
    return specs.EnvSpec(specs.ObservationSpec(entries), specs.ActionSpec(act.shape[0], False))
