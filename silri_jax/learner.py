"""The learner process: ``python -m silri_jax.learner --config=configs/train.py:<variant>``.

It serves any number of actors (``silri_jax.transport.server.LearnerServer``), stores
every received transition in ``D_R`` and, when it is an intervention (or a demo), in
``D_I``; loads or records the offline demonstrations; pre-trains; then updates
continuously in its own thread while the actors stream. Threads and why:

- gRPC ingest thread (the server's): WAL append, replay insert, then the ack. It counts new
  intervention transitions for SiLRI's beta schedule.
- update thread: the only owner of the agent state (updates DONATE it). It runs beta steps
  when the schedule says so, the ordinary updates, host copies of the actor parameters for
  the push, and the checkpoints (a checkpoint needs the state between two updates).
- main thread: pushes the newest host copy every ``push_period_s``, logs TensorBoard
  scalars and the one-line status, and turns SIGTERM/SIGINT into a clean stop with a final
  checkpoint and the final policy file (``<run_dir>/policy.npz``, the format of
  ``silri_jax.training.policy.save_policy``, which ``actor --eval --policy`` and
  ``load_policy`` read).

Pacing: the update count, the ingested transitions and where training started travel to
the actors with every ack (``progress``); actors that keep a replay ratio
(``runtime.updates_per_env_step``, ``silri_jax.runtime.pacing``) wait on them. The update
thread wakes their long polls after every update call. The learner keeps the same ratio
from its side: it does not run more than ``pacing_slack_steps`` worth of update calls ahead
of the data (when the actors pause, or after they finished), so the ratio of a run is the
config's, as in ``sync_train``, not whatever the machine's speed allows.

Exactly once across a kill: a batch is in the write-ahead log before it is acked;
a checkpoint holds the replay buffers with the per-actor acked sequence numbers taken
under the same lock as the inserts, so on ``--resume`` the log's newer records are
inserted again and nothing is lost or stored twice (see ``silri_jax.runtime.wal``).
"""

from __future__ import annotations

import collections
import faulthandler
import json
import logging
import pathlib
import sys
import threading
import time
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np

from silri_jax import status as status_fmt
from silri_jax.agents.base import AgentState
from silri_jax.checkpoint import Checkpointer, CheckpointStructureError
from silri_jax.data import ReplayBuffer
from silri_jax.data.transitions import chunk_from_columns
from silri_jax.runtime import follower, pacing, procs, resume
from silri_jax.runtime.wal import WriteAheadLog
from silri_jax.training import build
from silri_jax.training.logger import Logger
from silri_jax.training.policy import floats, save_policy
from silri_jax.training.trainer import Trainer
from silri_jax.transport import actor_tokens, codec
from silri_jax.transport.common import Progress
from silri_jax.transport.server import LearnerServer

log = logging.getLogger("silri_jax.learner")
FORMAT_VERSION = 1
# The launcher waits 300 s for a stopping learner before it kills it: the update thread
# gets most of that, and a stop still running after SHUTDOWN_STACK_DUMP_S writes every
# thread's stack to the log, so a hang names where it is.
UPDATE_JOIN_TIMEOUT_S = 240.0
SHUTDOWN_STACK_DUMP_S = 120.0


def run_paths(config: ml_collections.ConfigDict) -> dict[str, pathlib.Path]:
    root = pathlib.Path(config.runtime.run_dir)
    return {"root": root, "checkpoints": root / "checkpoints", "wal": root / "wal",
            "tb": root / "tb", "policy": root / "policy.npz",
            "history": root / "history.jsonl"}


