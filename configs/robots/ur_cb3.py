"""A UR CB3 arm (UR3/UR5/UR10) with a Robotiq 2F-85 on the URCap socket,
through ur_rtde at 125 Hz (servoL with an admittance layer).

Before the first session: put the controller in remote control, install and activate the
Robotiq URCap (it serves port 63352), and run
``python -m silri_jax.robots rt-check --config.robot=ur_cb3``. Override the address with
``--config.robot_ip=...``; fields in silri_jax/robots/config.py.
"""

from __future__ import annotations

import ml_collections

from silri_jax.robots.config import robot_config


def get_config() -> ml_collections.ConfigDict:
    r = robot_config()
    r.backend = "ur"
    r.model = "cb3"
    r.run = "realtime"
    r.robot_ip = "192.168.1.10"
    # a position-controlled arm: slower Cartesian limits than the Franka's defaults
    r.max_lin_speed_m_s = 0.35
    r.max_ang_speed_rad_s = 1.5
    r.backend_options.command = "servoL"
    r.gripper.kind = "robotiq_socket"
    r.gripper.address = "192.168.1.10"
    return r
