"""The sample-efficiency benchmark: one tiny real run, and the report on known curves.

The run checks the plumbing (the evaluation history captured from the training loop, the
JSON result, the printed line); the report checks the arithmetic of the steps-to-90%
figures exactly on hand-made curves, where the right answers are known.
"""

from __future__ import annotations

import json
import pathlib

import pytest

from silri_jax import config_files

se = config_files.benchmark_module("sample_efficiency")

TINY = ["--set", "hidden_dims=(16, 16)", "--set", "batch_size=16", "--set", "num_demos=2",
        "--set", "pretrain_steps=20", "--set", "start_training_after=20"]


def test_one_tiny_run_writes_its_curves(tmp_path: pathlib.Path, capsys) -> None:
    rc = se.main(["--task", "pick_cube", "--algo", "silri", "--operator", "unskilled",
                  "--seed", "3", "--env_steps", "60", "--eval_every", "30",
                  "--eval_episodes", "1", "--results_dir", str(tmp_path), *TINY])
    assert rc == 0
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["event"] == "sample_efficiency_run" and line["seed"] == 3
    path = tmp_path / "pick_cube_state_silri_unskilled_s3_n60.json"
    assert line["path"] == str(path)
    rec = json.loads(path.read_text())
    assert rec["kind"] == se.RESULT_KIND and rec["algo"] == "silri"
    cfg = rec["config"]  # the one schema, recorded whole
    assert rec["operator"] == "unskilled" and cfg["task"]["operator_profile"] == "unskilled"
    assert cfg["agent"]["hidden_dims"] == [16, 16] and cfg["runtime"]["run_dir"] == ""
    # SiLRI pre-trains: an evaluation at step 0, one at 30, the final one at 60
    assert [e["env_step"] for e in rec["eval_curve"]] == [0, 30, 60]
    for e in rec["eval_curve"]:
        assert e["success_rate"] in (0.0, 1.0)  # one episode per evaluation
        assert 1 <= e["mean_episode_length"] <= 100
    assert rec["eval_curve"][-1]["success_rate"] == rec["final"]["success_rate"]
    assert line["final_success"] == rec["final"]["success_rate"]
    # intervention rate per log window (log_every shrinks to eval_every): 30 and 60
    assert [e["env_step"] for e in rec["intervention_curve"]] == [30, 60]
    rates = [e["intervention_rate"] for e in rec["intervention_curve"]]
    assert all(0.0 <= r <= 1.0 for r in rates)
    assert sum(rates) / 2 == pytest.approx(rec["final"]["intervention_rate"])
    assert rec["final"]["env_steps"] == 60 and rec["wall_s"] > 0
    assert rec["machine"]["cpu_count"] >= 1


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="eval_every"):
        se.build_config("pick_cube", "sac", "skilled", 0, 100, 200, 1)
    with pytest.raises(ValueError, match="env_steps"):
        se.build_config("pick_cube", "sac", "skilled", 0, 0, 1, 1)
    with pytest.raises(ValueError, match="no_such_field"):
        se.build_config("pick_cube", "sac", "skilled", 0, 100, 50, 1, "state",
                        {"no_such_field": 1})
    with pytest.raises(ValueError, match="field=value"):
        se.main(["--set", "batch_size"])


def fake_record(algo: str, seed: int, success: list[float], pretrain: float | None = None,
                interv: list[float] | None = None) -> dict:
    steps = [1000 * (i + 1) for i in range(len(success))]
    curve = [{"env_step": s, "success_rate": v, "mean_episode_length": 50.0,
              "mean_return": 0.0} for s, v in zip(steps, success, strict=True)]
    if pretrain is not None:
        curve.insert(0, {"env_step": 0, "success_rate": pretrain,
                         "mean_episode_length": 20.0, "mean_return": 0.0})
    interv = interv or [0.5] * len(steps)
    return {"kind": se.RESULT_KIND, "task": "pick_cube", "obs_mode": "state",
            "operator": "unskilled", "env_steps": steps[-1], "algo": algo, "seed": seed,
            "eval_curve": curve,
            "intervention_curve": [{"env_step": s, "intervention_rate": r}
                                   for s, r in zip(steps, interv, strict=True)],
            "final": {"success_rate": success[-1],
                      "intervention_rate": sum(interv) / len(interv)},
            "wall_s": 1.0}


