"""silri_jax: human-in-the-loop robot reinforcement learning in JAX.

SiLRI (state-wise Lagrangian RL from suboptimal interventions), the HIL-SERL SAC
baseline and HG-DAgger, with a gRPC actor-learner runtime and a C++ real-time bridge.
"""

__version__ = "0.1.0"

# Pick a headless OpenGL backend before anything imports mujoco (MuJoCo reads MUJOCO_GL
# once, at its own import); a user's MUJOCO_GL always wins.
from silri_jax import gl_backend as _gl_backend  # noqa: F401
