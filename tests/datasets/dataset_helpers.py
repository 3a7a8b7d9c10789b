"""Small project episodes with smooth camera frames (video codecs keep them within a few
grey levels), and the comparisons the dataset tests share."""

from __future__ import annotations

import numpy as np

from silri_jax import specs
from silri_jax.datasets.episodes import DatasetEpisode

STATE_DIM = 5
ACTION_DIM = 3
SIZE = 64


def spec(gripper: bool = True, cameras: tuple[str, ...] = ("front", "wrist"),
         size: int = SIZE) -> specs.EnvSpec:
    return specs.pixel_env_spec(STATE_DIM, ACTION_DIM, cameras, size, gripper)


def frame(episode: int, step: int, cam: int, size: int = SIZE) -> np.ndarray:
    """A smooth colour pattern that moves with the step."""
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    phase = 0.15 * step + 0.9 * episode + 1.7 * cam
    r = 128 + 90 * np.sin(xx / 9.0 + phase)
    g = 128 + 90 * np.cos(yy / 11.0 - phase)
    b = 128 + 60 * np.sin((xx + yy) / 14.0 + 0.5 * phase)
    return np.stack([r, g, b], -1).round().clip(0, 255).astype(np.uint8)


def episode(spec_: specs.EnvSpec, index: int, length: int, seed: int = 0,
            flags: bool = True) -> DatasetEpisode:
    rng = np.random.default_rng(1000 * seed + index)
    obs = {}
    for key, arr in spec_.observation.entries.items():
        if key.startswith(specs.IMAGE_PREFIX):
            cam = sorted(spec_.observation.image_keys).index(key)
            size = arr.shape[0]
            obs[key] = np.stack([frame(index, t, cam, size) for t in range(length + 1)])
        else:
            obs[key] = rng.standard_normal((length + 1, *arr.shape)).astype(np.float32)
    terminated = np.zeros(length, np.uint8)
    truncated = np.zeros(length, np.uint8)
    if index % 2:
        truncated[-1] = 1
    else:
        terminated[-1] = 1
    return DatasetEpisode(
        observations=obs,
        actions=rng.uniform(-1, 1, (length, spec_.action.dim)).astype(np.float32),
        rewards=rng.standard_normal(length).astype(np.float32),
        terminated=terminated,
        truncated=truncated,
        gripper_actions=(rng.integers(0, 3, length).astype(np.int32)
                         if spec_.action.has_gripper else None),
        is_intervention=rng.integers(0, 2, length).astype(np.uint8) if flags else None,
        task=f"task {index % 2}",
    )


def episodes(spec_: specs.EnvSpec, lengths: list[int], seed: int = 0) -> list[DatasetEpisode]:
    return [episode(spec_, i, n, seed) for i, n in enumerate(lengths)]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(255.0**2 / mse))
