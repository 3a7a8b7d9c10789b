"""The rehearsal of a UR session: a UR e-Series' limits on the simulated Panda.

The MuJoCo backend has one arm, the Panda, so this is not a UR's dynamics: it rehearses a
UR session's settings (the slower Cartesian speed limits of a UR with a Robotiq 2F-85, a
stiffer spring standing in for servoL's position tracking, and a gripper worker with the
Robotiq's slower motion) through the same env, wrappers and configs. Select with
``--config.robot=sim_ur``; fields in silri_jax/robots/config.py.
"""

from __future__ import annotations

import ml_collections

from silri_jax.robots.config import robot_config


def get_config() -> ml_collections.ConfigDict:
    r = robot_config()
    r.backend = "mujoco"
    r.model = "panda"
    r.run = "lockstep"
    r.stiffness_pos_n_m = 3000.0
    r.stiffness_rot_nm_rad = 200.0
    r.max_lin_speed_m_s = 0.35
    r.max_ang_speed_rad_s = 1.5
    r.gripper.kind = "sim"
    # a Robotiq 2F-85 takes about 0.7 s from open to closed at its default speed
    r.gripper.motion_time_s = 0.7
    return r
