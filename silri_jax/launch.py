"""One learner and N actors on loopback, as separate processes.

    python -m silri_jax.launch --config=configs/train.py:silri_pick_cube_state --num_actors=2 \\
        --config.runtime.env_steps=20000

Every ``--config.*`` override is passed to each child. Ctrl-C (or SIGTERM) stops the
actors, then the learner (which checkpoints), and SIGKILLs anything still alive after a
grace period; children die with the launcher even when it is SIGKILLed
(``silri_jax.runtime.procs``). The learner's status lines are relayed to this terminal
(the children's full logs go to ``<run_dir>/logs/``).

With a step budget (``runtime.env_steps``) the run ends when the actors have spent it:
the learner stops (final checkpoint, ``<run_dir>/policy.npz``), the saved policy is
evaluated (deterministic, no operator, ``runtime.eval_episodes`` episodes), and the last
line printed is one JSON object: ``{"event": "final_eval", "success_rate", ...,
"mean_episode_length", "intervention_rate" (operator steps / env steps over training),
...}``. Evaluating the file, not the live learner, checks exactly what was saved.
"""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
import threading
import time
from typing import Any

from silri_jax.runtime import procs
from silri_jax.status import STATUS_PREFIX, Status


def _config_args(argv: list[str]) -> list[str]:
    """The ``--config`` flag and its overrides from the command line, for the children,
    each as one token: absl's ``--name value`` becomes ``--name=value``."""
    out, i = [], 0
    while i < len(argv):
        a, i = argv[i], i + 1
        if (a.startswith("--config") and "=" not in a and i < len(argv)
                and not argv[i].startswith("--")):
            a, i = f"{a}={argv[i]}", i + 1
        if a.startswith(("--config", "--noconfig.")):
            out.append(a)
    return out


class _Relay:
    """Shows the lines a child appends to its log as they come: its status lines
    (``STATUS_PREFIX``) as this terminal's status line, the others as events."""

    def __init__(self, path: pathlib.Path, prefix: str, status: Status) -> None:
        self.path, self.prefix, self.pos, self.tail = path, prefix, 0, b""
        self.status = status

    def poll(self) -> None:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.pos)
                data = f.read()
        except FileNotFoundError:
            return
        self.pos += len(data)
        *lines, self.tail = (self.tail + data).split(b"\n")
        for line in lines:
            text = line.decode(errors="replace").rstrip("\r")
            if text.startswith(STATUS_PREFIX):
                self.status.show(text[len(STATUS_PREFIX):])
            elif text.strip():
                self.status.event(f"{self.prefix}{text}")


def _last_event(path: pathlib.Path, event: str) -> dict[str, Any]:
    """The newest JSON line of ``event`` in a child's log ({} when there is none)."""
    found: dict[str, Any] = {}
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"event": "{event}"' in line:
                try:
                    found = json.loads(line)
                except json.JSONDecodeError:
                    continue
    return found


EVAL_TIMEOUT_S = 3600