def test_report_on_known_curves(tmp_path: pathlib.Path) -> None:
    records = [
        # reaches 0.9 at 2000, drops, holds from 4000; the pre-training 1.0 at step 0 is
        # not an online result and must not count
        fake_record("silri", 0, [0.5, 0.9, 0.8, 1.0, 1.0], pretrain=1.0,
                    interv=[0.6, 0.4, 0.2, 0.1, 0.1]),
        fake_record("silri", 1, [0.2, 0.6, 0.95, 1.0, 1.0], pretrain=0.3,
                    interv=[0.4, 0.2, 0.2, 0.1, 0.0]),
        fake_record("sac", 0, [0.1, 0.2, 0.3, 0.5, 0.5]),  # never
        fake_record("sac", 1, [0.0, 0.0, 0.9, 0.6, 0.92]),  # 3000, holds from 5000
        fake_record("hgdagger", 0, [0.3, 0.9, 0.9, 0.7, 0.7]),  # reached, not held
    ]
    for r in records:
        (tmp_path / f"{r['algo']}_{r['seed']}.json").write_text(json.dumps(r))
    (tmp_path / "other.json").write_text(json.dumps({"kind": "something else"}))
    summary = se.report(str(tmp_path), 0.9, None, str(tmp_path / "plot.png"))

    (group,) = summary["groups"].values()
    silri, sac, hg = (group["algos"][a] for a in ("silri", "sac", "hgdagger"))
    assert silri["seeds"] == [0, 1]
    assert silri["first_reach"]["per_seed"] == [2000, 3000]
    assert silri["first_reach"]["mean"] == 2500
    assert silri["hold"]["per_seed"] == [4000, 3000]
    assert silri["hold"]["mean"] == 3500
    assert silri["final_success"]["mean"] == 1.0
    assert silri["pretrain_success"] == pytest.approx(0.65)
    # mean curve 0.35, 0.75, 0.875, 1.0, 1.0: first and held at 4000
    assert silri["mean_curve_first_reach"] == 4000 and silri["mean_curve_hold"] == 4000
    assert [e["intervention_rate"] for e in silri["intervention_curve"]] == pytest.approx(
        [0.5, 0.3, 0.2, 0.1, 0.05])

    assert sac["first_reach"]["per_seed"] == [None, 3000]
    assert sac["first_reach"]["mean"] is None and sac["first_reach"]["seeds_reached"] == 1
    assert sac["first_reach"]["mean_censored_at_budget"] == 4000  # (5000 + 3000) / 2
    assert sac["hold"]["per_seed"] == [None, 5000]
    assert sac["final_success"]["mean"] == pytest.approx(0.71)

    assert hg["first_reach"]["per_seed"] == [2000] and hg["hold"]["per_seed"] == [None]
    assert hg["hold"]["seeds_reached"] == 0

    head = group["headline"]
    assert head["silri_steps_over_sac_steps"] is None  # SAC's mean is censored
    assert head["silri_at_most_half_of_sac"] is False  # 2500 > 0.5 * 4000
    assert head["silri_final_at_least_0_95"] is True
    assert head["hgdagger_final_below_silri"] is True

    saved = json.loads((tmp_path / "summary.json").read_text())
    assert saved["groups"] == json.loads(json.dumps(summary["groups"]))
    png = (tmp_path / "plot.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000


def test_report_on_an_empty_folder_says_so(tmp_path: pathlib.Path) -> None:
    with pytest.raises(FileNotFoundError, match="no sample_efficiency_run"):
        se.report(str(tmp_path), 0.9, None, None)


def test_a_result_from_another_config_is_not_overwritten(tmp_path: pathlib.Path) -> None:
    config = se.build_config("pick_cube", "silri", "unskilled", 0, 100, 50, 1)
    other = se.build_config("pick_cube", "silri", "unskilled", 0, 100, 50, 1,
                            overrides={"pretrain_steps": 5000})
    path = tmp_path / f"{se.run_name(config)}.json"
    old = {"kind": se.RESULT_KIND, "config": json.loads(other.to_json())}
    path.write_text(json.dumps(old))
    with pytest.raises(ValueError, match="pretrain_steps"):
        se.run_one(config, tmp_path)  # refused before any training
    assert json.loads(path.read_text()) == old


def test_report_refuses_to_average_different_configs(tmp_path: pathlib.Path) -> None:
    a = fake_record("silri", 0, [0.5, 1.0])
    b = fake_record("silri", 1, [0.5, 1.0])
    a["config"], b["config"] = {"pretrain_steps": 1000}, {"pretrain_steps": 5000}
    for r in (a, b):
        (tmp_path / f"{r['algo']}_{r['seed']}.json").write_text(json.dumps(r))
    with pytest.raises(ValueError, match="pretrain_steps"):
        se.report(str(tmp_path), 0.9, None, None)
