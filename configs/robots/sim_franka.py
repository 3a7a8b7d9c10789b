"""The rehearsal arm: the simulated Panda on the bridge's MuJoCo backend, in lockstep.

What a Franka session runs, with three stand-ins: the MuJoCo backend for libfranka, the
simulated fingers (on a gripper worker, like the Franka Hand) for ``franka::Gripper``, and
MuJoCo renders for the cameras. Gains are the robot schema's defaults, the simulated
tasks' bridge gains (HIL-SERL's Franka stiffness, a 1 cm / 0.05 rad error clip). Select with
``--config.robot=sim_franka``; every field is documented in silri_jax/robots/config.py.
"""

from __future__ import annotations

import ml_collections

from silri_jax.robots.config import robot_config


def get_config() -> ml_collections.ConfigDict:
    r = robot_config()
    r.backend = "mujoco"
    r.model = "panda"
    r.run = "lockstep"
    r.gripper.kind = "sim"
    return r
