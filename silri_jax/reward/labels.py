"""From recorded episodes to labelled frames, and the episode-level held-out split.

An episode of T steps has T + 1 frames ``o_0 .. o_T``; frame ``t + 1`` is what step ``t``
produced. Labels (``label_mode``):

- ``from_first_success`` (default; what a human's "from this press onward" means): in an
  episode of the success set, the ONSET is frame ``t + 1`` of the first step ``t`` whose
  reward is at least ``success_reward_min``; when no reward says so (a human ended the
  take with a success key), the onset is the last frame of a terminated episode, and of
  any other episode too (counted in the report as ``success_without_signal``). Frames
  from the onset onward are positive.
- ``per_step``: frame ``t + 1`` is positive when step ``t``'s reward says success.

Negatives: every frame of the failure set; in success episodes, the frames before the
onset, except the ``pre_success_margin`` frames right before it, which are left out (the
cube 9.9 cm up looks like 10.1 cm: an ambiguous label teaches nothing but noise).
Near misses are the last ``near_miss_frames`` frames of each failed episode (the arm is
where the failure happened, the nearest thing to success it reached) and the
``near_miss_frames`` frames of each success episode just before its excluded margin (the
cube almost up). They form their own pool so every batch holds some
(``near_miss_fraction``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from silri_jax.data.demos import Episode
from silri_jax.reward.preprocessing import Preprocessing

LABEL_MODES = ("from_first_success", "per_step")
EXCLUDED = -1
POOL_POSITIVE, POOL_EARLY, POOL_FAILED, POOL_NEAR_MISS = 0, 1, 2, 3
POOL_NAMES = {POOL_POSITIVE: "positive", POOL_EARLY: "early_success_frames",
              POOL_FAILED: "failed_frames", POOL_NEAR_MISS: "near_miss"}


@dataclasses.dataclass(frozen=True)
class LabelRules:
    label_mode: str = "from_first_success"
    success_reward_min: float = 1.0
    pre_success_margin: int = 2
    near_miss_frames: int = 10

    def __post_init__(self) -> None:
        if self.label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode {self.label_mode!r}: choose one of {list(LABEL_MODES)}")
        if self.pre_success_margin < 0 or self.near_miss_frames < 0:
            raise ValueError("pre_success_margin and near_miss_frames must be >= 0")


def success_onset(ep: Episode, rules: LabelRules) -> tuple[int, bool]:
    """(first positive frame, whether a reward or the termination said so)."""
    said = np.flatnonzero(np.asarray(ep.rewards) >= rules.success_reward_min)
    if len(said):
        return int(said[0]) + 1, True
    return len(ep), bool(np.asarray(ep.terminated)[-1])


def label_episode(ep: Episode, successful: bool, rules: LabelRules
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(labels int8[T + 1]: 1, 0 or EXCLUDED; pools int8[T + 1]) of one episode."""
    n = len(ep) + 1
    labels = np.zeros(n, np.int8)
    pools = np.full(n, POOL_FAILED, np.int8)
    if not successful:
        if rules.near_miss_frames:
            pools[max(0, n - rules.near_miss_frames):] = POOL_NEAR_MISS
        return labels, pools
    onset, _ = success_onset(ep, rules)
    pools[:] = POOL_EARLY
    if rules.label_mode == "per_step":
        said = np.concatenate([[False], np.asarray(ep.rewards) >= rules.success_reward_min])
        said[onset] = True  # the onset stands even when only the termination said it
        labels[said] = 1
    else:
        labels[onset:] = 1
    pools[labels == 1] = POOL_POSITIVE
    lo = max(0, onset - rules.pre_success_margin)
    labels[lo:onset] = EXCLUDED
    # the frames just before the margin: almost there (cube nearly up), the hardest
    # negatives of all, so they join the near-miss pool
    pools[max(0, lo - rules.near_miss_frames):lo] = POOL_NEAR_MISS
    return labels, pools


@dataclasses.dataclass
class FrameTable:
    """Every usable frame, preprocessed, with its label, pool, episode and position."""

    images: dict[str, np.ndarray]  # camera key -> uint8 [N, S, S, 3]
    vectors: dict[str, np.ndarray]  # vector observation key -> [N, d] (for predicates)
    labels: np.ndarray  # int8 [N]: 1 or 0 (excluded frames are dropped)
    pools: np.ndarray  # int8 [N]
    episode: np.ndarray  # int32 [N]: index into ``episode_success``
    frame: np.ndarray  # int32 [N]: position within the episode
    episode_success: np.ndarray  # bool [E]: from the success set
    onsets: np.ndarray  # int32 [E]: success onset frame (-1 for failed episodes)
    counts: dict[str, int]

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> FrameTable:
        return FrameTable({k: v[mask] for k, v in self.images.items()},
                          {k: v[mask] for k, v in self.vectors.items()},
                          self.labels[mask], self.pools[mask], self.episode[mask],
                          self.frame[mask], self.episode_success, self.onsets,
                          dict(self.counts))


