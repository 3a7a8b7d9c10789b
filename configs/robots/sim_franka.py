"""The rehearsal arm: the simulated Panda on the bridge's MuJoCo backend, in lockstep.

What a Franka session runs, with three stand-ins: the MuJoCo backend for libfranka, the
simulated fingers (on a gripper worker, like the Franka Hand) for ``franka::Gripper``, and
MuJoCo renders for the cameras. Gains follow the simulated tasks' impedance (HIL-SERL's
Franka settings with the simulator's error clip). Select with
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
    r.error_clip_pos_m = 0.02
    r.error_clip_rot_rad = 0.10
    r.gripper.kind = "sim"
    return r
