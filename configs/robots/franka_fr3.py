"""A Franka Research 3 with the Franka Hand, through libfranka at 1 kHz (torque impedance).

Before the first session: enable FCI in Desk, release the brakes, put this machine on the
robot's network (the default address is the FCI port's, 172.16.0.2), and run
``python -m silri_jax.robots rt-check --config.robot=franka_fr3`` to check that the
machine can hold 1 kHz. Override the address with ``--config.robot_ip=...``; fields in
silri_jax/robots/config.py.
"""

from __future__ import annotations

import ml_collections

from silri_jax.robots.config import robot_config


def get_config() -> ml_collections.ConfigDict:
    r = robot_config()
    r.backend = "franka"
    r.model = "fr3"
    r.run = "realtime"
    r.robot_ip = "172.16.0.2"
    r.gripper.kind = "franka_hand"
    r.gripper.address = "172.16.0.2"
    return r
