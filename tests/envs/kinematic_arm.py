"""A kinematic stand-in for a robot-level env: the TCP jumps to whatever target it gets.

Wrapper logic (frames, clipping, decoding) is tested against it without physics, so those
tests take milliseconds and fail only for wrapper bugs.
"""

import gymnasium as gym
import numpy as np

from silri_jax.envs.sim.scene import DOWN_QUAT


class KinematicArmEnv(gym.Env):
    def __init__(self, success_at: int | None = None):
        self.observation_space = gym.spaces.Dict(
            {
                "state": gym.spaces.Box(-np.inf, np.inf, (7,), np.float32),
                "images/front": gym.spaces.Box(0, 255, (64, 96, 3), np.uint8),
            }
        )
        self.action_space = gym.spaces.Dict(
            {"pose": gym.spaces.Box(-np.inf, np.inf, (7,)), "gripper": gym.spaces.Discrete(3)}
        )
        self.success_at = success_at
        self.pos = np.array([0.5, 0.0, 0.2])
        self.quat = DOWN_QUAT.copy()
        self.gripper_log: list[int] = []
        self.steps = 0

    def current_pose(self):
        return self.pos.copy(), self.quat.copy()

    def _obs(self):
        img = np.arange(64 * 96 * 3, dtype=np.uint32).reshape(64, 96, 3) % 251
        return {
            "state": np.concatenate([self.pos, self.quat]).astype(np.float32),
            "images/front": img.astype(np.uint8),
        }

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.pos = np.array([0.5, 0.0, 0.2])
        self.quat = DOWN_QUAT.copy()
        self.steps = 0
        return self._obs(), {"success": False}

    def step(self, action):
        pose = np.asarray(action["pose"], np.float64)
        self.pos, self.quat = pose[:3].copy(), pose[3:].copy()
        self.gripper_log.append(int(action["gripper"]))
        self.steps += 1
        success = self.success_at is not None and self.steps >= self.success_at
        return self._obs(), -0.05, success, False, {"success": success}
