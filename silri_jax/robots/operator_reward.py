"""Reward from the person at the robot: their ``success`` and ``failure`` events.

A real cell has no simulator to judge success. With ``cell.reward = "operator"`` the
operator presses the device's success button when the task is done (the episode ends as
terminated with ``success_reward`` added) or its failure button to give up (the episode
ends as truncated: the state is not terminal, the value target still bootstraps). The
events come from the teleop layer (``info["teleop_events"]``), so this wrapper sits
inside ``TeleopIntervention`` and reads them on the step they happened.

The teleop wrapper outside this one collects a step's events while the inner step runs;
``events`` (set by ``make_robot_env``) reads them when the inner step returns.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym


class OperatorReward(gym.Wrapper):
    """Ends episodes on the operator's success/failure events (see the module docstring).

    ``events``: a callable returning the events seen since the last call (set by the
    teleop wrapper); without one (no device) the episode only ends at its time limit.
    """

    def __init__(self, env: gym.Env, success_reward: float) -> None:
        super().__init__(env)
        self.success_reward = float(success_reward)
        self.events: Any = None

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        events = tuple(self.events()) if self.events is not None else ()
        if "success" in events:
            reward = float(reward) + self.success_reward
            info["success"] = True
            info["operator_label"] = "success"
            terminated = True
        elif "failure" in events:
            info["operator_label"] = "failure"
            truncated = True
        return obs, reward, terminated, truncated and not terminated, info
