"""Pick up a cube from the table: the work cell of ``pick_cube``.

A rehearsal (``--config.robot=sim_franka``) renders the two cameras from the simulated
scene (``front`` looks at the table, ``wrist`` rides on the hand) and judges success
from the simulator. For a real cell, copy this file, set each camera's backend and
device (``python -m silri_jax.cameras list``), its crop (``python -m silri_jax.robots
crop``), the workspace from your demonstrations (``python -m silri_jax.robots
infer-limits``), the reset pose (``python -m silri_jax.robots record-pose``), and
``reward = "operator"`` (or a reward classifier). Fields in silri_jax/robots/config.py.
"""

from __future__ import annotations

import ml_collections

from silri_jax.cameras.config import camera_config, cameras_section
from silri_jax.robots.config import cell_config


def get_config() -> ml_collections.ConfigDict:
    c = cell_config()
    c.sim_scene = "pick_cube"
    c.control_hz = 10.0
    c.max_episode_steps = 100
    c.workspace_low_m = (0.3, -0.25, 0.005)
    c.workspace_high_m = (0.7, 0.25, 0.35)
    c.max_orientation_error_deg = 30.0
    c.reset_pos_m = (0.45, 0.0, 0.22)
    c.reset_quat_wxyz = (0.0, 1.0, 0.0, 0.0)
    c.reset_xy_range_m = 0.03
    c.action_mode = "xyz"
    c.action_scale_pos_m = (0.03,)
    c.reward = "sim"
    c.image_size = 64
    # a real cell: backend="opencv" (device "/dev/v4l/by-id/...") or "realsense"
    # (device = serial number), at the camera's own resolution
    c.cameras = cameras_section(
        front=camera_config(backend="mujoco", device="front", width=128, height=128, fps=0,
                            size=64),
        wrist=camera_config(backend="mujoco", device="wrist", width=128, height=128, fps=0,
                            size=64),
    )
    return c