class Learner:
    """Everything the learner process holds; ``run()`` serves until ``stop()``."""

    def __init__(self, config: ml_collections.ConfigDict, resume: bool = False,
                 quiet: bool = False) -> None:
        build.validate(config)
        self.config = config
        r = config.runtime
        self.paths = run_paths(config)
        self.seed = int(config.seed)
        self.env, self.spec, self.agent = build.make_spec_and_agent(
            config, devices=follower.learner_devices(config))
        self.acfg = build.agent_config(config)
        self.hash = build.config_hash(config)
        self.trainer = Trainer(self.agent, self.spec, self.acfg, int(r.replay_capacity),
                               self.seed)
        # Several processes: this is process 0, and every batch call is shared with the
        # others (silri_jax.runtime.follower).
        self.leader = follower.Leader(self.agent, self.hash) if jax.process_count() > 1 \
            else None
        self.ckpt = Checkpointer(self.paths["checkpoints"], max_to_keep=int(r.keep_checkpoints),
                                 async_save=False)
        self.logger = Logger(str(self.paths["tb"]), quiet=quiet)

        self._data_lock = threading.Lock()  # inserts, acked seqs, WAL, counters
        self.acked: dict[str, int] = {}
        self.counts: collections.Counter[str] = collections.Counter()
        self._episodes: collections.deque[dict[str, Any]] = collections.deque(maxlen=1000)
        self._episode_window: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._stop_reason: str | None = None
        self._update_error: BaseException | None = None
        # what the update thread is doing: "update" or "checkpoint" (its error names it)
        self._update_part = "update"
        self._worker_error: RuntimeError | None = None
        self._host_params: tuple[int, Any] | None = None  # (update count, host copy)
        self._want_params = threading.Event()
        self._ingested = threading.Event()  # new transitions: a paced update thread wakes
        self._last_metrics: dict[str, float] = {}
        self._last_beta: dict[str, float] = {}
        self.params_version = 0
        self.resumed_step: int | None = None
        self._t0 = time.monotonic()
        self._compiling_since: float | None = None
        self._compiled = False
        self._train_t0 = 0.0
        self._waiting_for, self._waiting_since = "", time.monotonic()
        self.paths["root"].mkdir(parents=True, exist_ok=True)
        # one JSON line per status period: the summary picture's curves
        self._history = open(self.paths["history"], "a")

        steps = self.ckpt.all_steps()
        if steps and not resume:
            raise SystemExit(
                f"{self.paths['checkpoints']} already holds checkpoints {steps}: pass --resume "
                "to continue that run, or set --config.runtime.run_dir to a new directory"
            )
        wal_dir = self.paths["wal"]
        if not resume and wal_dir.exists() and any(wal_dir.iterdir()):
            raise SystemExit(f"{wal_dir} holds a write-ahead log of another run: pass --resume")
        self.wal = WriteAheadLog(wal_dir, fsync=bool(r.wal_fsync))
        if resume and steps:
            self._restore(config.resume_step)
        elif resume:
            log.warning("--resume: no checkpoint in %s yet, starting fresh (WAL replayed)",
                        self.paths["checkpoints"])
        if self.leader is not None:  # fresh or restored: the same state everywhere
            self.state = self.leader.share_state(self.state)
        if resume:
            self._replay_wal()
        if self.resumed_step is None:
            self._offline_start()
        # The accelerator's copy of D_R / D_I starts as the host buffers after demos,
        # checkpoint and write-ahead log; from here every insert goes to both.
        if r.replay_on_device:
            self.trainer.batches.start_device(self.seed)

    # The trainer owns the state and the buffers; these names are the learner's view.
    @property
    def state(self) -> AgentState:
        return self.trainer.state

    @state.setter
    def state(self, value: AgentState) -> None:
        self.trainer.state = value

    @property
    def d_r(self) -> ReplayBuffer:
        return self.trainer.d_r

    @property
    def d_i(self) -> ReplayBuffer:
        return self.trainer.d_i

    @property
    def schedule(self) -> Any:
        return self.trainer.schedule

    # ------------------------------------------------------------------ start-up
    def _offline_start(self) -> None:
        """Demonstrations into D_I, then pre-training (skipped on resume: both are in the
        checkpoint)."""
        cfg = self.config
        n_demo = 0
        if cfg.demos.path:
            episodes = build.load_demo_episodes(cfg, self.spec)
            n_demo = self.trainer.add_demos(episodes)
        elif int(cfg.demos.num) > 0:
            from silri_jax.operators import record_demonstrations

            seed = build.DEMO_SEED_OFFSET + self.seed * 1000
            episodes = record_demonstrations(self.env, n=int(cfg.demos.num),
                                             profile=cfg.demos.profile, seed=seed,
                                             operator=build.make_demo_operator(cfg, seed))
            n_demo = self.trainer.add_demos(episodes)
        self.counts["demo_transitions"] = n_demo
        if n_demo:
            self.logger.status(f"{n_demo} demo transitions in D_I", final=True)
        steps, t0 = self.trainer.pretrain_steps, time.time()
        if self.trainer.pretrain(lambda done, m: self._pretrain_progress(done, steps, m, t0)):
            self.counts["pretrain_steps"] = steps
            self.logger.status(f"pre-trained {steps} steps in {time.time() - t0:.1f}s",
                               final=True)

    def _pretrain_progress(self, done: int, total: int, metrics: Mapping[str, float],
                           t0: float) -> None:
        """TensorBoard and the status line after each pre-training chunk."""
        self.logger.scalars("pretrain", metrics, done)
        rate = done / max(time.time() - t0, 1e-9)
        self.logger.status("pre-training " + status_fmt.progress(done, total, rate))

    def _restore(self, step: int | None) -> None:
        # what wrote the checkpoint is checked before its state is read, so the refusal
        # names the cause (format, changed fields, or an older config schema)
        step, meta = self.ckpt.read_metadata(step)
        why = resume.refusal(step, meta, FORMAT_VERSION, self.hash,
                             json.loads(self.config.to_json()))
        if why is not None:
            raise SystemExit(f"refusing to resume: {why}")
        try:
            self.state, meta = self.ckpt.restore(self.state, step)
        except CheckpointStructureError as err:
            raise SystemExit(f"refusing to resume: {err}") from None
        step = int(meta["step"])
        self.d_r.restore(self.ckpt.artefact_dir(step, "replay_r"))
        self.d_i.restore(self.ckpt.artefact_dir(step, "replay_i"))
        self.acked = {k: int(v) for k, v in meta["acked_seq"].items()}
        self.counts.update({k: int(v) for k, v in meta["counts"].items()})
        self.params_version = int(meta["params_version"])
        if self.schedule is not None and meta.get("beta_schedule") is not None:
            self.schedule.load_state_dict(meta["beta_schedule"])
        self.trainer.restore_interventions(int(meta.get("new_interventions", 0)))
        self.resumed_step = step
        self.logger.status(
            f"resumed step {step}: |D_R| {len(self.d_r)} |D_I| {len(self.d_i)} "
            f"updates {self.counts['updates']} acked {self.acked}", final=True)

    def _replay_wal(self) -> None:
        """Inserts the logged batches the checkpoint does not hold yet."""
        n = 0
        for raw in self.wal.records():
            batch = codec.decode_batch(self.spec, codec.parse_batch(raw))
            last = self.acked.get(batch.actor_id, batch.first_seq - 1)
            if batch.last_seq <= last:
                continue
            skip = max(0, last + 1 - batch.first_seq)
            self._insert(batch.slice(skip) if skip else batch, log_it=False)
            n += len(batch) - skip
        if n:
            self.logger.status(f"write-ahead log: {n} transitions restored", final=True)

    # ------------------------------------------------------------------ ingest
    def on_transitions(self, batch: codec.DecodedBatch) -> None:
        """Server ingest callback: log, insert, count; the server acks after it returns."""
        self._insert(batch, log_it=True)

    def _insert(self, batch: codec.DecodedBatch, log_it: bool) -> None:
        d = batch.data
        chunk = chunk_from_columns(self.spec, d)
        with self._data_lock:
            if log_it:  # the actor's own message when it is still whole: no re-encode
                self.wal.append(batch.raw if batch.raw is not None else codec.encode_batch(
                    self.spec, batch.actor_id, batch.first_seq, d, share_frames=True))
            self.trainer.ingest(chunk)
            self.acked[batch.actor_id] = batch.last_seq
            self.counts["env_steps"] += len(batch)
            self.counts["interventions"] += int(np.count_nonzero(chunk.is_intervention))
        self._ingested.set()

    def on_episode(self, stats: dict[str, Any]) -> None:
        with self._data_lock:
            self._episodes.append(stats)
            self._episode_window.append(stats)
            self.counts["episodes"] += 1
            self.counts["successes"] += int(bool(stats.get("success")))

    # ------------------------------------------------------------------ updates
    def _update_loop(self) -> None:
        try:
            self._update_loop_inner()
        except BaseException as e:  # surfaced by the main thread, which then stops
            what = self._update_part
            log.exception("the learner's %s failed", what)
            self._update_error = e
            if hasattr(self, "server"):
                self.server.report_stopped(what, f"{type(e).__name__}: {e}")
            self._stop.set()

    def _update_loop_inner(self) -> None:
        r = self.config.runtime
        every = int(r.checkpoint_every_updates)
        min_dt = 1.0 / float(r.max_updates_per_s) if r.max_updates_per_s > 0 else 0.0
        last_t = 0.0
        while not self._stop.is_set():
            # A copy is due once asked for and something changed since the last: asked
            # before training starts, the request waits for the first update, so the first
            # trained parameters leave at once instead of one push period later.
            copied = self._host_params[0] if self._host_params is not None else 0
            if self._want_params.is_set() and self.counts["updates"] > copied:
                self._want_params.clear()
                self._host_params = (self.counts["updates"], self.trainer.actor_params())
            self._beta_steps()
            if len(self.d_r) < int(r.start_training_after) or not self.trainer.ready():
                time.sleep(0.02)
                continue
            if not self.counts["training"]:
                self._start_training()
            if self._ahead_of_data():
                self._ingested.wait(0.1)
                continue
            if min_dt:
                wait = last_t + min_dt - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
                last_t = time.monotonic()
            first = not self._compiled
            if first:
                self._compiling_since = time.monotonic()
            metrics = self.trainer.update()
            if first:
                jax.block_until_ready(metrics)
                self._compiling_since, self._compiled = None, True
            self.counts["updates"] += 1
            self.server.notify_progress()
            if self.counts["updates"] % 10 == 0:
                self._last_metrics = floats(metrics)
            if every and self.counts["updates"] % every == 0:
                self._update_part = "checkpoint"  # names the cause should it fail
                self.checkpoint()
                self._update_part = "update"

    def _start_training(self) -> None:
        """Marks where update calls begin: pacing actors count their steps from here."""
        with self._data_lock:
            self.counts["train_from"] = self.counts["env_steps"]
            self.counts["training"] = 1
        self._train_t0 = time.monotonic()
        self.server.notify_progress()
        self.logger.status(f"training from env step {self.counts['train_from']}", final=True)

    def _ahead_of_data(self) -> bool:
        """True when one more update call would exceed the replay ratio plus its slack."""
        r = self.config.runtime
        if float(r.updates_per_env_step) <= 0:
            return False
        self._ingested.clear()  # cleared before the check: an insert after it wakes us
        c = self.counts
        return not pacing.learner_may_update(r.updates_per_env_step, r.pacing_slack_steps,
                                             c["updates"], c["env_steps"] - c["train_from"])

    def progress(self) -> Progress:
        """The figures acks carry to the actors (read without the lock: each is an int)."""
        c = self.counts
        return Progress(updates=int(c["updates"]), env_steps=int(c["env_steps"]),
                        training=bool(c["training"]), train_from=int(c["train_from"]))

    def ratio(self) -> float:
        """Update calls per env step since training started (the achieved replay ratio)."""
        c = self.counts
        return c["updates"] / max(c["env_steps"] - c["train_from"], 1) if c["training"] \
            else 0.0

    def save_policy(self) -> pathlib.Path:
        """The final actor parameters as ``<run_dir>/policy.npz`` (``training.policy`` format)."""
        return save_policy(self.paths["policy"], self.trainer.actor_params(), self.spec,
                           self.acfg)

    def _beta_steps(self) -> None:
        """The behaviour-policy steps that are due (SiLRI), from the update thread."""
        metrics = self.trainer.behavior_steps()
        if metrics is not None:
            self.counts["beta_steps"] = self.trainer.beta_steps
            self._last_beta = metrics

    # ------------------------------------------------------------------ checkpoints
    def checkpoint(self) -> int:
        """Saves state, replay, acked seqs, schedule and counters as one step (from the
        thread that owns the state, between updates)."""
        with self._data_lock:
            # Steps only grow, also across resumes and saves a kill left unfinished.
            step = max([int(self.counts["checkpoints"]), *self.ckpt.all_steps()]) + 1
            self.counts["checkpoints"] = step
            meta = {
                "format_version": FORMAT_VERSION, "step": step, "config_hash": self.hash,
                "acked_seq": dict(self.acked), "counts": dict(self.counts),
                "params_version": self.params_version,
                "server": self.server.state_dict() if hasattr(self, "server") else {},
                "beta_schedule": self.schedule.state_dict() if self.schedule else None,
                "new_interventions": self.trainer.pending_interventions,
                "config": json.loads(self.config.to_json()),
            }
            segment = self.wal.rotate()
            self.ckpt.save(step, self.state, metadata=meta, force=True,
                           artefacts={"replay_r": self.d_r.save, "replay_i": self.d_i.save})
        self.ckpt.wait()
        self.wal.drop_before(segment)
        return step

    # ------------------------------------------------------------------ serving
    def serve(self) -> None:
        r = self.config.runtime
        tls = (r.tls_cert, r.tls_key) if r.tls_cert else None
        self.server = LearnerServer(
            self.spec, self.hash, self.on_transitions, self.on_episode, address=r.address,
            token=r.token or None, tls=tls, max_message_bytes=int(r.max_message_bytes),
            actor_tokens=actor_tokens.load(r.actor_tokens_file) if r.actor_tokens_file
            else None,
            max_queue=int(r.max_queue), progress=self.progress,
            max_seq_gap=int(r.max_seq_gap),
        )
        self.server.load_state_dict({"acked_seq": self.acked,
                                     "params_version": self.params_version})
        self._publish(self.trainer.actor_params())
        self.logger.status(f"learner serving on {self.server.address} (config {self.hash})",
                           final=True)
        print(json.dumps({"event": "serving", "address": self.server.address,
                          "config_hash": self.hash, "resumed_step": self.resumed_step}),
              flush=True)

    def _push_failed(self, e: Exception) -> None:
        """A parameter push that raised: actors would run on stale parameters without a
        word, so the learner stops (with its final checkpoint: the state is intact)."""
        log.error("the learner's params push failed", exc_info=e)
        cause = f"{type(e).__name__}: {e}"
        self.server.report_stopped("push", cause)
        if self._worker_error is None:
            self._worker_error = RuntimeError(f"the learner's push (main thread) stopped: "
                                              f"{cause}")
            self._worker_error.__cause__ = e
            self.logger.status(f"{self._worker_error}", final=True)
        self.stop(reason="the params push failed")

    def _publish(self, params: Any) -> None:
        self.params_version = max(self.params_version, self.server.params_version) + 1
        self.server.publish_params(self.params_version, params)

    def run(self) -> None:
        """Serves until ``stop()`` (or a signal); ends with a checkpoint."""
        self.serve()
        updater = threading.Thread(target=self._update_loop, name="learner-update",
                                   daemon=True)
        updater.start()
        r = self.config.runtime
        next_push = time.monotonic() + float(r.push_period_s)
        next_log = time.monotonic() + float(r.log_every_s)
        pushed_update = 0
        window = {"t": time.monotonic(), "updates": self.counts["updates"],
                  "env_steps": self.counts["env_steps"], "interventions":
                  self.counts["interventions"]}
        self._want_params.set()
        while not self._stop.wait(0.01):
            now = time.monotonic()
            stopped = self.server.stopped()
            if stopped and self._worker_error is None and "update" not in stopped:
                # A worker of the server ended (it survives bad batches, so this is a bug
                # or an exhausted resource): stop rather than run on without intake.
                self._worker_error = RuntimeError(
                    "; ".join(f"the learner's {k} thread stopped: {v}"
                              for k, v in sorted(stopped.items())))
                self.logger.status(f"{self._worker_error}", final=True)
                self.stop(reason="a worker stopped")
            if self._host_params is not None and self._host_params[0] > pushed_update:
                pushed_update, params = self._host_params
                try:
                    self._publish(params)
                except Exception as e:  # stop with the cause, state intact
                    self._push_failed(e)
            if now >= next_push:
                self._want_params.set()
                next_push = now + float(r.push_period_s)
            if now >= next_log:
                window = self._log(window)
                next_log = now + float(r.log_every_s)
        if self._update_error is not None:
            self.logger.status(f"the learner's {self._update_part} (update thread) stopped: "
                               f"{type(self._update_error).__name__}: {self._update_error}",
                               final=True)
        elif self._stop_reason:
            self.logger.status(f"{self._stop_reason}: checkpointing and stopping", final=True)
        updater.join(timeout=UPDATE_JOIN_TIMEOUT_S)
        if updater.is_alive() and self._update_error is None:
            # The state is mid-update: a checkpoint of it could be torn. Keep the last good
            # checkpoint and the write-ahead log (which holds every acked batch) instead.
            faulthandler.dump_traceback(all_threads=True)
            self._update_error = TimeoutError(
                f"the update thread did not stop within {UPDATE_JOIN_TIMEOUT_S:.0f} s "
                "(stacks above); no final checkpoint, --resume restores from the last one "
                "and the write-ahead log")
        # Stop serving first: what is acked from now on is exactly what the checkpoint holds
        # (batches still queued are not acked; their actors resend them to the next learner).
        self.server.stop(grace=1.0)
        self._log(window, final=True)
        if self._update_error is None:
            step = self.checkpoint()
            self.logger.status(f"final checkpoint {step}", final=True)
            path = self.save_policy()
            self.logger.status(f"policy saved to {path}", final=True)
        self.wal.close()
        self.ckpt.close()
        self.logger.close()
        self._history.close()
        if self._update_error is not None:
            e = self._update_error
            raise RuntimeError(f"the learner's {self._update_part} (update thread) stopped: "
                               f"{type(e).__name__}: {e}") from e
        if self._worker_error is not None:
            raise self._worker_error

    def stop(self, reason: str | None = None) -> None:
        self._stop_reason = self._stop_reason or reason
        self._stop.set()

    # ------------------------------------------------------------------ logging
    def _show_status(self, counts: Mapping[str, int], perf: Mapping[str, float],
                     srv: Mapping[str, Any], succ: float, lam: float | None,
                     final: bool) -> None:
        """The status line: what the learner waits for, or its progress, within 80
        columns (the full figures are in TensorBoard)."""
        r, line = self.config.runtime, self.logger.line
        steps, budget = counts.get("env_steps", 0), int(r.env_steps)
        if not final and srv["subscribers"] == 0 and (not budget or steps < budget):
            what = "actors to connect" if not steps else "actors (none connected)"
            line.waiting(f"{what} on {self.server.address}", self._t_waiting("actors"))
            return
        if not final and self._compiling_since is not None:
            line.waiting("the first update to compile", self._compiling_since)
            return
        if not final and not counts.get("training"):
            need = int(r.start_training_after)
            line.show(f"collecting data before training: {min(len(self.d_r), need)}/{need} "
                      f"steps from {srv['subscribers']} actor(s)")
            return
        # time left from the mean rate since training started (a window's rate swings
        # with compiles and checkpoints)
        since = max(time.monotonic() - self._train_t0, 1e-9) if self._train_t0 else 0.0
        rate = (steps - counts.get("train_from", 0)) / since if since else 0.0
        head = (status_fmt.progress(steps, budget, rate) if budget
                else f"{status_fmt.count(steps)} steps, {counts.get('episodes', 0)} episodes")
        parts = [head, f"success {status_fmt.percent(succ)}",
                 f"human {status_fmt.percent(perf['intervention_rate'])}",
                 f"{perf['updates_per_s']:.0f} updates/s"]
        if lam is not None:
            parts.append(f"lambda {lam:.2f}")
        text = status_fmt.fit(parts, line.width)
        if final:
            line.event(text)
        else:
            line.show(text)

    def _t_waiting(self, what: str) -> float:
        """When the learner started waiting for ``what`` (reset when it waits for another)."""
        if self._waiting_for != what:
            self._waiting_for, self._waiting_since = what, time.monotonic()
        return self._waiting_since

    def _log(self, window: dict[str, float], final: bool = False) -> dict[str, float]:
        now = time.monotonic()
        dt = max(now - window["t"], 1e-9)
        with self._data_lock:
            counts = dict(self.counts)
            episodes, self._episode_window = self._episode_window, []
        srv = self.server.stats()
        ep: dict[str, float] = {}
        step = counts.get("env_steps", 0)
        steps = counts.get("env_steps", 0) - window["env_steps"]
        ups = counts.get("updates", 0) - window["updates"]
        perf = {
            "updates_per_s": (counts.get("updates", 0) - window["updates"]) / dt,
            "env_steps_per_s": steps / dt,
            "intervention_rate": (counts.get("interventions", 0) - window["interventions"])
            / max(steps, 1),
            "d_r_size": len(self.d_r), "d_i_size": len(self.d_i),
            "ingest_queue_depth": srv["queue_depth"], "refused_total": srv["refused_total"],
            "duplicates_dropped": srv["duplicates"], "actors_connected": srv["subscribers"],
            "beta_steps": counts.get("beta_steps", 0), "params_version": self.params_version,
            "updates": counts.get("updates", 0),
            # achieved replay ratio: in this window and since training started
            "updates_per_env_step": ups / max(steps, 1),
            "replay_ratio": self.ratio(),
        }
        self.logger.scalars("perf", perf, step)
        self.logger.scalars("train", self._last_metrics, step)
        if self._last_beta:
            self.logger.scalars("beta", self._last_beta, step)
        for k, v in srv["refused"].items():
            self.logger.writer.add_scalar(f"refused/{k}", float(v), step)
        if episodes:
            ep = {
                "success_rate": np.mean([float(e["success"]) for e in episodes]),
                "return": np.mean([e["episode_return"] for e in episodes]),
                "length": np.mean([e["length"] for e in episodes]),
                "intervention_rate": np.sum([e["intervention_steps"] for e in episodes])
                / max(np.sum([e["length"] for e in episodes]), 1),
            }
            for key in ("param_age_s", "param_age_max_s", "outbox", "steps_per_s",
                        "pacing_wait_s"):
                vals = [e[key] for e in episodes if key in e]
                if vals:
                    ep[key] = float(np.mean(vals))
            self.logger.scalars("episode", ep, step)
        recent = list(self._episodes)[-20:]
        succ = np.mean([float(e["success"]) for e in recent]) if recent else float("nan")
        lam = self._last_metrics.get("lambda_mean")
        self._history.write(json.dumps({
            "env_steps": step, "episodes": counts.get("episodes", 0),
            "updates": counts.get("updates", 0), "wall_s": round(now - self._t0, 2),
            "success_rate": ep["success_rate"] if episodes else None,
            "success_rate_20": None if not recent else float(succ),
            "intervention_rate": perf["intervention_rate"] if steps else None,
            "lambda_mean": lam}) + "\n")
        self._history.flush()
        self._show_status(counts, perf, srv, succ, lam, final)
        self.logger.writer.flush()
        return {"t": now, "updates": counts.get("updates", 0),
                "env_steps": counts.get("env_steps", 0),
                "interventions": counts.get("interventions", 0)}


