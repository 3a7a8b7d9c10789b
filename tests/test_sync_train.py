"""End to end: the synchronous loop on pick_cube with a tiny budget and tiny networks.

Checks the machinery, not learning: demos recorded into D_I, interventions added to D_I
with their flag and the executed action, SiLRI's beta schedule run on them, the named
TensorBoard scalars written, the policy saved and reloadable, the final JSON line printed.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import jax
import numpy as np
import pytest

from silri_jax import sync_train
from silri_jax.data import ReplayBuffer
from silri_jax.training import batches, build
from silri_jax.training.policy import evaluate, load_policy

REPO = pathlib.Path(__file__).resolve().parents[1]


def set_path(config, path: str, value) -> None:
    """``config["a.b.c"] = value`` for a dotted path (dicts merge into a section)."""
    *parents, leaf = path.split(".")
    node = config
    for key in parents:
        node = node[key]
    if isinstance(value, dict) and leaf in node and hasattr(node[leaf], "update"):
        node[leaf].update(value)
    else:
        node[leaf] = value


def tiny_config(tmp_path: pathlib.Path, **overrides):
    """The default config with a tiny budget and networks; ``overrides`` are dotted paths
    written with "__" for "." (``task__obs_mode="pixels"``)."""
    c = sync_train.default_config()
    c.agent.hidden_dims = (16, 16)
    c.agent.batch_size = 16
    c.agent.pretrain_steps = 20
    c.demos.num = 2
    c.demos.profile = "expert"
    c.task.operator_profile = "skilled"
    c.runtime.env_steps = 200
    c.runtime.start_training_after = 40
    c.runtime.eval_every_steps = 100
    c.runtime.eval_episodes_during = 1
    c.runtime.eval_episodes = 2
    c.runtime.log_every_steps = 50
    c.runtime.replay_capacity = 5000
    # interventions arrive in segments of 5-20 steps; a short period makes beta run often
    c.agent.overrides.beta_every = 10
    c.agent.overrides.beta_steps = 3
    c.runtime.run_dir = str(tmp_path)
    for k, v in overrides.items():
        set_path(c, k.replace("__", "."), v)
    return c


def read_scalars_tbx(log_dir: pathlib.Path) -> dict[str, list[float]]:
    """Scalars from the event files with tensorboardX's own protobufs (no tensorboard)."""
    from tensorboardX.proto import event_pb2

    out: dict[str, list[float]] = {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        data = path.read_bytes()
        pos = 0
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos : pos + 8], "little")
            record = data[pos + 12 : pos + 12 + length]
            pos += 12 + length + 4
            event = event_pb2.Event()
            event.ParseFromString(record)
            for v in event.summary.value:
                out.setdefault(v.tag, []).append(v.simple_value)
    return out


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory):
    """One tiny run shared by the tests below; its two buffers are captured for inspection."""
    tmp = tmp_path_factory.mktemp("sync")
    config = tiny_config(tmp)
    buffers: list[ReplayBuffer] = []

    class Recording(ReplayBuffer):
        def __init__(self, *a, **k) -> None:
            super().__init__(*a, **k)
            buffers.append(self)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(batches, "ReplayBuffer", Recording)
        results = sync_train.train(config, quiet=True)
    d_r, d_i = buffers
    return config, results, tmp, d_r, d_i


def test_demos_and_interventions_reach_d_i(run) -> None:
    _, results, *_ = run
    assert results["demo_transitions"] > 0
    # D_I = demos + every intervention step; D_R = every online step
    assert results["d_r_size"] == results["env_steps"] == 200
    assert results["d_i_interventions"] > 0
    assert results["d_i_size"] == results["demo_transitions"] + results["d_i_interventions"]
    assert results["intervention_rate"] == pytest.approx(results["d_i_interventions"] / 200)
    assert results["takeovers"] >= 1


