"""Process plumbing of the runtime tests: start learner/actors, wait on their logs, read
the results back (replay from a checkpoint, traces, TensorBoard scalars)."""

from __future__ import annotations

import json
import pathlib
import re
import subprocess
import sys
import time
from typing import Any

from silri_jax.runtime import procs

ROOT = pathlib.Path(__file__).resolve().parents[2]
CONFIG = "--config=tests/runtime/tiny_config.py"


class Run:
    """A run directory with one learner address; spawns processes with shared overrides."""

    def __init__(self, tmp: pathlib.Path, demos: str, **overrides: Any) -> None:
        self.tmp = tmp
        self.run_dir = tmp / "run"
        self.address = f"127.0.0.1:{procs.free_port()}"
        self.args = [CONFIG, f"--config.demos.path={demos}",
                     f"--config.runtime.run_dir={self.run_dir}",
                     f"--config.runtime.address={self.address}",
                     *(f"--config.{k}={v}" for k, v in overrides.items())]
        self.procs: list[subprocess.Popen] = []

    def spawn(self, module: str, *extra: str, log: str) -> subprocess.Popen:
        p = procs.spawn([sys.executable, "-m", module, *self.args, *extra],
                        str(self.tmp / log))
        self.procs.append(p)
        return p

    def learner(self, *extra: str, log: str = "learner.log") -> subprocess.Popen:
        return self.spawn("silri_jax.learner", *extra, log=log)

    def actor(self, i: int, *extra: str) -> subprocess.Popen:
        return self.spawn("silri_jax.actor", f"--actor_id={i}",
                          f"--trace={self.tmp / f'trace-{i}.jsonl'}", *extra,
                          log=f"actor-{i}.log")

    def log(self, name: str) -> str:
        path = self.tmp / name
        return path.read_text(errors="replace") if path.exists() else ""

    def wait_log(self, name: str, pattern: str, timeout: float,
                 proc: subprocess.Popen | None = None) -> re.Match:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = re.search(pattern, self.log(name))
            if m:
                return m
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{name}: exited {proc.returncode}:\n{self.log(name)[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(f"{name}: no {pattern!r} in {timeout} s:\n{self.log(name)[-3000:]}")

    def updates(self) -> int:
        """The learner's update calls as its ``history.jsonl`` last recorded them (one
        line per status period; the terminal status is for people, not parsed)."""
        path = self.run_dir / "history.jsonl"
        best = 0
        if path.exists():
            for line in path.read_text().splitlines():
                try:
                    best = max(best, int(json.loads(line)["updates"]))
                except (ValueError, KeyError):
                    continue  # a line being written
        return best

    def wait_updates(self, name: str, at_least: int, timeout: float,
                     proc: subprocess.Popen | None = None) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.updates() >= at_least:
                return
            if proc is not None and proc.poll() is not None:
                raise AssertionError(f"{name} exited:\n{self.log(name)[-3000:]}")
            time.sleep(0.3)
        raise AssertionError(f"{name}: fewer than {at_least} updates in {timeout} s")

    def json_lines(self, name: str, event: str) -> list[dict[str, Any]]:
        out = []
        for line in self.log(name).splitlines():
            if line.startswith("{") and f'"event": "{event}"' in line:
                out.append(json.loads(line))
        return out

    def trace(self, i: int) -> list[dict[str, Any]]:
        path = self.tmp / f"trace-{i}.jsonl"
        return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]

    def cleanup(self) -> None:
        for p in self.procs:
            procs.stop(p, timeout=20)


def latest_replay(run_dir: pathlib.Path) -> tuple[Any, Any, dict[str, Any]]:
    """(D_R, D_I, metadata) of the newest checkpoint, loaded as a resumed learner would."""
    from silri_jax.checkpoint import Checkpointer
    from silri_jax.data import ReplayBuffer

    ckpt = Checkpointer(run_dir / "checkpoints")
    try:
        step = ckpt.latest_step()
        assert step is not None, "no checkpoint"
        d_r = ReplayBuffer.load(ckpt.artefact_dir(step, "replay_r"))
        d_i = ReplayBuffer.load(ckpt.artefact_dir(step, "replay_i"))
        meta = json.loads((ckpt.step_dir(step) / "metadata" / "metadata").read_text()) \
            if (ckpt.step_dir(step) / "metadata" / "metadata").exists() else {}
    finally:
        ckpt.close()
    return d_r, d_i, meta


def replay_rows(buf: Any) -> list[tuple[int, int, int]]:
    """(episode_id, step, is_intervention) of every stored transition."""
    import numpy as np

    n = len(buf)
    pos = np.arange(n)
    eids, steps = buf.episode_info(pos)
    flags = buf.get(pos, decode=False)["is_intervention"] if n else np.zeros(0)
    flat = np.asarray(flags).reshape(-1)
    return [(int(e), int(s), int(f)) for e, s, f in zip(eids, steps, flat, strict=True)]


def read_scalars(log_dir: pathlib.Path) -> dict[str, list[float]]:
    """Scalars from TensorBoard event files via tensorboardX's protobufs."""
    from tensorboardX.proto import event_pb2

    out: dict[str, list[float]] = {}
    for path in sorted(log_dir.glob("events.out.tfevents.*")):
        data, pos = path.read_bytes(), 0
        while pos + 12 <= len(data):
            length = int.from_bytes(data[pos:pos + 8], "little")
            event = event_pb2.Event()
            event.ParseFromString(data[pos + 12:pos + 12 + length])
            pos += 16 + length
            for v in event.summary.value:
                out.setdefault(v.tag, []).append(v.simple_value)
    return out
