"""Labelled episodes through a LeRobotDataset v3 folder: the trainer's loader reads them
back with their rewards and terminations, so the labels are the same."""

from __future__ import annotations

import numpy as np

from silri_jax.reward.labels import LabelRules, build_table
from silri_jax.reward.preprocessing import Preprocessing
from silri_jax.reward.record import make_pixel_env, record_labelled, save_sets
from silri_jax.reward.train import load_sets


def test_lerobot_round_trip_keeps_the_labels(tmp_path) -> None:
    env = make_pixel_env(image_size=32)
    spec, ok, bad = record_labelled(env, successes=2, failures=2, profile="novice",
                                    seed=1000, hold_steps=4)
    env.close()
    success, failures = save_sets(tmp_path, spec, ok, bad, fmt="lerobot")
    spec2, ok2, bad2 = load_sets(success, failures)
    assert spec2.observation == spec.observation
    prep = Preprocessing(("front", "wrist"), {"front": (32, 32, 3), "wrist": (32, 32, 3)}, 32)
    a = build_table(ok, bad, prep, LabelRules())
    b = build_table(ok2, bad2, prep, LabelRules())
    np.testing.assert_array_equal(a.labels, b.labels)
    np.testing.assert_array_equal(a.pools, b.pools)
    assert a.counts["positive"] >= 2 * 4
    # frames come back through a video codec: close, not equal (the classifier trains on
    # what the dataset holds)
    diff = np.abs(a.images["images/front"].astype(int) - b.images["images/front"])
    assert diff.mean() < 8
