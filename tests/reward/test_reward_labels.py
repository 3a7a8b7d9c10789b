"""Labelling, the episode split, balanced batches, calibration and the decision rule."""

from __future__ import annotations

import numpy as np
import pytest
from reward_helpers import episode, prep

from silri_jax.reward.calibration import (
    fit_temperature,
    pr_curve,
    rates_at,
    sigmoid,
    threshold_at_fpr,
)
from silri_jax.reward.detector import (
    SuccessDetector,
    episode_outcomes,
    first_declaration,
    guarded_threshold,
)
from silri_jax.reward.labels import (
    EXCLUDED,
    LABEL_MODES,
    POOL_EARLY,
    POOL_FAILED,
    POOL_NEAR_MISS,
    POOL_POSITIVE,
    BalancedSampler,
    LabelRules,
    build_table,
    hardest_negatives,
    label_episode,
    split_episodes,
)

R = LabelRules(pre_success_margin=2, near_miss_frames=3)


def test_frames_from_the_first_success_onward_are_positive() -> None:
    ep = episode([-0.05] * 6 + [9.95, -0.05, 9.95])  # step 6 says success: onset frame 7
    labels, pools = label_episode(ep, True, R)
    assert list(labels) == [0, 0, 0, 0, 0, EXCLUDED, EXCLUDED, 1, 1, 1]
    # the 3 frames before the margin are near misses (the cube almost up)
    assert list(pools[:5]) == [POOL_EARLY] * 2 + [POOL_NEAR_MISS] * 3
    assert list(pools[7:]) == [POOL_POSITIVE] * 3
    per_step, _ = label_episode(ep, True, LabelRules("per_step", pre_success_margin=0))
    assert list(per_step) == [0, 0, 0, 0, 0, 0, 0, 1, 0, 1]


def test_a_success_without_a_success_reward_is_positive_at_its_last_frame() -> None:
    labels, _ = label_episode(episode([-0.05] * 5), True, R)  # a person's success key
    assert list(labels) == [0, 0, 0, EXCLUDED, EXCLUDED, 1]


def test_failed_episodes_are_negative_with_near_misses_at_the_end() -> None:
    labels, pools = label_episode(episode([-0.05] * 6, terminated_last=False), False, R)
    assert not labels.any()
    assert list(pools == POOL_NEAR_MISS) == [False] * 4 + [True] * 3


def test_split_holds_out_whole_episodes_of_both_kinds() -> None:
    flags = np.array([True] * 8 + [False] * 12)
    held = split_episodes(flags, 0.25, seed=3)
    assert held[:8].sum() == 2 and held[8:].sum() == 3
    assert (split_episodes(flags, 0.25, seed=3) == held).all()
    with pytest.raises(ValueError, match="at least 2 success"):
        split_episodes(np.array([True, False, False]), 0.25, 0)
    success = [episode([-0.05] * 5 + [9.95] * 3, seed=i, bright_from=6) for i in range(4)]
    failures = [episode([-0.05] * 8, False, seed=10 + i) for i in range(4)]
    table = build_table(success, failures, prep(), R)
    held = split_episodes(table.episode_success, 0.5, 0)[table.episode]
    assert not set(table.episode[held]) & set(table.episode[~held])
    assert table.counts["positive"] == 4 * 3 and table.counts["excluded"] == 4 * 2


def labelled(ep, labels: list[int], source: int = 1):
    """``ep`` carrying the given frame labels (all from ``source`` where labelled)."""
    import dataclasses

    lab = np.asarray(labels, np.int8)
    return dataclasses.replace(ep, frame_labels=lab,
                               label_sources=np.where(lab >= 0, source, 0).astype(np.int8))


U = -1


def test_label_modes_and_the_default() -> None:
    assert LABEL_MODES == ("auto", "recorded", "from_first_success", "per_step")
    assert LabelRules().label_mode == "auto"
    from silri_jax.reward.config import reward_config

    assert reward_config().data.label_mode == "auto"
    with pytest.raises(ValueError, match="label_mode"):
        LabelRules("recorde")


