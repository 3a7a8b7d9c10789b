"""The pre-training robustness benchmark on a tiny budget: its plumbing and its ranges."""

from __future__ import annotations

import json

from silri_jax import config_files

pr = config_files.benchmark_module("pretrain_robustness")


def test_two_initialisations_are_evaluated_separately(capsys) -> None:
    result = pr.main(["--inits", "2", "--demos", "2", "--pretrain_steps", "20",
                      "--eval_episodes", "1"])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line == result
    assert result["demo_transitions"] > 0 and len(result["runs"]) == 2
    for run in result["runs"]:
        for policy in ("actor", "beta_mean"):
            r = run[policy]
            assert r["success_rate"] in (0.0, 1.0)  # one episode
            assert 1 <= r["mean_episode_length"] <= 100
            assert r["distance_mean"] >= 0.0 and r["distance_p90"] >= 0.0
        assert run["beta_sigma"] > 0
    # different initialisations give different pre-trained networks
    assert result["runs"][0]["bc_loss"] != result["runs"][1]["bc_loss"]
    assert result["actor_success_mean"] == sum(
        r["actor"]["success_rate"] for r in result["runs"]) / 2


def test_non_positive_counts_are_refused(capsys) -> None:
    import pytest

    with pytest.raises(SystemExit):
        pr.main(["--inits", "0"])
    assert "--inits" in capsys.readouterr().err