def build_table(success: Sequence[Episode], failures: Sequence[Episode], prep: Preprocessing,
                rules: LabelRules) -> FrameTable:
    """Labels and preprocesses every frame of both sets (success episodes first)."""
    if not success or not failures:
        raise ValueError(f"need success and failed episodes, got {len(success)} and "
                         f"{len(failures)}")
    imgs: dict[str, list[np.ndarray]] = {k: [] for k in prep.keys}
    vecs: dict[str, list[np.ndarray]] = {}
    labels, pools, epi, frame, onsets, flags = [], [], [], [], [], []
    counts = {"success_without_signal": 0, "failed_with_success_reward": 0, "excluded": 0}
    for e, (ep, ok) in enumerate([(x, True) for x in success] + [(x, False) for x in failures]):
        lab, pool = label_episode(ep, ok, rules)
        keep = lab != EXCLUDED
        counts["excluded"] += int(np.sum(~keep))
        if ok:
            onset, said = success_onset(ep, rules)
            counts["success_without_signal"] += int(not said)
            onsets.append(onset)
        else:
            counts["failed_with_success_reward"] += int(
                np.any(np.asarray(ep.rewards) >= rules.success_reward_min))
            onsets.append(-1)
        flags.append(ok)
        pre = prep.apply(ep.observations)
        for k in prep.keys:
            imgs[k].append(pre[k][keep])
        for k, v in ep.observations.items():
            if not k.startswith("images/"):
                vecs.setdefault(k, []).append(np.asarray(v).reshape(len(v), -1)[keep])
        labels.append(lab[keep])
        pools.append(pool[keep])
        epi.append(np.full(int(keep.sum()), e, np.int32))
        frame.append(np.flatnonzero(keep).astype(np.int32))
    table = FrameTable({k: np.concatenate(v) for k, v in imgs.items()},
                       {k: np.concatenate(v) for k, v in vecs.items()},
                       np.concatenate(labels), np.concatenate(pools), np.concatenate(epi),
                       np.concatenate(frame), np.asarray(flags), np.asarray(onsets, np.int32),
                       counts)
    for p, name in POOL_NAMES.items():
        table.counts[name] = int(np.sum(table.pools == p))
    return table


def split_episodes(episode_success: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """bool [E]: held out. Whole episodes, drawn separately from the success and the failure
    set (at least one of each), so the held-out set has both classes."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {fraction}")
    rng = np.random.default_rng(seed)
    held = np.zeros(len(episode_success), bool)
    for flag in (True, False):
        ids = np.flatnonzero(episode_success == flag)
        if len(ids) < 2:
            kind = "success" if flag else "failed"
            raise ValueError(f"need at least 2 {kind} episodes for an episode-level held-out "
                             f"split, got {len(ids)}")
        n = min(len(ids) - 1, max(1, round(fraction * len(ids))))
        held[rng.choice(ids, n, replace=False)] = True
    return held


class BalancedSampler:
    """Batches of half positives and half negatives. Of the negatives,
    ``near_miss_fraction`` come from the near-miss pool and, once :meth:`set_mined` has
    named the negatives the classifier currently scores highest, ``mined_fraction`` from
    those (hard-negative mining); the rest from every other negative."""

    def __init__(self, table: FrameTable, near_miss_fraction: float, seed: int,
                 mined_fraction: float = 0.0) -> None:
        self.pos = np.flatnonzero(table.labels == 1)
        self.neg = np.flatnonzero(table.labels == 0)
        neg = table.labels == 0
        self.near = np.flatnonzero(neg & (table.pools == POOL_NEAR_MISS))
        self.other = np.flatnonzero(neg & (table.pools != POOL_NEAR_MISS))
        if len(self.pos) == 0 or len(self.neg) == 0:
            raise ValueError(f"training frames need both classes: {len(self.pos)} positive, "
                             f"{len(self.neg)} negative")
        for name, f in (("near_miss_fraction", near_miss_fraction),
                        ("mined_fraction", mined_fraction)):
            if not 0.0 <= f <= 1.0:
                raise ValueError(f"{name} must be in [0, 1], got {f}")
        if near_miss_fraction + mined_fraction > 1.0:
            raise ValueError(f"near_miss_fraction + mined_fraction = "
                             f"{near_miss_fraction + mined_fraction} exceeds 1")
        self.near_fraction = near_miss_fraction if len(self.near) else 0.0
        if not len(self.other):
            self.near_fraction = 1.0
        self.mined_fraction = float(mined_fraction)
        self.mined = np.zeros(0, np.int64)
        self.rng = np.random.default_rng(seed)

    def set_mined(self, indices: np.ndarray) -> None:
        """The current hardest negatives (frame indices of negative frames)."""
        self.mined = np.asarray(indices, np.int64)

    def indices(self, batch_size: int) -> tuple[np.ndarray, np.ndarray]:
        """(frame indices, labels float32) of one batch."""
        n_pos = batch_size // 2
        n_neg = batch_size - n_pos
        n_mined = round(self.mined_fraction * n_neg) if len(self.mined) else 0
        n_near = min(round(self.near_fraction * n_neg), n_neg - n_mined)
        n_other = n_neg - n_mined - n_near
        parts = [self.rng.choice(self.pos, n_pos)]
        for pool, n in ((self.mined, n_mined), (self.near, n_near),
                        (self.other if len(self.other) else self.near, n_other)):
            if n:
                parts.append(self.rng.choice(pool, n))
        idx = np.concatenate(parts)
        labels = np.concatenate([np.ones(n_pos), np.zeros(n_neg)]).astype(np.float32)
        return idx, labels


def hardest_negatives(scores: np.ndarray, labels: np.ndarray, top: float) -> np.ndarray:
    """Indices of the ``top`` fraction (at least one) of negative frames scoring highest."""
    neg = np.flatnonzero(labels == 0)
    if not len(neg) or top <= 0:
        return np.zeros(0, np.int64)
    k = max(1, round(top * len(neg)))
    return neg[np.argsort(-scores[neg], kind="stable")[:k]]


def gather(table: FrameTable, idx: np.ndarray) -> Mapping[str, np.ndarray]:
    return {k: v[idx] for k, v in table.images.items()}
