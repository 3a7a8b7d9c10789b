"""Real arms (Franka FR3/Panda, UR e-Series/CB3) and their rehearsal in simulation.

``make_robot_env`` builds the env a training config with ``robot`` set drives: the C++
bridge (real backend on its own real-time thread, or the MuJoCo backend in lockstep),
a gripper worker, a camera rig, resets as a state machine, and the shared action and
intervention wrappers. ``config`` holds the robot and work-cell schemas. docs/robots.md
walks through a first session.
``python -m silri_jax.robots``: set-up tools (infer-limits, record-pose, crop, rt-check).
"""

from silri_jax.robots.arm import ArmError, LockstepArm, RealtimeArm
from silri_jax.robots.config import cell_config, load_cell, load_robot, robot_config
from silri_jax.robots.env import RobotEnv
from silri_jax.robots.factory import make_robot_env, spec_from_config
from silri_jax.robots.resets import ResetError, ResetSequence, ResetSettings

__all__ = [
    "ArmError",
    "LockstepArm",
    "RealtimeArm",
    "ResetError",
    "ResetSequence",
    "ResetSettings",
    "RobotEnv",
    "cell_config",
    "load_cell",
    "load_robot",
    "make_robot_env",
    "robot_config",
    "spec_from_config",
]