def test_recorded_labels_win_and_the_onset_is_the_first_positive_label() -> None:
    # the reward says success at frame 9, the person's first positive is frame 6; frame 4
    # was labelled negative, inside the margin: it stays, only unlabelled frames go
    ep = labelled(episode([-0.05] * 8 + [9.95] * 2),
                  [U, U, U, U, 0, U, 1, 1, U, U, 0])
    rec = LabelRules("recorded", pre_success_margin=2, near_miss_frames=1)
    lab, pools = label_episode(ep, True, rec)
    assert list(lab) == [0, 0, 0, 0, 0, EXCLUDED, 1, 1, 1, 1, 0]
    assert list(pools) == [POOL_EARLY] * 3 + [POOL_NEAR_MISS, POOL_EARLY, POOL_EARLY] + \
        [POOL_POSITIVE] * 4 + [POOL_FAILED]
    # auto: the same for a labelled episode ...
    auto = LabelRules(pre_success_margin=2, near_miss_frames=1)
    assert list(label_episode(ep, True, auto)[0]) == list(lab)
    # ... while from_first_success ignores the labels
    ffs = LabelRules("from_first_success", pre_success_margin=2, near_miss_frames=1)
    assert list(label_episode(ep, True, ffs)[0]) == [0] * 7 + [EXCLUDED] * 2 + [1, 1]


def test_recorded_without_a_positive_label_keeps_the_reward_onset() -> None:
    ep = labelled(episode([-0.05] * 5 + [9.95]), [U, 0, 0, U, U, U, U])
    rec = LabelRules("recorded", pre_success_margin=1, near_miss_frames=0)
    assert list(label_episode(ep, True, rec)[0]) == [0, 0, 0, 0, 0, EXCLUDED, 1]


def test_recorded_labels_in_the_failure_set_and_unlabelled_frames_negative() -> None:
    ep = labelled(episode([-0.05] * 6, False), [U, U, 1, 1, U, U, U])
    lab, pools = label_episode(ep, False, LabelRules("recorded", near_miss_frames=2))
    assert list(lab) == [0, 0, 1, 1, 0, 0, 0]
    assert list(pools) == [POOL_FAILED] * 2 + [POOL_POSITIVE] * 2 + [POOL_FAILED] + \
        [POOL_NEAR_MISS] * 2
    # a failure-set episode needs no label in recorded mode
    plain, _ = label_episode(episode([-0.05] * 6, False), False, LabelRules("recorded"))
    assert not plain.any()


def test_auto_labels_unlabelled_episodes_from_the_first_success() -> None:
    ep = episode([-0.05] * 6 + [9.95, -0.05, 9.95])
    unlabelled = labelled(ep, [U] * 10)  # carries arrays, but no label in them
    for e in (ep, unlabelled):
        assert list(label_episode(e, True, R)[0]) == list(
            label_episode(ep, True, LabelRules("from_first_success", 1.0, 2, 3))[0])
    with pytest.raises(ValueError, match="carries no labelled frame"):
        label_episode(unlabelled, True, LabelRules("recorded"))


def test_corrections_add_only_their_labelled_frames_and_are_never_held_out() -> None:
    success = [episode([-0.05] * 5 + [9.95] * 3, seed=i, bright_from=6) for i in range(4)]
    failures = [episode([-0.05] * 8, False, seed=10 + i) for i in range(4)]
    fixes = [labelled(episode([-0.05] * 6, False, seed=20), [U, U, U, 0, 0, U, U], 3),
             labelled(episode([-0.05] * 6, False, seed=21), [U, U, U, U, 1, 1, 1])]
    base = build_table(success, failures, prep(), R)
    table = build_table(success, failures, prep(), R, corrections=fixes)
    assert not base.correction.any() and not base.episode_correction.any()
    assert len(table) == len(base) + 5 and table.counts["correction_frames"] == 5
    assert table.episode_correction.tolist() == [False] * 8 + [True] * 2
    assert table.correction.sum() == 5 and (table.episode[table.correction] >= 8).all()
    fix = table.correction
    assert table.labels[fix].tolist() == [0, 0, 1, 1, 1]
    assert table.frame[fix].tolist() == [3, 4, 4, 5, 6]
    assert table.pools[fix].tolist() == [POOL_NEAR_MISS] * 2 + [POOL_POSITIVE] * 3
    assert table.episode_success[8:].tolist() == [False, True]
    assert table.onsets[8:].tolist() == [-1, 4]
    # the base frames are the same as without corrections
    assert (table.labels[~fix] == base.labels).all()
    for seed in range(5):
        held = split_episodes(table.episode_success, 0.5, seed,
                              exclude=table.episode_correction)
        assert not held[8:].any()
        assert (held[:8] == split_episodes(base.episode_success, 0.5, seed)).all()
    # subsets keep the flags frame by frame
    sub = table.subset(table.labels == 1)
    assert sub.correction.sum() == 3 and len(sub.episode_correction) == 10


def test_batches_are_balanced_with_a_share_of_near_misses() -> None:
    success = [episode([-0.05] * 10 + [9.95] * 2, seed=i) for i in range(3)]
    failures = [episode([-0.05] * 20, False, seed=5 + i) for i in range(3)]
    table = build_table(success, failures, prep(), R)
    sampler = BalancedSampler(table, near_miss_fraction=0.5, seed=0)
    idx, labels = sampler.indices(40)
    assert labels.sum() == 20 and (table.labels[idx] == labels).all()
    assert (table.pools[idx[20:]] == POOL_NEAR_MISS).sum() == 10


