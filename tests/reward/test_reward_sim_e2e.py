"""Simulation end to end at small sizes: labelled pick_cube pixel episodes from the
simulated operator, ``python -m silri_jax.reward train`` on them, then the classifier as
the only reward of an expert episode."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

from silri_jax import envs
from silri_jax.operators import SimulatedOperator
from silri_jax.reward import (
    LearnedReward,
    learned_reward_from_config,
    load_classifier,
    reward_config,
)
from silri_jax.reward.__main__ import main
from silri_jax.reward.record import make_pixel_env, record_labelled, save_sets

SIZE = 32


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> pathlib.Path:
    """The model directory (the datasets lie in ``../data``)."""
    root = tmp_path_factory.mktemp("reward")
    env = make_pixel_env(image_size=SIZE)
    spec, ok, bad = record_labelled(env, successes=8, failures=8, profile="novice",
                                    seed=1000, hold_steps=8)
    env.close()
    assert all(np.any(e.rewards > 1) for e in ok) and not any(np.any(e.rewards > 1) for e in bad)
    success, failures = save_sets(root / "data", spec, ok, bad)
    out = root / "model"
    main(["train", "--success", success, "--failures", failures, "--out", str(out), "--quiet",
          "--set", f"model.image_size={SIZE}", "--set", "train.steps=300",
          "--set", "train.batch_size=32", "--set", "train.eval_every=50"])
    return out


def test_heldout_frames_are_classified_far_better_than_chance(trained) -> None:
    report = json.loads((trained / "report.json").read_text())
    frames = report["metrics"]["heldout_frames"]
    assert report["episodes"]["heldout_success"] >= 1
    assert report["frames"]["heldout_positive"] > 0
    assert frames["balanced_accuracy"] >= 0.75, frames
    assert report["metrics"]["average_precision"] >= 0.5
    assert report["temperature"] > 0 and 0 <= report["threshold"] <= 1
    assert (trained / "pr_curve.png").stat().st_size > 1000


def test_the_classifier_ends_a_successful_expert_episode(trained) -> None:
    env = envs.make("pick_cube", {"cameras": ("front", "wrist"), "image_size": SIZE},
                    operator=SimulatedOperator("expert", always=True, seed=0))
    clf = load_classifier(trained, envs.env_spec(env))
    env = LearnedReward(env, clf, warmup_steps=3)
    env.reset(seed=5_000_001)  # a seed no recording used
    sim_first, steps = None, 0
    while True:
        _, reward, term, trunc, info = env.step(np.zeros(3, np.float32))
        steps += 1
        if info["sim_success"] and sim_first is None:
            sim_first = steps
        if term or trunc:
            break
    assert term and info["success"] and reward > 0
    # declared with the simulator's own verdict, give or take the frames either side
    # whose labels are ambiguous (the cube 9.9 or 10.1 cm up)
    assert sim_first is not None and sim_first - 1 <= steps <= sim_first + 4, (
        steps, sim_first)
    env.close()


def test_no_success_while_the_arm_idles(trained) -> None:
    env = envs.make("pick_cube", {"cameras": ("front", "wrist"), "image_size": SIZE,
                                  "max_episode_steps": 30})
    loop = reward_config().loop
    assert learned_reward_from_config(env, loop) is env  # no model: the env's own reward
    loop.model = str(trained)
    env = learned_reward_from_config(env, loop)
    assert isinstance(env, LearnedReward) and env.detectors[0].warmup_steps == 3
    env.reset(seed=5_000_002)
    for _ in range(30):
        _, _, term, trunc, info = env.step(np.zeros(3, np.float32))
        assert not info["success"]
        if term or trunc:
            break
    assert trunc


def test_evaluate_and_info_commands(trained, capsys) -> None:
    data = trained.parent / "data"
    main(["evaluate", "--model", str(trained), "--success", str(data / "success.npz"),
          "--failures", str(data / "failures.npz")])
    out = json.loads(capsys.readouterr().out)
    assert out["frames"]["positives"] > 0 and "recall_within_3" in out["episodes"]
    main(["info", str(trained)])
    head = json.loads(capsys.readouterr().out)
    assert head["ok"] and head["preprocessing"]["cameras"] == ["front", "wrist"]
    assert head["normalization"] == "x/255-0.5"
    with pytest.raises(SystemExit) as e:
        main(["info", str(data / "success.npz")])
    assert e.value.code == 2
    assert "no header_json" in capsys.readouterr().err
