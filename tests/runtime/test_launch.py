"""``python -m silri_jax.launch``: one learner and two actors as processes; a step budget
with pacing ends with the saved policy's evaluation as the last line; Ctrl-C (SIGINT) stops
everything cleanly, no orphans."""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

from helpers import CONFIG, ROOT


def _launch(tmp, demos, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "silri_jax.launch", CONFIG, "--num_actors=2",
         f"--config.demos.path={demos}", f"--config.runtime.run_dir={tmp / 'run'}",
         "--config.runtime.address=127.0.0.1:0", *extra],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _events(out: str) -> dict[str, dict]:
    return {e["event"]: e for e in (json.loads(x) for x in out.splitlines()
                                    if x.startswith("{"))}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_budget_run_ends_with_an_evaluation_line(tmp_path, demos):
    """The quickstart's path: paced actors (1 update call per env step), then the saved
    policy is evaluated and the last line is the evaluation JSON."""
    steps, start, slack = 600, 100, 16
    p = _launch(tmp_path, demos, f"--config.runtime.env_steps={steps}",
                "--config.runtime.updates_per_env_step=1",
                f"--config.runtime.pacing_slack_steps={slack}",
                f"--config.runtime.start_training_after={start}")
    out, _ = p.communicate(timeout=240)
    ev = _events(out)
    assert p.returncode == 0, out[-3000:]
    last = json.loads(out.strip().splitlines()[-1])
    assert last["event"] == "final_eval", out[-3000:]
    assert 0.0 <= last["success_rate"] <= 1.0 and last["mean_episode_length"] > 0, last
    assert 0.0 <= last["intervention_rate"] <= 1.0, last
    assert last["env_steps"] == steps, last
    # Pacing held the ratio: the actors could not end before the learner had done about
    # one update call per step taken after training started (minus the slack).
    assert last["updates"] >= steps - start - 2 * slack - 64, last
    assert (tmp_path / "run" / "policy.npz").exists()
    # the learner's events and status lines are relayed (plain lines: not a terminal)
    assert "learner: " in out and "[status] " in out and "success" in out
    # the summary: a picture, and no operator figure for a task with its own operator
    assert pathlib.Path(last["summary_plot"]).read_bytes()[:4] == b"\x89PNG", last
    assert last["operator_success_rate"] is None and last["intervention_rate_last_20pct"] \
        is not None, last
    assert ev["shutdown"]["learner_exit"] == 0 and ev["shutdown"]["actor_exits"] == [0, 0]
    assert not any(_alive(pid) for pid in [ev["launched"]["learner"],
                                            *ev["launched"]["actors"]])


def test_ctrl_c_stops_everything_cleanly(tmp_path, demos):
    p = _launch(tmp_path, demos)
    deadline = time.monotonic() + 120
    while not (tmp_path / "run" / "logs" / "learner.log").exists() or '"serving"' not in (
            tmp_path / "run" / "logs" / "learner.log").read_text():
        assert time.monotonic() < deadline and p.poll() is None
        time.sleep(0.3)
    time.sleep(3)
    p.send_signal(signal.SIGINT)
    out, _ = p.communicate(timeout=180)
    ev = _events(out)
    assert ev["shutdown"]["learner_exit"] == 0, out[-3000:]
    pids = [ev["launched"]["learner"], *ev["launched"]["actors"]]
    assert not any(_alive(pid) for pid in pids)
    log = (tmp_path / "run" / "logs" / "learner.log").read_text()
    assert "final checkpoint" in log, log[-2000:]


def test_a_hung_evaluation_becomes_an_error_field_not_a_traceback(monkeypatch):
    import subprocess

    from silri_jax import launch

    monkeypatch.setattr(launch, "EVAL_TIMEOUT_S", 1)
    hung = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    result, code = launch._eval_result(hung, "evaluation of policy.npz")
    assert code == 1 and "did not finish" in result["error"] and "policy.npz" in result["error"]
    assert hung.poll() is not None  # killed, not left running


def test_config_flags_reach_the_children_in_either_form():
    from silri_jax.launch import _config_args

    argv = ["--config", "configs/train.py:silri_pick_cube_state", "--num_actors=2",
            "--config.runtime.env_steps", "600", "--config.seed=3",
            "--config.runtime.wal_fsync", "--noconfig.runtime.actor_spool_fsync",
            "--config.agent.kappa", "-1"]
    assert _config_args(argv) == [
        "--config=configs/train.py:silri_pick_cube_state", "--config.runtime.env_steps=600",
        "--config.seed=3", "--config.runtime.wal_fsync", "--noconfig.runtime.actor_spool_fsync",
        "--config.agent.kappa=-1"]