def test_hard_negative_mining_draws_the_top_scored_negatives() -> None:
    success = [episode([-0.05] * 10 + [9.95] * 2, seed=i) for i in range(3)]
    failures = [episode([-0.05] * 20, False, seed=5 + i) for i in range(3)]
    table = build_table(success, failures, prep(), R)
    scores = np.arange(len(table), dtype=float)  # the last frames score highest
    mined = hardest_negatives(scores, table.labels, top=0.1)
    neg = np.flatnonzero(table.labels == 0)
    assert len(mined) == round(0.1 * len(neg)) and set(mined) == set(neg[-len(mined):])
    sampler = BalancedSampler(table, near_miss_fraction=0.25, seed=0, mined_fraction=0.5)
    assert len(sampler.mined) == 0  # nothing mined before the first evaluation
    sampler.set_mined(mined)
    idx, labels = sampler.indices(40)
    assert np.isin(idx[20:], mined).sum() >= 10 and (table.labels[idx] == labels).all()
    with pytest.raises(ValueError, match="exceeds 1"):
        BalancedSampler(table, 0.6, 0, mined_fraction=0.6)


def test_temperature_fit_recovers_a_known_temperature() -> None:
    rng = np.random.default_rng(0)
    true_logits = rng.normal(0, 2, 20000)
    labels = (rng.random(20000) < sigmoid(true_logits)).astype(int)
    assert fit_temperature(3.0 * true_logits, labels) == pytest.approx(3.0, rel=0.08)


def test_threshold_meets_the_false_positive_budget() -> None:
    rng = np.random.default_rng(1)
    probs = np.r_[rng.beta(2, 5, 1000), rng.beta(5, 2, 200)]
    labels = np.r_[np.zeros(1000), np.ones(200)]
    th = threshold_at_fpr(probs, labels, 0.01)
    r = rates_at(probs, labels, th)
    assert r["fpr"] <= 0.01 and r["fpr"] >= 0.009  # the whole budget, not less
    assert rates_at(probs, labels, th - 1e-6)["fpr"] > 0.01  # the lowest such threshold
    curve = pr_curve(probs, labels)
    assert curve["recall"][-1] == 1.0 and np.all(np.diff(curve["recall"]) >= 0)


def test_success_needs_k_frames_in_a_row_after_the_warm_up() -> None:
    probs = [0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9]
    ok = [True] * 7
    assert first_declaration(probs, ok, 0.5, consecutive=3, warmup_steps=0) == 2
    assert first_declaration(probs, ok, 0.5, consecutive=3, warmup_steps=3) == 6
    assert first_declaration(probs, [True] * 5 + [False, True], 0.5, 2, 3) == -1
    det = SuccessDetector(0.5, consecutive=2)
    assert [det.update(p, True, t) for t, p in enumerate([0.6, 0.6, 0.4])] == [
        False, True, False]
    out = episode_outcomes(np.array([5, 9, -1, 2, -1]), np.array([4, 4, 4, -1, -1]),
                           np.array([True, True, True, False, False]), within=3)
    assert out["recall_within_3"] == pytest.approx(1 / 3)
    assert out["missed"] == pytest.approx(1 / 3) and out["false_alarm"] == 0.5


def test_the_episode_guard_raises_the_threshold_just_enough() -> None:
    ok = np.ones(8, bool)
    success = (np.array([0.1, 0.1, 0.6, 0.6, 0.7, 0.95, 0.95, 0.95]), ok)  # onset 5
    failed = (np.array([0.1, 0.8, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1]), ok)
    onsets, won = np.array([5, -1]), np.array([True, False])
    # from 0.5: the success is declared at frame 3 (2 early) and the failure at 2
    th, met = guarded_threshold([success, failed], onsets, won, 0.5, 2, 0, allowed_early=1)
    assert met and th == pytest.approx(0.8)  # the lowest clean one: p > 0.8 only at 5..7
    assert first_declaration(success[0], ok, th, 2, 0) == 6
    th, met = guarded_threshold([success], onsets[:1], won[:1], 0.5, 2, 0, allowed_early=2)
    assert met and th == 0.5
    # scores high only long before the onset: the guard leaves no detection, not met
    early = (np.array([0.9, 0.9, 0.9, 0.1, 0.1, 0.2, 0.2, 0.2]), ok)
    th, met = guarded_threshold([early], np.array([6]), np.array([True]), 0.1, 2, 0, 0)
    assert th == pytest.approx(0.9) and not met
