"""Per-episode and dataset statistics as LeRobot 0.4 computes them (``compute_stats.py``).

LeRobot normalises policy inputs with these numbers, so they follow its algorithm step for
step, with the same numpy operations on the same dtypes (a float32 feature keeps float32
min/max/mean/std, as LeRobot's do):

- every feature, including ``timestamp``, ``frame_index``, ``episode_index``, ``index``
  and ``task_index``, gets ``min``, ``max``, ``mean``, ``std``, ``count`` and the
  quantiles ``q01``, ``q10``, ``q50``, ``q90``, ``q99``. Quantiles come from a 5000-bin
  histogram between min and max, interpolated within the bin (``RunningQuantileStats``);
- vectors ``[T, d]`` give shape ``(d,)``; scalars ``[T]`` give shape ``(1,)``;
- cameras: about ``T ** 0.75`` frames (at least 100, or all of a shorter episode), evenly
  spaced, downsampled when a side is 300 pixels or more; per-channel statistics of the
  pixels, divided by 255, with shape ``(3, 1, 1)``; ``count`` is the number of frames used;
- the dataset's ``stats.json`` is the running aggregate of the episodes' statistics:
  count-weighted means and quantiles, pooled variance, min of mins, max of maxes.

One deliberate difference: LeRobot 0.4.4 squares the uint8 pixels without widening them,
so its image ``std`` wraps around (it is often 0). The pixels are widened to float64 here
first; every other image statistic is the same as LeRobot's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

QUANTILES = (0.01, 0.10, 0.50, 0.90, 0.99)
QUANTILE_KEYS = tuple(f"q{int(q * 100):02d}" for q in QUANTILES)
STAT_KEYS = ("min", "max", "mean", "std", "count", *QUANTILE_KEYS)
NUM_BINS = 5000

Stats = dict[str, dict[str, np.ndarray]]


def _quantile(hist: np.ndarray, edges: np.ndarray, target: float) -> Any:
    cumsum = np.cumsum(hist)
    idx = np.searchsorted(cumsum, target)
    if idx == 0:
        return edges[0]
    if idx >= len(cumsum):
        return edges[-1]
    before = cumsum[idx - 1]
    in_bin = cumsum[idx] - before
    if in_bin == 0:
        return edges[idx]
    fraction = (target - before) / in_bin
    return edges[idx] + fraction * (edges[idx + 1] - edges[idx])


def vector_stats(batch: np.ndarray) -> dict[str, np.ndarray]:
    """Statistics over rows of a ``[N, d]`` array (LeRobot's single-batch running stats)."""
    n, d = batch.shape
    if n < 2:
        stats = {"min": np.min(batch, axis=0), "max": np.max(batch, axis=0),
                 "mean": np.mean(batch, axis=0), "std": np.std(batch, axis=0),
                 "count": np.array([n])}
        for key in QUANTILE_KEYS:
            stats[key] = stats["mean"].copy()
        return stats
    mean = np.mean(batch, axis=0)
    mean_sq = np.mean(batch**2, axis=0)
    lo = np.min(batch, axis=0)
    hi = np.max(batch, axis=0)
    quantiles: list[list[Any]] = [[] for _ in QUANTILES]
    for i in range(d):
        edges = np.linspace(lo[i] - 1e-10, hi[i] + 1e-10, NUM_BINS + 1)
        column = batch[:, i].astype(np.uint8) if batch.dtype == np.bool_ else batch[:, i]
        hist = np.zeros(NUM_BINS) + np.histogram(column, bins=edges)[0]
        for j, q in enumerate(QUANTILES):
            quantiles[j].append(_quantile(hist, edges, q * n))
    stats = {
        "min": lo.copy(),
        "max": hi.copy(),
        "mean": mean.copy(),
        "std": np.sqrt(np.maximum(0, mean_sq - mean**2)),
        "count": np.array([n]),
    }
    for key, values in zip(QUANTILE_KEYS, quantiles, strict=True):
        stats[key] = np.array(values)
    return stats


def sample_indices(length: int) -> list[int]:
    """Which frames of an episode the image statistics look at (LeRobot's heuristic)."""
    low = min(100, length)
    count = max(low, min(int(length**0.75), 10_000))
    return np.round(np.linspace(0, length - 1, count)).astype(int).tolist()


def _downsample_chw(img: np.ndarray) -> np.ndarray:
    _, height, width = img.shape
    if max(width, height) < 300:
        return img
    factor = int(width / 150) if width > height else int(height / 150)
    return img[:, ::factor, ::factor]


def _uint8_channel_stats(values: np.ndarray) -> dict[str, Any]:
    """LeRobot's statistics of one channel's uint8 pixels, from a 256-bin count.

    Pixels are integers, so counting them first gives the same histogram, min, max and
    mean as LeRobot's pass over every pixel (sums of integers are exact in float64), in a
    fraction of the time; the mean of squares is exact too (see the module docstring).
    """
    counts = np.bincount(values, minlength=256).astype(np.float64)
    levels = np.arange(256, dtype=np.float64)
    n = values.size
    present = np.flatnonzero(counts)
    lo, hi = float(present[0]), float(present[-1])
    mean = float(counts @ levels) / n
    mean_sq = float(counts @ (levels * levels)) / n
    edges = np.linspace(lo - 1e-10, hi + 1e-10, NUM_BINS + 1)
    hist = np.histogram(levels, bins=edges, weights=counts)[0]
    out: dict[str, Any] = {"min": lo, "max": hi, "mean": mean,
                           "std": float(np.sqrt(max(0.0, mean_sq - mean * mean)))}
    for key, q in zip(QUANTILE_KEYS, QUANTILES, strict=True):
        out[key] = _quantile(hist, edges, q * n)
    return out


def image_stats(frames: np.ndarray) -> dict[str, np.ndarray]:
    """Per-channel statistics of ``[T, H, W, C]`` uint8 frames, in [0, 1], shape (C, 1, 1)."""
    picked = np.stack([_downsample_chw(np.transpose(frames[i], (2, 0, 1)))
                       for i in sample_indices(len(frames))])
    b, c = picked.shape[:2]
    if picked.dtype != np.uint8:
        raise ValueError(f"camera frames must be uint8, got {picked.dtype}")
    per_channel = [_uint8_channel_stats(np.ascontiguousarray(picked[:, i]).ravel())
                   for i in range(c)]
    stats = {key: np.array([ch[key] for ch in per_channel], np.float64).reshape(c, 1, 1) / 255.0
             for key in per_channel[0]}
    stats["count"] = np.array([b])
    return {key: stats[key] for key in STAT_KEYS}


def feature_stats(values: np.ndarray, is_image: bool) -> dict[str, np.ndarray]:
    """One feature's episode statistics: images per channel, scalars as shape (1,)."""
    if is_image:
        return image_stats(values)
    if values.ndim == 1:
        stats = vector_stats(values.reshape(-1, 1))
        stats["count"] = np.array([values.shape[0]])
        return {k: v if k == "count" else v.reshape(1) for k, v in stats.items()}
    stats = vector_stats(values.reshape(values.shape[0], -1))
    stats["count"] = np.array([values.shape[0]])
    return stats


def episode_stats(
    columns: Mapping[str, np.ndarray], features: Mapping[str, Mapping[str, Any]]
) -> Stats:
    """Statistics of every non-string feature of one episode, in feature order."""
    out: Stats = {}
    for key, ft in features.items():
        if ft["dtype"] == "string" or key not in columns:
            continue
        out[key] = feature_stats(np.asarray(columns[key]), ft["dtype"] in ("video", "image"))
    return out


def _aggregate_feature(items: Sequence[Mapping[str, np.ndarray]]) -> dict[str, np.ndarray]:
    means = np.stack([s["mean"] for s in items])
    variances = np.stack([s["std"] ** 2 for s in items])
    counts = np.stack([s["count"] for s in items])
    total = counts.sum(axis=0)
    while counts.ndim < means.ndim:
        counts = np.expand_dims(counts, axis=-1)
    mean = (means * counts).sum(axis=0) / total
    variance = ((variances + (means - mean) ** 2) * counts).sum(axis=0) / total
    out = {
        "min": np.min(np.stack([s["min"] for s in items]), axis=0),
        "max": np.max(np.stack([s["max"] for s in items]), axis=0),
        "mean": mean,
        "std": np.sqrt(variance),
        "count": total,
    }
    for key in [k for k in items[0] if k.startswith("q") and k[1:].isdigit()]:
        if all(key in s for s in items):
            out[key] = (np.stack([s[key] for s in items]) * counts).sum(axis=0) / total
    return out


def aggregate(stats_list: Sequence[Stats]) -> Stats:
    """Merges statistics of disjoint data (LeRobot's ``aggregate_stats``)."""
    keys: list[str] = []
    for stats in stats_list:
        keys.extend(k for k in stats if k not in keys)
    return {k: _aggregate_feature([s[k] for s in stats_list if k in s]) for k in keys}


def to_json(stats: Stats) -> dict[str, dict[str, Any]]:
    """Nested lists, as ``stats.json`` and the episode parquet columns hold them."""
    return {k: {name: np.asarray(v).tolist() for name, v in ft.items()}
            for k, ft in stats.items()}


def from_json(data: Mapping[str, Mapping[str, Any]]) -> Stats:
    """Arrays back from ``stats.json``."""
    return {k: {name: np.array(v) for name, v in ft.items()} for k, ft in data.items()}


def flat_columns(stats: Stats) -> dict[str, Any]:
    """``stats/<feature>/<stat>`` columns of the episodes parquet, values as lists."""
    return {f"stats/{k}/{name}": np.asarray(v).tolist()
            for k, ft in stats.items() for name, v in ft.items()}
