"""Environments: simulated Panda tasks, shared wrappers and an adapter for gymnasium envs.

``make(task_name, config)`` builds a task; see ``silri_jax.envs.wrappers`` for the action,
observation and ``info`` conventions every env here follows.
"""

from silri_jax import gl_backend  # noqa: F401  (must precede the first mujoco import)
from silri_jax.envs.registry import env_spec, list_tasks, make

__all__ = ["env_spec", "list_tasks", "make"]