def summary(learner: Learner) -> dict[str, Any]:
    c = learner.counts
    return {"event": "learner_done", "updates": c["updates"], "env_steps": c["env_steps"],
            "intervention_rate": c["interventions"] / max(c["env_steps"], 1),
            "episodes": c["episodes"],
            "train_success_rate": c["successes"] / max(c["episodes"], 1),
            "replay_ratio": learner.ratio(), "beta_steps": c["beta_steps"],
            "policy_path": str(learner.paths["policy"]), "d_r_size": len(learner.d_r),
            "d_i_size": len(learner.d_i), "checkpoints": learner.counts["checkpoints"],
            "params_version": learner.params_version, **_server_counts(learner)}


def _server_counts(learner: Learner) -> Mapping[str, Any]:
    s = learner.server.stats() if hasattr(learner, "server") else {}
    return {"refused": s.get("refused", {}), "duplicates_dropped": s.get("duplicates", 0)}


def main(argv: list[str]) -> None:
    procs.die_with_parent()
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    from silri_jax import distributed

    if not distributed.initialize(_COORDINATOR.value, _NUM_PROCESSES.value,
                                  _PROCESS_ID.value).is_leader:
        print(json.dumps(follower.run(_CONFIG.value)), flush=True)
        sys.exit(0)
    try:
        learner = Learner(_CONFIG.value, resume=_RESUME.value)
        procs.handle_stop_signals(lambda name: learner.stop(reason=name),
                                  SHUTDOWN_STACK_DUMP_S)
        learner.run()
    finally:
        follower.release("process 0 stopped")  # several processes: the others end too
    print(json.dumps(summary(learner)), flush=True)
    sys.exit(0)


if __name__ == "__main__":
    from absl import flags

    from silri_jax import cli

    _CONFIG = cli.define_config("configs/train.py", "runtime config (configs/train.py:<variant>)",
                                "silri_jax.learner")
    _RESUME = flags.DEFINE_bool("resume", False,
                                "continue from the latest checkpoint and write-ahead log")
    # One learner over several processes (docs/runtime.md, "One learner over several
    # processes").
    _COORDINATOR = flags.DEFINE_string(
        "coordinator_address", "", "HOST:PORT of process 0's JAX coordinator; empty: one "
        "process, or the launcher's (srun, mpirun) when it started several")
    _NUM_PROCESSES = flags.DEFINE_integer(
        "num_processes", None, "processes of this learner (default 1, or the launcher's)")
    _PROCESS_ID = flags.DEFINE_integer(
        "process_id", None, "this process's index; 0 serves actors, checkpoints and logs")
    cli.run(main, prog="silri_jax.learner", summary=__doc__.split("\n\n")[0],
            default_config="configs/train.py", config_holder=_CONFIG, validate=build.validate)
