"""Suite-wide settings: a persistent XLA compilation cache, and the headless OpenGL
backend chosen before any test module imports mujoco.

Many tests build the same small agents; caching compiled executables on disk (under the
system temp dir, keyed by XLA on the exact computation) saves minutes on a 2-core machine
and changes no result. Subprocess-based tests inherit the setting through the environment.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault(
    "JAX_COMPILATION_CACHE_DIR", os.path.join(tempfile.gettempdir(), "silri_jax_xla_cache")
)
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "1")

import silri_jax  # noqa: F401  (sets MUJOCO_GL before the first mujoco import)
