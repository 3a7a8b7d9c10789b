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
    POOL_EARLY,
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
