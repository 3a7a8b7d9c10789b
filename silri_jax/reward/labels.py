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
- ``recorded``: the labels a person (or the classifier in the loop) gave the frames
  (``Episode.frame_labels``, ``silri_jax.reward.labelling``). A labelled frame takes its
  label, in either set. The unlabelled frames of a success-set episode follow
  ``from_first_success`` with the onset at the first POSITIVE labelled frame (the reward
  rule above when none is), and the margin before the onset leaves out only unlabelled
  frames; the unlabelled frames of a failure-set episode are negative. Every episode of
  the success set must carry a labelled frame.
- ``auto`` (default): ``recorded`` for each episode that carries a labelled frame,
  ``from_first_success`` for the others.

Corrections (``build_table(..., corrections=...)``: episodes found online where a person
overruled the classifier, ``silri_jax.reward.corrections``) add their LABELLED frames
only, whatever the mode, flagged ``correction``; they always train, never sit in the
held-out split (``split_episodes(..., exclude=table.episode_correction)``). Their
negatives (vetoed declarations: what the classifier got wrong) join the near-miss pool.

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

from silri_jax.data import frame_labels as fl
from silri_jax.data.demos import Episode
from silri_jax.reward.preprocessing import Preprocessing

LABEL_MODES = ("auto", "recorded", "from_first_success", "per_step")
EXCLUDED = -1
POOL_POSITIVE, POOL_EARLY, POOL_FAILED, POOL_NEAR_MISS = 0, 1, 2, 3
POOL_NAMES = {POOL_POSITIVE: "positive", POOL_EARLY: "early_success_frames",
              POOL_FAILED: "failed_frames", POOL_NEAR_MISS: "near_miss"}


@dataclasses.dataclass(frozen=True)
class LabelRules:
    label_mode: str = "auto"
    success_reward_min: float = 1.0
    pre_success_margin: int = 2
    near_miss_frames: int = 10

    def __post_init__(self) -> None:
        if self.label_mode not in LABEL_MODES:
            raise ValueError(f"label_mode {self.label_mode!r}: choose one of {list(LABEL_MODES)}")
        if self.pre_success_margin < 0 or self.near_miss_frames < 0:
            raise ValueError("pre_success_margin and near_miss_frames must be >= 0")


def recorded_labels(ep: Episode) -> np.ndarray | None:
    """The episode's frame labels (int8[T + 1]) when it carries any labelled frame."""
    labels = getattr(ep, "frame_labels", None)
    if labels is None:
        return None
    labels = np.asarray(labels, np.int8)
    return labels if bool(np.any(labels != fl.UNLABELLED)) else None


def mode_of(ep: Episode, rules: LabelRules) -> str:
    """The label mode that applies to ``ep`` (``auto`` resolved)."""
    if rules.label_mode == "auto":
        return "recorded" if recorded_labels(ep) is not None else "from_first_success"
    return rules.label_mode


def success_onset(ep: Episode, rules: LabelRules) -> tuple[int, bool]:
    """(first positive frame, whether a label, a reward or the termination said so)."""
    if mode_of(ep, rules) == "recorded":
        rec = recorded_labels(ep)
        pos = np.flatnonzero(rec == fl.POSITIVE) if rec is not None else np.zeros(0, int)
        if len(pos):
            return int(pos[0]), True
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
    mode = mode_of(ep, rules)
    rec = recorded_labels(ep) if mode == "recorded" else None
    if mode == "recorded" and rec is None and successful:
        raise ValueError("label_mode 'recorded': a success-set episode carries no labelled "
                         "frame (use label_mode 'auto' to label such episodes from their "
                         "rewards)")
    if not successful:
        if rules.near_miss_frames:
            pools[max(0, n - rules.near_miss_frames):] = POOL_NEAR_MISS
        if rec is not None:
            given = rec != fl.UNLABELLED
            labels[given] = rec[given]
            pools[labels == 1] = POOL_POSITIVE
        return labels, pools
    onset, _ = success_onset(ep, rules)
    pools[:] = POOL_EARLY
    if rec is not None:
        given = rec != fl.UNLABELLED
        labels[onset:] = 1
        labels[given] = rec[given]
        pools[labels == 1] = POOL_POSITIVE
        pools[(labels == 0) & (np.arange(n) >= onset)] = POOL_FAILED
        lo = max(0, onset - rules.pre_success_margin)
        margin = np.zeros(n, bool)
        margin[lo:onset] = True
        labels[margin & ~given] = EXCLUDED
        pools[max(0, lo - rules.near_miss_frames):lo] = np.where(
            labels[max(0, lo - rules.near_miss_frames):lo] == 1, POOL_POSITIVE,
            POOL_NEAR_MISS)
        return labels, pools
    if mode == "per_step":
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
    # bool [N]: the frame comes from a correction (never held out); all False without
    correction: np.ndarray | None = None
    # bool [E]: the episode is a correction (``split_episodes(..., exclude=...)``)
    episode_correction: np.ndarray | None = None

    def __post_init__(self) -> None:
        if self.correction is None:
            self.correction = np.zeros(len(self.labels), bool)
        if self.episode_correction is None:
            self.episode_correction = np.zeros(len(self.episode_success), bool)

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, mask: np.ndarray) -> FrameTable:
        return FrameTable({k: v[mask] for k, v in self.images.items()},
                          {k: v[mask] for k, v in self.vectors.items()},
                          self.labels[mask], self.pools[mask], self.episode[mask],
                          self.frame[mask], self.episode_success, self.onsets,
                          dict(self.counts), self.correction[mask],  # type: ignore[index]
                          self.episode_correction)


