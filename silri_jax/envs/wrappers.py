"""Episode rules shared by simulated and real arms, as gymnasium wrappers.

The robot-level env (``PandaSimEnv`` or a real arm's twin) takes an absolute end-effector
target ``{"pose": [x, y, z, qw, qx, qy, qz], "gripper": int}`` and exposes
``current_pose()`` and, in simulation, ``privileged_state()``. The wrappers, innermost
first, as ``silri_jax.envs.make`` stacks them:

- ``ImageCropResize``: crop then resize each camera to the policy's image size.
- ``WorkspaceClip``: the target position never leaves the workspace box.
- ``EEDeltaAction``: the policy's normalised action in ``[-1, 1]^d`` becomes a target.
- ``TimeLimit``: ``truncated`` at the step limit, only when the episode did not terminate.
- ``InterventionWrapper``: an operator (simulated or a human device) may replace the action.

Frames: all positions, rotations and deltas are in the robot base frame (x forward,
y left, z up). A rotation delta ``r`` (rotation vector, radians) is composed as a proper
rotation applied on the left, ``R_new = exp(r) @ R_current``: "rotate about +z" always
turns about the vertical, whatever the gripper's orientation.

``info`` of every step carries ``success``, ``is_intervention``, ``executed_action``
(float32, the normalised action actually executed after clipping) and, for tasks with a
gripper, ``executed_gripper_action`` (int: 0 open, 1 stay, 2 close).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import gymnasium as gym
import numpy as np

from silri_jax import specs
from silri_jax.envs import rotations

if TYPE_CHECKING:
    from silri_jax.operators.base import Operator

ACTION_MODES = {"xyz": 3, "xyz_yaw": 4, "full": 6}


def decode_gripper(value: Any) -> int:
    """Discrete gripper command from an int, a value in [-1, 1] or 3 logits.

    Floats round to the nearest of -1 (open), 0 (stay), +1 (close); three numbers pick the
    argmax. Never truncation: ``int(0.9)`` would turn "almost close" into "stay".
    """
    arr = np.asarray(value)
    if arr.dtype.kind in "iub" and arr.ndim == 0:
        g = int(arr)
    elif arr.ndim == 0 or arr.shape == (1,):
        x = float(arr.reshape(()))
        if not np.isfinite(x):
            raise ValueError(f"gripper command is not finite: {value}")
        g = int(np.rint(np.clip(x, -1.0, 1.0))) + 1
    elif arr.shape == (specs.NUM_GRIPPER_ACTIONS,):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"gripper logits are not finite: {value}")
        g = int(np.argmax(arr))
    else:
        raise ValueError(f"cannot decode a gripper command from shape {arr.shape}")
    if g not in (specs.GRIPPER_OPEN, specs.GRIPPER_STAY, specs.GRIPPER_CLOSE):
        raise ValueError(f"gripper command must be 0, 1 or 2, got {g}")
    return g


class ImageCropResize(gym.ObservationWrapper):
    """Per-camera crop ``(top, left, height, width)`` then resize to ``size x size``.

    Resizing is area averaging for integer factors and nearest-neighbour otherwise, in
    numpy, so no imaging library is needed on the robot computer.
    """

    def __init__(
        self, env: gym.Env, crops: Mapping[str, Sequence[int]] | None, size: int
    ) -> None:
        super().__init__(env)
        self.crops = {k: tuple(int(x) for x in v) for k, v in (crops or {}).items()}
        self.size = int(size)
        spaces = dict(env.observation_space.spaces)
        for cam, crop in self.crops.items():
            key = specs.IMAGE_PREFIX + cam
            if key not in spaces:
                raise ValueError(f"crop for camera {cam!r}, which is not observed")
            if len(crop) != 4 or min(crop) < 0 or crop[2] <= 0 or crop[3] <= 0:
                raise ValueError(f"crop for {cam!r} must be top, left, height, width: {crop}")
            h, w = spaces[key].shape[:2]
            if crop[0] + crop[2] > h or crop[1] + crop[3] > w:
                raise ValueError(f"crop {crop} for {cam!r} exceeds the {h}x{w} frame")
        for key in spaces:
            if key.startswith(specs.IMAGE_PREFIX):
                spaces[key] = gym.spaces.Box(0, 255, (self.size, self.size, 3), np.uint8)
        self.observation_space = gym.spaces.Dict(spaces)

    def observation(self, obs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        out = dict(obs)
        for key, img in obs.items():
            if not key.startswith(specs.IMAGE_PREFIX):
                continue
            crop = self.crops.get(key[len(specs.IMAGE_PREFIX) :])
            if crop is not None:
                t, l, h, w = crop
                img = img[t : t + h, l : l + w]
            out[key] = resize(img, self.size)
        return out


def resize(img: np.ndarray, size: int) -> np.ndarray:
    h, w = img.shape[:2]
    if (h, w) == (size, size):
        return img
    if h % size == 0 and w % size == 0:
        fh, fw = h // size, w // size
        blocks = img.reshape(size, fh, size, fw, img.shape[2]).astype(np.uint16)
        return (blocks.mean(axis=(1, 3)) + 0.5).astype(np.uint8)
    rows = (np.arange(size) * h / size + 0.5 * h / size).astype(int).clip(0, h - 1)
    cols = (np.arange(size) * w / size + 0.5 * w / size).astype(int).clip(0, w - 1)
    return np.ascontiguousarray(img[rows][:, cols])


class WorkspaceClip(gym.Wrapper):
    """Clips the target position into ``[low, high]``; reports the applied target."""

    def __init__(self, env: gym.Env, low: Sequence[float], high: Sequence[float]) -> None:
        super().__init__(env)
        self.low = np.asarray(low, np.float64)
        self.high = np.asarray(high, np.float64)
        if self.low.shape != (3,) or self.high.shape != (3,) or np.any(self.low >= self.high):
            raise ValueError(f"workspace needs 3-vectors with low < high: {low}, {high}")

    def step(self, action: Mapping[str, Any]):  # type: ignore[override]
        pose = np.array(action["pose"], np.float64)
        clipped = pose.copy()
        clipped[:3] = np.clip(pose[:3], self.low, self.high)
        obs, reward, terminated, truncated, info = self.env.step({**action, "pose": clipped})
        info["applied_target"] = clipped
        info["target_clipped"] = bool(np.any(clipped[:3] != pose[:3]))
        return obs, reward, terminated, truncated, info


class EEDeltaAction(gym.Wrapper):
    """Normalised end-effector delta actions on top of a target-pose env.

    ``mode``: ``"xyz"`` (3 translation dims; orientation held at the nominal one),
    ``"xyz_yaw"`` (plus rotation about the base z axis) or ``"full"`` (translation plus a
    base-frame rotation vector). The delta is applied to the measured pose, so a robot
    pressed against an obstacle does not wind up an ever-growing target.

    ``frame="tool"`` reads the translation and the ``full`` rotation vector in the end
    effector's own frame (a wrist camera's view: "forward" is where the gripper points);
    the yaw of ``xyz_yaw`` stays about the base's vertical.
    """

    def __init__(
        self,
        env: gym.Env,
        mode: str,
        scale_pos: float | Sequence[float],
        scale_rot: float | Sequence[float],
        has_gripper: bool,
        nominal_quat: np.ndarray,
        frame: str = "base",
    ) -> None:
        super().__init__(env)
        if frame not in ("base", "tool"):
            raise ValueError(f"action frame must be 'base' or 'tool', got {frame!r}")
        self.frame = frame
        if mode not in ACTION_MODES:
            raise ValueError(f"action mode must be one of {sorted(ACTION_MODES)}, got {mode!r}")
        self.mode = mode
        self.dim = ACTION_MODES[mode]
        self.scale_pos = np.broadcast_to(np.asarray(scale_pos, np.float64), (3,)).copy()
        n_rot = self.dim - 3
        self.scale_rot = np.broadcast_to(np.asarray(scale_rot, np.float64), (max(n_rot, 1),))
        if np.any(self.scale_pos <= 0) or np.any(self.scale_rot <= 0):
            raise ValueError("action scales must be positive")
        self.has_gripper = has_gripper
        self.nominal_quat = rotations.quat_normalize(nominal_quat)
        box = gym.spaces.Box(-1.0, 1.0, (self.dim,), np.float32)
        self.action_space = (
            gym.spaces.Dict({"action": box, "gripper": gym.spaces.Discrete(3)})
            if has_gripper
            else box
        )
        self.spec_action = specs.ActionSpec(self.dim, has_gripper)

    def split(self, action: Any) -> tuple[np.ndarray, int]:
        """Continuous part (clipped to [-1, 1]) and gripper command of any accepted form.

        Accepted: ``{"action": a, "gripper": g}``; or a flat array of ``dim`` values, plus one
        trailing gripper value in [-1, 1] (rounded) when the task has a gripper.
        """
        if isinstance(action, Mapping):
            a = np.asarray(action["action"], np.float64)
            g = decode_gripper(action.get("gripper", specs.GRIPPER_STAY))
        else:
            flat = np.asarray(action, np.float64).reshape(-1)
            if self.has_gripper and flat.shape == (self.dim + 1,):
                a, g = flat[: self.dim], decode_gripper(flat[self.dim])
            else:
                a, g = flat, specs.GRIPPER_STAY
        if a.shape != (self.dim,):
            raise ValueError(f"action has shape {a.shape}, expected ({self.dim},)")
        if not np.all(np.isfinite(a)):
            raise ValueError(f"action holds NaN or infinite values: {a}")
        if not self.has_gripper:
            g = specs.GRIPPER_STAY
        return np.clip(a, -1.0, 1.0), g

    def target_from_action(
        self, a: np.ndarray, pos: np.ndarray, quat: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        delta = a[:3] * self.scale_pos
        if self.frame == "tool":
            delta = rotations.quat_to_mat(quat) @ delta
        target_pos = pos + delta
        if self.mode == "xyz":
            target_quat = self.nominal_quat
        elif self.mode == "xyz_yaw":
            target_quat = rotations.compose_delta(quat, np.array([0.0, 0.0, a[3]]) * self.scale_rot)
        elif self.frame == "tool":
            # R_new = R exp(r): a rotation about the tool's own axes
            target_quat = rotations.quat_normalize(
                rotations.quat_mul(quat, rotations.rotvec_to_quat(a[3:6] * self.scale_rot)))
        else:
            target_quat = rotations.compose_delta(quat, a[3:6] * self.scale_rot)
        return target_pos, target_quat

    def action_from_target(
        self, target_pos: np.ndarray, target_quat: np.ndarray, pos: np.ndarray, quat: np.ndarray
    ) -> np.ndarray:
        """Inverse of ``target_from_action``: the normalised action reaching this target."""
        a = np.zeros(self.dim)
        delta = np.asarray(target_pos, np.float64) - pos
        if self.frame == "tool":
            delta = rotations.quat_to_mat(quat).T @ delta
        a[:3] = delta / self.scale_pos
        if self.mode == "xyz_yaw":
            a[3:] = rotations.delta_between(quat, target_quat)[2:3] / self.scale_rot
        elif self.mode == "full":
            if self.frame == "tool":
                rv = rotations.quat_to_rotvec(rotations.quat_mul(rotations.quat_conj(quat),
                                                                 target_quat))
            else:
                rv = rotations.delta_between(quat, target_quat)
            a[3:] = rv / self.scale_rot
        return a

    def step(self, action: Any):  # type: ignore[override]
        a, g = self.split(action)
        pos, quat = self.env.get_wrapper_attr("current_pose")()
        target_pos, target_quat = self.target_from_action(a, pos, quat)
        obs, reward, terminated, truncated, info = self.env.step(
            {"pose": np.concatenate([target_pos, target_quat]), "gripper": g}
        )
        applied = info.get("applied_target")
        executed = a
        if applied is not None and info.get("target_clipped"):
            executed = self.action_from_target(applied[:3], applied[3:], pos, quat)
            executed[3:] = a[3:]  # clipping only moves the position
        info["executed_action"] = np.clip(executed, -1.0, 1.0).astype(np.float32)
        if self.has_gripper:
            info["executed_gripper_action"] = g
        info.setdefault("is_intervention", False)
        return obs, reward, terminated, truncated, info


class TimeLimit(gym.Wrapper):
    """``truncated`` after ``max_steps`` steps unless the episode terminated on that step."""

    def __init__(self, env: gym.Env, max_steps: int) -> None:
        super().__init__(env)
        if max_steps <= 0:
            raise ValueError(f"max_steps must be positive, got {max_steps}")
        self.max_steps = int(max_steps)
        self._elapsed = 0

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self._elapsed = 0
        return self.env.reset(**kwargs)

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._elapsed += 1
        truncated = bool(truncated or (self._elapsed >= self.max_steps and not terminated))
        return obs, reward, bool(terminated), truncated, info


class InterventionWrapper(gym.Wrapper):
    """Lets an operator replace the policy's action, exactly as a human device would.

    Before each step the operator sees the env's privileged state (simulation) and the
    proposed action, and returns ``None`` or the action to execute instead. The step's
    ``info["is_intervention"]`` says which happened; ``info["executed_action"]`` is what
    ran. The actor reads only these two fields, so it cannot tell a simulated operator
    from a person with a spacemouse.
    """

    def __init__(self, env: gym.Env, operator: Operator | None) -> None:
        super().__init__(env)
        self.operator = operator

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # type: ignore[override]
        obs, info = self.env.reset(seed=seed, options=options)
        if self.operator is not None and hasattr(self.operator, "reset"):
            # The operator's randomness derives from the episode seed: runs repeat exactly.
            self.operator.reset(None if seed is None else seed + 7919)
        info.setdefault("is_intervention", False)
        return obs, info

    def step(self, action: Any):  # type: ignore[override]
        takeover = None
        if self.operator is not None:
            state = self.env.get_wrapper_attr("privileged_state")()
            takeover = self.operator(state, action)
        obs, reward, terminated, truncated, info = self.env.step(
            action if takeover is None else takeover
        )
        info["is_intervention"] = takeover is not None
        return obs, reward, terminated, truncated, info


def hold_action(env: gym.Env) -> Any:
    """"Hold still": zero motion (the delta action spaces' hold) and the gripper
    unchanged. What recording sends while the human drives, what a demo's idle operator
    sends, and what the reward loop sends while a person confirms or vetoes."""
    space = env.action_space
    if isinstance(space, gym.spaces.Dict):
        return {"action": np.zeros(space["action"].shape, np.float32),
                "gripper": specs.GRIPPER_STAY}
    return np.zeros(space.shape, np.float32)
