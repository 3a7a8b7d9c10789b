"""One learner and N actors on loopback, as separate processes.

    python -m silri_jax.launch --config=configs/train.py:silri_pick_cube_state --num_actors=2 \\
        --config.runtime.env_steps=20000

Every ``--config.*`` override is passed to each child. Ctrl-C (or SIGTERM) stops the
actors, then the learner (which checkpoints), and SIGKILLs anything still alive after a
grace period; children die with the launcher even when it is SIGKILLed
(``silri_jax.runtime.procs``). With a step budget (``runtime.env_steps``) the run ends
when the actors have spent it: an evaluation (deterministic, no operator) against the
learner's newest parameters prints one JSON line, then everything shuts down.
Logs of the children go to ``<run_dir>/logs/``.
"""

from __future__ import annotations

import json
import pathlib
import signal
import subprocess
import sys
import threading
from typing import Any

from silri_jax.runtime import procs


def _config_args(argv: list[str]) -> list[str]:
    return [a for a in argv if a.startswith("--config")]


def launch(config: Any, config_args: list[str], num_actors: int, resume: bool) -> int:
    address = config.runtime.address
    if address.endswith(":0"):
        address = f"{address.rsplit(':', 1)[0]}:{procs.free_port()}"
    logs = pathlib.Path(config.runtime.run_dir) / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    common = [*config_args, f"--config.runtime.address={address}",
              f"--config.runtime.num_actors={num_actors}"]
    py = sys.executable
    learner = procs.spawn([py, "-m", "silri_jax.learner", *common,
                           *(["--resume"] if resume else [])], str(logs / "learner.log"))
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
    rc = 0
    try:
        budget = int(config.runtime.env_steps) > 0
        while not stop.wait(0.5):
            if learner.poll() is not None:
                print(f"launch: the learner exited with {learner.returncode}", flush=True)
                rc = learner.returncode or 1
                break
            if all(a.poll() is not None for a in actors):
                if budget:
                    out = subprocess.run(
                        [py, "-m", "silri_jax.actor", *common, "--eval"],
                        capture_output=True, text=True, timeout=3600)
                    line = out.stdout.strip().splitlines()[-1:] or [out.stderr[-2000:]]
                    print(line[0], flush=True)
                    rc = out.returncode
                else:
                    print("launch: every actor exited", flush=True)
                break
    finally:
        for a in actors:
            procs.stop(a, signal.SIGTERM, timeout=30)
        code = procs.stop(learner, signal.SIGTERM, timeout=120)
        print(json.dumps({"event": "shutdown", "learner_exit": code,
                          "actor_exits": [a.returncode for a in actors]}), flush=True)
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