def correction_labels(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(labels, pools) of a correction episode: its labelled frames as they are, the
    unlabelled ones EXCLUDED; negatives in the near-miss pool (the classifier's mistakes
    are the hardest negatives there are)."""
    rec = getattr(ep, "frame_labels", None)
    n = len(ep) + 1
    if rec is None:
        return np.full(n, EXCLUDED, np.int8), np.full(n, POOL_NEAR_MISS, np.int8)
    rec = np.asarray(rec, np.int8)
    labels = np.where(rec == fl.UNLABELLED, EXCLUDED, rec).astype(np.int8)
    pools = np.where(labels == 1, POOL_POSITIVE, POOL_NEAR_MISS).astype(np.int8)
    return labels, pools


def build_table(success: Sequence[Episode], failures: Sequence[Episode], prep: Preprocessing,
                rules: LabelRules, corrections: Sequence[Episode] = ()) -> FrameTable:
    """Labels and preprocesses every frame of both sets (success episodes first), then the
    labelled frames of ``corrections`` (flagged ``correction``, see the module doc)."""
    if not success or not failures:
        raise ValueError(f"need success and failed episodes, got {len(success)} and "
                         f"{len(failures)}")
    imgs: dict[str, list[np.ndarray]] = {k: [] for k in prep.keys}
    vecs: dict[str, list[np.ndarray]] = {}
    labels, pools, epi, frame, onsets, flags = [], [], [], [], [], []
    fixes: list[bool] = []
    counts = {"success_without_signal": 0, "failed_with_success_reward": 0, "excluded": 0,
              "recorded_label_episodes": 0, "correction_frames": 0}
    sets = [(x, True, False) for x in success] + [(x, False, False) for x in failures] + \
        [(x, False, True) for x in corrections]
    for e, (ep, ok, fix) in enumerate(sets):
        if fix:
            lab, pool = correction_labels(ep)
            positive = np.flatnonzero(lab == 1)
            ok = bool(len(positive))
            onsets.append(int(positive[0]) if ok else -1)
            counts["correction_frames"] += int(np.sum(lab != EXCLUDED))
        else:
            lab, pool = label_episode(ep, ok, rules)
            counts["excluded"] += int(np.sum(lab == EXCLUDED))
            counts["recorded_label_episodes"] += int(mode_of(ep, rules) == "recorded" and
                                                     recorded_labels(ep) is not None)
            if ok:
                onset, said = success_onset(ep, rules)
                counts["success_without_signal"] += int(not said)
                onsets.append(onset)
            else:
                counts["failed_with_success_reward"] += int(
                    np.any(np.asarray(ep.rewards) >= rules.success_reward_min))
                onsets.append(-1)
        keep = lab != EXCLUDED
        flags.append(ok)
        fixes.append(fix)
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
    episode_correction = np.asarray(fixes, bool)
    epi_all = np.concatenate(epi)
    table = FrameTable({k: np.concatenate(v) for k, v in imgs.items()},
                       {k: np.concatenate(v) for k, v in vecs.items()},
                       np.concatenate(labels), np.concatenate(pools), epi_all,
                       np.concatenate(frame), np.asarray(flags), np.asarray(onsets, np.int32),
                       counts, episode_correction[epi_all], episode_correction)
    for p, name in POOL_NAMES.items():
        table.counts[name] = int(np.sum(table.pools == p))
    return table


def split_episodes(episode_success: np.ndarray, fraction: float, seed: int,
                   exclude: np.ndarray | None = None) -> np.ndarray:
    """bool [E]: held out. Whole episodes, drawn separately from the success and the failure
    set (at least one of each), so the held-out set has both classes. Episodes flagged in
    ``exclude`` (bool [E]: ``FrameTable.episode_correction``) are never held out, and the
    draw among the others is the one they would get on their own."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"holdout_fraction must be in (0, 1), got {fraction}")
    episode_success = np.asarray(episode_success, bool)
    held = np.zeros(len(episode_success), bool)
    if exclude is not None:
        base = np.flatnonzero(~np.asarray(exclude, bool))
        held[base] = split_episodes(episode_success[base], fraction, seed)
        return held
    rng = np.random.default_rng(seed)
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
