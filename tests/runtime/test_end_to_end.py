"""Learner plus two actors as real processes on loopback, one shared run.

The run: the learner loads 20 expert demos, pre-trains, and updates continuously; two
actors (reach task, the heading-correcting operator, 200 Hz control) stream 1500 steps
each, keeping the default replay ratio (1 update call per env step). Checked afterwards:
the task is learned, the run's ratio is the configured one, parameters reached the actors
in the middle of episodes, every transition and its intervention flag is in the
checkpointed replay exactly once, and the TensorBoard event files hold the named scalars.
"""

from __future__ import annotations

import collections
import signal

import pytest
from helpers import Run, latest_replay, read_scalars, replay_rows

STEPS = 3000


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, demos: str):
    tmp = tmp_path_factory.mktemp("e2e")
    r = Run(tmp, demos, **{"runtime.env_steps": STEPS, "runtime.num_actors": 2,
                           "runtime.start_training_after": 0, "runtime.control_hz": 200})
    try:
        learner = r.learner()
        r.wait_log("learner.log", r'"event": "serving"', 120, learner)
        r.wait_updates("learner.log", 1, 120, learner)  # compiled: params now change
        actors = [r.actor(i) for i in range(2)]
        for a in actors:
            a.wait(150)
        evaluation = r.spawn("silri_jax.actor", "--eval", log="eval.log")
        evaluation.wait(120)
        learner.send_signal(signal.SIGTERM)
        learner.wait(120)
        yield r, learner, actors, evaluation
    finally:
        r.cleanup()


def test_processes_finish_cleanly(run):
    r, learner, actors, _ = run
    assert learner.returncode == 0, r.log("learner.log")[-3000:]
    for i, a in enumerate(actors):
        assert a.returncode == 0, r.log(f"actor-{i}.log")[-3000:]
        done = r.json_lines(f"actor-{i}.log", "actor_done")[-1]
        assert done["steps"] == STEPS // 2 and done["flushed"], done
    assert r.json_lines("learner.log", "learner_done"), r.log("learner.log")[-2000:]


def test_small_task_is_learned(run):
    """Deterministic success over 20 held-out episodes >= 0.8; an untrained policy scores
    below 0.3 on this task (tests/agents/test_learning.py::test_baselines_fail_the_thresholds)."""
    r, *_ , evaluation = run
    assert evaluation.returncode == 0, r.log("eval.log")[-3000:]
    ev = r.json_lines("eval.log", "eval")[-1]
    assert ev["success_rate"] >= 0.8, ev
    assert ev["params_version"] > 1, ev  # parameters the learner produced after start
    done = r.json_lines("learner.log", "learner_done")[-1]
    assert done["updates"] > 100, done


def test_the_replay_ratio_is_the_configured_one(run):
    """Actors paced at 1 update call per env step (the tiny config's default) and a learner
    that does not run ahead either: the run's ratio is 1 within the slack (64 steps of
    3000), whatever the relative speed of the processes."""
    r, *_ = run
    done = r.json_lines("learner.log", "learner_done")[-1]
    assert 0.9 <= done["replay_ratio"] <= 1.1, done
    waited = [r.json_lines(f"actor-{i}.log", "actor_done")[-1]["pacing_wait_s"]
              for i in range(2)]
    assert all(w >= 0 for w in waited), waited


def test_params_reach_actors_mid_episode(run):
    r, *_ = run
    for i in range(2):
        by_episode: dict[int, set[int]] = collections.defaultdict(set)
        for row in r.trace(i):
            by_episode[row["episode_id"]].add(row["version"])
        versions = set().union(*by_episode.values())
        assert len(versions) > 3, versions  # new versions kept arriving
        mid = [e for e, v in by_episode.items() if len(v) > 1]
        assert mid, f"actor {i}: no episode saw a parameter swap"


def test_every_transition_and_flag_stored_exactly_once(run):
    r, *_ = run
    d_r, d_i, _ = latest_replay(r.run_dir)
    stored = replay_rows(d_r)
    produced = [(t["episode_id"], t["step"], t["is_intervention"])
                for i in range(2) for t in r.trace(i)]
    assert len(produced) == STEPS
    assert len(set(produced)) == len(produced)
    assert collections.Counter(stored) == collections.Counter(produced)
    interventions = {p for p in produced if p[2] == 1}
    assert interventions, "the operator never intervened"
    online_in_d_i = [row for row in replay_rows(d_i) if row[0] >= 0]  # demos have ids < 0
    assert collections.Counter(online_in_d_i) == collections.Counter(interventions)


def test_tensorboard_holds_the_named_scalars(run):
    r, *_ = run
    tags = set(read_scalars(r.run_dir / "tb"))
    need = {
        "train/critic_loss", "train/actor_loss", "train/lagrange_loss", "train/q_mean",
        "train/lambda_mean", "train/lambda_max", "episode/success_rate", "episode/return",
        "episode/length", "episode/intervention_rate", "episode/param_age_s",
        "perf/updates_per_s", "perf/env_steps_per_s", "perf/intervention_rate",
        "perf/ingest_queue_depth", "perf/updates_per_env_step", "perf/replay_ratio",
        "episode/pacing_wait_s",
    }
    assert need <= tags, sorted(need - tags)
    assert {"beta/beta_sigma", "pretrain/beta_sigma"} & tags, sorted(tags)
