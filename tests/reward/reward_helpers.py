"""Small shared pieces of the reward tests: a preprocessing, a model and fake episodes."""

from __future__ import annotations

import numpy as np

from silri_jax.data.demos import Episode
from silri_jax.reward.preprocessing import Preprocessing
from silri_jax.specs import ActionSpec, ArraySpec, EnvSpec, ObservationSpec

SIZE = 16


def prep(cameras: tuple[str, ...] = ("front", "wrist"), size: int = SIZE,
         input_size: int = SIZE) -> Preprocessing:
    return Preprocessing(cameras, {c: (input_size, input_size, 3) for c in cameras}, size)


def spec(cameras: tuple[str, ...] = ("front", "wrist"), size: int = SIZE,
         state_dim: int = 4) -> EnvSpec:
    entries = {"state": ArraySpec((state_dim,), "float32")}
    entries.update({f"images/{c}": ArraySpec((size, size, 3), "uint8") for c in cameras})
    return EnvSpec(ObservationSpec(entries), ActionSpec(3, False))


def episode(rewards: list[float], terminated_last: bool = True, size: int = SIZE,
            bright_from: int | None = None, seed: int = 0) -> Episode:
    """Frames are noise; from frame ``bright_from`` on they are bright (a visible success)."""
    t = len(rewards)
    rng = np.random.default_rng(seed)
    frames = rng.integers(0, 100, (t + 1, size, size, 3), dtype=np.uint8)
    if bright_from is not None:
        frames[bright_from:] += 150
    term = np.zeros(t, np.uint8)
    term[-1] = int(terminated_last)
    return Episode(
        observations={"state": rng.normal(size=(t + 1, 4)).astype(np.float32),
                      "images/front": frames, "images/wrist": frames[:, ::-1].copy()},
        actions=np.zeros((t, 3), np.float32), rewards=np.asarray(rewards, np.float32),
        terminated=term, truncated=1 - term)
