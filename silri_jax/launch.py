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
    """Prints the lines a child appends to its log (the learner's status), as they come."""

    def __init__(self, path: pathlib.Path, prefix: str) -> None:
        self.path, self.prefix, self.pos, self.tail = path, prefix, 0, b""

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
            if text.strip():
                print(f"{self.prefix}{text}", flush=True)


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


def _evaluate(py: str, common: list[str], policy: pathlib.Path) -> tuple[dict[str, Any], int]:
    """Evaluates the saved policy in a child actor; an error (a hung evaluation included)
    comes back as ``{"error": ...}`` so the run still ends with its final line."""
    try:
        out = subprocess.run([py, "-m", "silri_jax.actor", *common, "--eval",
                              f"--policy={policy}"], capture_output=True, text=True,
                             timeout=EVAL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return {"error": f"evaluation of {policy} did not finish in {EVAL_TIMEOUT_S} s"}, 1
    for line in reversed(out.stdout.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line), out.returncode
    return {"error": (out.stderr or out.stdout)[-2000:]}, out.returncode or 1


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
    relay = _Relay(learner_log, "learner: ")
    if learner_log.exists():
        relay.pos = learner_log.stat().st_size  # a resumed run appends: show only the new
    learner = procs.spawn([py, "-m", "silri_jax.learner", *common,
                           *(["--resume"] if resume else [])], str(learner_log))
    actors = [procs.spawn([py, "-m", "silri_jax.actor", *common, f"--actor_id={i}"],
                          str(logs / f"actor-{i}.log")) for i in range(num_actors)]
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        print(f"launch: {signal.Signals(signum).name}, stopping", flush=True)
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
        for a in actors:
            procs.stop(a, signal.SIGTERM, timeout=30)
        code = procs.stop(learner, signal.SIGTERM, timeout=300)
        relay.poll()
        print(json.dumps({"event": "shutdown", "learner_exit": code,
                          "actor_exits": [a.returncode for a in actors]}), flush=True)
    if not finished:
        return rc
    if code != 0:
        print(f"launch: the learner failed to stop cleanly ({code}), no evaluation", flush=True)
        return code or 1
    done = _last_event(learner_log, "learner_done")
    policy = run_dir / "policy.npz"
    print(f"launch: evaluating {policy} ({int(config.runtime.eval_episodes)} episodes, "
          "deterministic, no operator)...", flush=True)
    ev, rc = _evaluate(py, common, policy)
    final = {"event": "final_eval", "success_rate": ev.get("success_rate"),
             "mean_episode_length": ev.get("mean_episode_length"),
             "intervention_rate": done.get("intervention_rate"),
             "mean_return": ev.get("mean_return"), "eval_episodes": ev.get("episodes"),
             "env_steps": done.get("env_steps"), "updates": done.get("updates"),
             "replay_ratio": done.get("replay_ratio"),
             "train_success_rate": done.get("train_success_rate"),
             "wall_s": round(time.time() - t_start, 1), "policy_path": str(policy),
             "tensorboard": str(run_dir / "tb"), **({"error": ev["error"]} if "error" in ev
                                                     else {})}
    print(json.dumps(final), flush=True)
    return rc


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    sys.exit(launch(_CONFIG.value, _config_args(sys.argv[1:]), _NUM_ACTORS.value,
                    _RESUME.value))


if __name__ == "__main__":
    from absl import app, flags
    from ml_collections import config_flags

    _CONFIG = config_flags.DEFINE_config_file(
        "config", "configs/train.py", "runtime config (configs/train.py:<variant>)")
    _NUM_ACTORS = flags.DEFINE_integer("num_actors", 1, "actor processes to start")
    _RESUME = flags.DEFINE_bool("resume", False, "resume the learner from its run_dir")
    app.run(main)