def test_beta_schedule_follows_interventions(run) -> None:
    _, results, *_ = run
    # 3 steps per 10 new intervention transitions, counted only from online interventions
    assert results["beta_steps"] == 3 * (results["d_i_interventions"] // 10)
    assert results["beta_steps"] > 0
    assert results["updates"] == 200 - 40  # one update per step after start_training_after


def test_tensorboard_holds_named_scalars(run) -> None:
    _, _, tmp, *_ = run
    scalars = read_scalars_tbx(tmp / "tb")
    for tag in (
        "train/lambda_mean",
        "train/critic_loss",
        "beta/beta_sigma",
        "pretrain/beta_sigma",
        "perf/intervention_rate",
        "perf/updates_per_s",
        "perf/env_steps_per_s",
        "episode/success",
        "episode/return",
        "episode/length",
        "eval/success_rate",
        "eval/mean_episode_length",
    ):
        assert tag in scalars, f"missing scalar {tag}; have {sorted(scalars)}"
        assert all(np.isfinite(scalars[tag])), tag
    # pre-training eval, one periodic eval (at 100; 200 is the final one), the final eval
    assert len(scalars["eval/success_rate"]) == 3
    assert all(0.0 <= v <= 1.0 for v in scalars["perf/intervention_rate"])


def test_returned_histories_match_the_logged_curves(run) -> None:
    _, results, tmp, *_ = run
    scalars = read_scalars_tbx(tmp / "tb")
    evals = results["eval_history"]
    # env step 0 (after pre-training), every eval_every before the end, the final one
    assert [e["env_step"] for e in evals] == [0, 100, 200]
    assert [e["success_rate"] for e in evals] == pytest.approx(scalars["eval/success_rate"])
    assert evals[-1]["success_rate"] == results["success_rate"]
    interv = results["intervention_history"]
    assert [e["env_step"] for e in interv] == [50, 100, 150, 200]
    assert [e["intervention_rate"] for e in interv] == pytest.approx(
        scalars["perf/intervention_rate"])


def test_saved_policy_reloads_and_acts_like_the_trained_one(run) -> None:
    config, results, *_ = run
    params, spec, agent = load_policy(results["policy_path"])
    assert spec.action.has_gripper and spec.action.dim == 3
    assert set(params) == {"actor", "gripper"}
    obs = {"state": np.random.default_rng(0).normal(size=(4, 25)).astype(np.float32)}
    a, g = agent.act(params, obs, jax.random.PRNGKey(0), deterministic=True)
    assert np.asarray(a).shape == (4, 3) and np.all(np.abs(np.asarray(a)) <= 1.0)
    assert np.asarray(g).shape == (4,)
    # The same parameters through a fresh evaluation give the recorded final result.
    env = build.make_env(config)
    ev = evaluate(env, agent, params, config.runtime.eval_episodes,
                  config.runtime.eval_seed)
    assert ev.success_rate == results["success_rate"]
    assert ev.mean_episode_length == results["mean_episode_length"]


def test_interventions_store_flag_and_executed_action(run) -> None:
    """D_I's online rows carry is_intervention = 1 and the executed action; they are the
    very rows flagged in D_R, where every other row carries 0."""
    _, results, _, d_r, d_i = run
    n_demo = results["demo_transitions"]
    rows_i = d_i.get(np.arange(len(d_i)))
    assert np.all(rows_i["is_intervention"] == 1.0)
    assert np.all(np.abs(rows_i["actions"]) <= 1.0)
    rows_r = d_r.get(np.arange(len(d_r)))
    flagged = rows_r["is_intervention"] == 1.0
    assert int(flagged.sum()) == results["d_i_interventions"] == len(d_i) - n_demo
    np.testing.assert_array_equal(rows_r["actions"][flagged], rows_i["actions"][n_demo:])
    np.testing.assert_array_equal(rows_r["gripper_actions"][flagged],
                                  rows_i["gripper_actions"][n_demo:])
    np.testing.assert_array_equal(rows_r["rewards"][flagged], rows_i["rewards"][n_demo:])


def test_command_line_prints_final_json_line(tmp_path: pathlib.Path) -> None:
    cmd = [
        sys.executable, "-m", "silri_jax.sync_train",
        "--config.agent.hidden_dims=(16, 16)", "--config.agent.batch_size=16",
        "--config.demos.num=1", "--config.demos.profile=expert",
        "--config.agent.pretrain_steps=5", "--config.runtime.env_steps=60",
        "--config.runtime.start_training_after=30", "--config.runtime.eval_every_steps=0",
        "--config.runtime.eval_episodes=1", "--config.runtime.log_every_steps=30",
        f"--config.runtime.run_dir={tmp_path}",
    ]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    last = out.stdout.strip().splitlines()[-1]
    line = json.loads(last)
    assert line["event"] == "final_eval"
    for k in ("success_rate", "mean_episode_length", "intervention_rate"):
        assert k in line
    assert 1 <= line["mean_episode_length"] <= 100
    assert (tmp_path / "policy.npz").is_file()


def test_bad_config_is_refused_with_its_name(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="obs_mode"):
        sync_train.train(tiny_config(tmp_path, task__obs_mode="depth"), quiet=True)
    c = tiny_config(tmp_path)
    c.agent.overrides = {"nonexistent": 1}
    with pytest.raises(ValueError, match="no field 'nonexistent'"):
        sync_train.train(c, quiet=True)
    with pytest.raises(ValueError, match="env_steps"):
        sync_train.train(tiny_config(tmp_path, runtime__env_steps=0), quiet=True)