def _start_eval(py: str, common: list[str], what: list[str]) -> subprocess.Popen:
    return subprocess.Popen([py, "-m", "silri_jax.actor", *common, *what],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _eval_result(proc: subprocess.Popen, name: str) -> tuple[dict[str, Any], int]:
    """The child evaluation's JSON line; an error (a hung evaluation included) comes back
    as ``{"error": ...}`` so the run still ends with its final line."""
    try:
        stdout, stderr = proc.communicate(timeout=EVAL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"error": f"{name} did not finish in {EVAL_TIMEOUT_S} s"}, 1
    for line in reversed(stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line), proc.returncode
    return {"error": (stderr or stdout)[-2000:]}, proc.returncode or 1


def _summary(run_dir: pathlib.Path, config: Any, ev: dict[str, Any],
             op: dict[str, Any]) -> dict[str, Any]:
    """The operator comparison and the intervention trend for the final line, and the
    summary picture (``<run_dir>/summary.png``)."""
    from silri_jax import summary_plot

    history = summary_plot.read_history(run_dir / "history.jsonl")
    first, last = summary_plot.intervention_trend(history)
    out: dict[str, Any] = {
        "operator_profile": op.get("profile"),
        "operator_success_rate": op.get("success_rate"),
        "operator_mean_episode_length": op.get("mean_episode_length"),
        "intervention_rate_first_20pct": first, "intervention_rate_last_20pct": last,
    }
    try:
        out["summary_plot"] = str(summary_plot.plot(
            history, run_dir / "summary.png", policy_success=ev.get("success_rate"),
            operator_success=op.get("success_rate"),
            operator_name=f"{op.get('profile', 'simulated')} operator",
            title=f"{config.variant}: {config.agent.algo} on {config.task.name}"))
    except Exception as e:  # the picture must not cost the run its final line
        out["summary_plot_error"] = f"{type(e).__name__}: {e}"
    return out


def _trend(first: float | None, last: float | None) -> str:
    if first is None or last is None:
        return "(no intervention figures)"
    return f"{first:.0%} of steps early in training and {last:.0%} at the end"


def launch(config: Any, config_args: list[str], num_actors: int, resume: bool) -> int:
    t_start = time.time()
    address = config.runtime.address
    if address.endswith(":0"):
        address = f"{address.rsplit(':', 1)[0]}:{procs.free_port()}"
    run_dir = pathlib.Path(config.runtime.run_dir)
    logs = run_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    common = [*config_args, f"--config.runtime.address={address}",
              f"--config.runtime.num_actors={num_actors}"]
    py = sys.executable
    learner_log = logs / "learner.log"
    status = Status()
    relay = _Relay(learner_log, "learner: ", status)
    if learner_log.exists():
        relay.pos = learner_log.stat().st_size  # a resumed run appends: show only the new
    learner = procs.spawn([py, "-m", "silri_jax.learner", *common,
                           *(["--resume"] if resume else [])], str(learner_log))
    actors = [procs.spawn([py, "-m", "silri_jax.actor", *common, f"--actor_id={i}"],
                          str(logs / f"actor-{i}.log")) for i in range(num_actors)]
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(json.dumps({"event": "launched", "address": address, "learner": learner.pid,
                      "actors": [a.pid for a in actors], "logs": str(logs)}), flush=True)
    rc, finished = 0, False
    try:
        while not stop.wait(0.5):
            relay.poll()
            if learner.poll() is not None:
                print(f"launch: the learner exited with {learner.returncode}", flush=True)
                rc = learner.returncode or 1
                break
            if all(a.poll() is not None for a in actors):
                finished = int(config.runtime.env_steps) > 0
                if not finished:
                    print("launch: every actor exited", flush=True)
                bad = [a.returncode for a in actors if a.returncode]
                if bad:
                    print(f"launch: actors exited with {bad} (see {logs})", flush=True)
                    rc, finished = 1, False
                break
    finally:
        if stop.is_set():
            status.event("launch: stopping (signal)")
        for a in actors:
            procs.stop(a, signal.SIGTERM, timeout=30)
        code = procs.stop(learner, signal.SIGTERM, timeout=300)
        relay.poll()
        status.close()
        print(json.dumps({"event": "shutdown", "learner_exit": code,
                          "actor_exits": [a.returncode for a in actors]}), flush=True)
    if not finished:
        return rc
    if code != 0:
        print(f"launch: the learner failed to stop cleanly ({code}), no evaluation", flush=True)
        return code or 1
    done = _last_event(learner_log, "learner_done")
    policy = run_dir / "policy.npz"
    print(f"launch: evaluating {policy} and, on the same {int(config.runtime.eval_episodes)} "
          "episodes, the operator alone...", flush=True)
    ev_proc = _start_eval(py, common, ["--eval", f"--policy={policy}"])
    op_proc = _start_eval(py, common, ["--eval_operator"])
    ev, rc = _eval_result(ev_proc, f"evaluation of {policy}")
    op, _ = _eval_result(op_proc, "the operator's evaluation")
    final = {"event": "final_eval", "success_rate": ev.get("success_rate"),
             "mean_episode_length": ev.get("mean_episode_length"),
             "intervention_rate": done.get("intervention_rate"),
             "mean_return": ev.get("mean_return"), "eval_episodes": ev.get("episodes"),
             "env_steps": done.get("env_steps"), "updates": done.get("updates"),
             "replay_ratio": done.get("replay_ratio"),
             "train_success_rate": done.get("train_success_rate"),
             "wall_s": round(time.time() - t_start, 1), "policy_path": str(policy),
             "tensorboard": str(run_dir / "tb"), **_summary(run_dir, config, ev, op),
             **({"error": ev["error"]} if "error" in ev else {})}
    if "success_rate" in ev and final["operator_success_rate"] is not None:
        print(f"launch: the learned policy alone succeeds in {ev['success_rate']:.0%} of "
              f"{ev.get('episodes')} episodes; the {op['profile']} operator alone in "
              f"{op['success_rate']:.0%}. The operator took over "
              + _trend(final["intervention_rate_first_20pct"],
                       final["intervention_rate_last_20pct"])
              + f". Picture: {final.get('summary_plot', '(none)')}", flush=True)
    print(json.dumps(final), flush=True)
    return rc


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    sys.exit(launch(_CONFIG.value, _config_args(sys.argv[1:]), _NUM_ACTORS.value,
                    _RESUME.value))


def _validate(config: Any) -> None:
    from silri_jax.training import build

    build.validate(config)


if __name__ == "__main__":
    from absl import flags

    from silri_jax import cli

    _CONFIG = cli.define_config("configs/train.py", "runtime config (configs/train.py:<variant>)",
                                "silri_jax.launch")
    _NUM_ACTORS = flags.DEFINE_integer("num_actors", 1, "actor processes to start")
    _RESUME = flags.DEFINE_bool("resume", False, "resume the learner from its run_dir")
    cli.run(main, prog="silri_jax.launch", summary=__doc__.split("\n\n")[0],
            default_config="configs/train.py", config_holder=_CONFIG, validate=_validate)
