"""Update-to-data pacing: keeps simulated actors from running ahead of learning.

A simulated actor steps far faster than the learner updates (about 150 env steps/s
against 30 to 100 update calls/s on a 2-core CPU), so without a bound the step budget is
spent before the policy has trained: the replay ratio (update calls per env step) of the
run would be set by the machine's speed instead of by the config. ``sync_train`` fixes
the ratio by construction (``updates_per_env_step`` update calls after each step); this
module gives the asynchronous runtime the same knob, as HIL-SERL-style systems have.

The rule, with ``r = runtime.updates_per_env_step``, ``s = runtime.pacing_slack_steps``,
``N`` the env steps of all actors (the learner's ingested count plus this actor's
unacknowledged ones) and ``U`` the learner's update calls since training started at
``N0`` env steps: an actor may take its next step while ``N + 1 <= N0 + U / r + s``.

- Before training starts (fewer than ``start_training_after`` transitions, or a sampler
  with no data) the learner reports ``training = False`` and actors never wait: the first
  transitions are collected freely, so pacing cannot deadlock start-up.
- ``N0`` is where the learner became ready, not where its first update finished, so the
  compile of the first update does not let the actors run ahead by thousands of steps.
- When blocked, the actor long-polls (``ActorClient.wait_progress``) for enough updates
  to take ``s / 2`` more steps (hysteresis: one round trip per few steps, not per step);
  it sleeps inside the learner's condition variable, never spins, and rechecks its stop
  flag at least every ``POLL_S`` seconds so Ctrl-C/SIGTERM still stop it promptly.
- An unreachable learner is retried (the client reconnects on its own) for at most
  ``runtime.pacing_timeout_s`` seconds, then ``TimeoutError`` names the problem.
- ``r = 0`` turns pacing off: a real robot at 10 Hz must never be held mid-motion.

Nothing is dropped or repeated: the wait happens before a step, not around a send, so the
transition stream and its sequence numbers are untouched.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Protocol

import grpc

from silri_jax.transport.common import Progress

POLL_S = 0.5
RETRY_S = 0.2


def check_settings(updates_per_env_step: float, slack_steps: int, timeout_s: float) -> None:
    """Refuses pacing settings that are malformed or that would deadlock, naming the field.

    The actors may run ``s`` steps past ``U / r`` and the learner ``r * s`` updates past
    ``r * x`` (``learner_may_update``); each waits for the other, so the two slacks together
    must leave room for at least one update: ``r * (2 s - 1) >= 1``.
    """
    ratio = float(updates_per_env_step)
    if not math.isfinite(ratio) or ratio < 0:
        raise ValueError("config.runtime.updates_per_env_step must be a finite number >= 0, "
                         f"got {updates_per_env_step}")
    if int(slack_steps) < 1:
        raise ValueError(f"config.runtime.pacing_slack_steps must be >= 1, got {slack_steps}")
    if ratio > 0 and ratio * (2 * int(slack_steps) - 1) < 1:
        need = math.ceil((1 / ratio + 1) / 2)
        raise ValueError(
            f"config.runtime.pacing_slack_steps={slack_steps} is too small for "
            f"updates_per_env_step={ratio:g}: the actors and the learner would wait for each "
            f"other forever; use at least {need}")
    if not float(timeout_s) > 0:
        raise ValueError(f"config.runtime.pacing_timeout_s must be positive, got {timeout_s}")


def learner_may_update(updates_per_env_step: float, slack_steps: int, updates: int,
                       steps_since_training: int) -> bool:
    """The learner's side of the same rule: one more update call keeps it within
    ``r * (steps + s)``; with ``r = 0`` it never waits."""
    ratio = float(updates_per_env_step)
    if ratio <= 0:
        return True
    return updates + 1 <= ratio * (steps_since_training + int(slack_steps))


class ProgressSource(Protocol):
    """What the pacer needs from ``ActorClient`` (a protocol so tests can stand in)."""

    def progress(self) -> tuple[Progress, float] | None: ...

    def wait_progress(self, min_updates: int, max_wait_s: float) -> Progress: ...

    def outbox_len(self) -> int: ...


class Pacer:
    """Decides whether an actor may step and waits until it may."""

    def __init__(self, updates_per_env_step: float, slack_steps: int,
                 timeout_s: float = 600.0) -> None:
        check_settings(updates_per_env_step, slack_steps, timeout_s)
        self.ratio = float(updates_per_env_step)
        self.slack = int(slack_steps)
        self.timeout_s = float(timeout_s)
        self.waited_s = 0.0  # total time spent waiting, for the logs
        self.waits = 0       # steps that had to wait

    @property
    def enabled(self) -> bool:
        return self.ratio > 0

    def allowed_total(self, progress: Progress) -> int | None:
        """Env steps (all actors) allowed by ``progress``; None: unbounded."""
        if not self.enabled or not progress.training:
            return None
        return progress.train_from + math.floor(progress.updates / self.ratio) + self.slack

    def updates_for(self, progress: Progress, total: int) -> int:
        """Update calls the learner needs before ``total`` env steps are allowed."""
        return max(0, math.ceil(self.ratio * (total - progress.train_from - self.slack)))

    def may_step(self, progress: Progress, produced: int) -> bool:
        """True when one more step fits (``produced``: this actor's unacked steps)."""
        bound = self.allowed_total(progress)
        return bound is None or progress.env_steps + produced + 1 <= bound

    def wait(self, client: ProgressSource, stop: threading.Event) -> float:
        """Blocks until one more step fits or ``stop`` is set; returns the seconds waited."""
        if not self.enabled:
            return 0.0
        t0 = last_ok = time.monotonic()
        waited = False
        while not stop.is_set():
            got = client.progress()
            progress = got[0] if got is not None else None
            unacked = client.outbox_len()
            if progress is not None and self.may_step(progress, unacked):
                break
            try:
                if progress is None:  # not heard from the learner yet: ask, do not guess
                    client.wait_progress(0, 0.0)
                else:
                    waited = True
                    total = progress.env_steps + unacked + 1 + self.slack // 2
                    client.wait_progress(self.updates_for(progress, total), POLL_S)
                last_ok = time.monotonic()
            except grpc.RpcError as e:
                gone = time.monotonic() - last_ok
                if gone > self.timeout_s:
                    raise TimeoutError(
                        f"pacing: the learner has been unreachable for {gone:.0f} s "
                        f"(config.runtime.pacing_timeout_s={self.timeout_s:g}); last error "
                        f"{e.code().name}") from e
                stop.wait(RETRY_S)
        dt = time.monotonic() - t0
        if waited:
            self.waits += 1
            self.waited_s += dt
        return dt
