"""The training core both trainers stand on.

``Trainer`` holds the agent state, the ``BatchSource`` (``D_R`` and ``D_I``), SiLRI's
behaviour-policy schedule and the counters, and offers what a loop needs:

- ``add_demos`` and ``pretrain``: the offline start;
- ``ingest(chunk)``: store transitions (thread-safe against ``step``'s reads of the
  intervention count);
- ``step()``: the behaviour-policy steps that are due, then one update call (one UTD
  group, one compiled function);
- ``actor_params()``: a host copy of what an actor needs.

``sync_train`` is a short loop over it; the learner is threads and transport around it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import ml_collections
import numpy as np

from silri_jax.agents.base import Agent, AgentState
from silri_jax.data import ReplayBuffer
from silri_jax.data.demos import Episode
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.data.transitions import TransitionChunk
from silri_jax.training.batches import BatchSource
from silri_jax.training.policy import floats, host_actor_params

PRETRAIN_CHUNK = 100


def run_pretraining(
    agent: Agent,
    state: AgentState,
    sample: Callable[[int], tuple[dict[str, Any], ObservationDecoder]],
    steps: int,
    on_metrics: Callable[[int, dict[str, float]], None] | None = None,
) -> tuple[AgentState, dict[str, float]]:
    """``steps`` pre-training steps in compiled chunks of at most ``PRETRAIN_CHUNK``
    (``sample(n)`` gives n stored-form D_I batches and their decoder); ``on_metrics(done,
    metrics)`` after each chunk. Returns the state and the last chunk's metrics; a
    non-finite metric raises ``FloatingPointError`` naming it."""
    done, metrics = 0, {}
    while done < steps:
        n = min(PRETRAIN_CHUNK, steps - done)
        state, m = agent.pretrain(state, *sample(n))
        done += n
        metrics = floats(m)
        bad = {k: v for k, v in metrics.items() if not np.isfinite(v)}
        if bad:  # stop here, naming it, instead of training on a diverged policy
            raise FloatingPointError(
                f"pre-training diverged after {done} steps: {bad} (check the agent's "
                "learning rates and the demonstrations)")
        if on_metrics is not None:
            on_metrics(done, metrics)
    return state, metrics


class Trainer:
    """Agent state, replay and schedule of one training run (module docstring)."""

    def __init__(self, agent: Agent, spec: Any, agent_cfg: ml_collections.ConfigDict,
                 capacity: int, seed: int, init_key: jax.Array | None = None) -> None:
        self.agent, self.spec, self.agent_cfg = agent, spec, agent_cfg
        self.seed = int(seed)
        # one host stream for every draw of a batch (and sync_train's random actions)
        self.rng = np.random.default_rng(self.seed)
        key = jax.random.PRNGKey(self.seed) if init_key is None else init_key
        self.state: AgentState = agent.init(key)
        self.batches = BatchSource(agent, spec, capacity, int(agent_cfg.batch_size),
                                   int(agent_cfg.utd))
        self.schedule = agent.beta_schedule()
        self._lock = threading.Lock()
        self._new_interventions = 0  # routed to D_I since the schedule last looked
        self.updates = 0
        self.beta_steps = 0

    @property
    def d_r(self) -> ReplayBuffer:
        return self.batches.d_r

    @property
    def d_i(self) -> ReplayBuffer:
        return self.batches.d_i

    @property
    def pretrain_steps(self) -> int:
        """The agent's pre-training steps (0 for agents without pre-training)."""
        if not self.agent.has_pretraining:
            return 0
        return int(self.agent_cfg.get("pretrain_steps", 0))

    # ------------------------------------------------------------------ offline start
    def add_demos(self, episodes: Sequence[Episode]) -> int:
        return self.batches.add_demos(episodes)

    def pretrain(self, on_metrics: Callable[[int, dict[str, float]], None] | None = None
                 ) -> int:
        """Pre-trains on ``D_I`` where the agent has pre-training and ``D_I`` holds data;
        returns the steps run."""
        steps = self.pretrain_steps
        if steps <= 0 or len(self.d_i) == 0:
            return 0
        self.state, _ = run_pretraining(
            self.agent, self.state,
            lambda n: self.batches.sample_intervention(self.rng, n), steps, on_metrics)
        return steps

    # ------------------------------------------------------------------ online
    def ingest(self, chunk: TransitionChunk) -> int:
        """Stores ``chunk``; returns its intervention transitions routed to ``D_I`` (the
        count the behaviour-policy schedule waits for)."""
        routed = self.batches.insert(chunk)
        if routed:
            with self._lock:
                self._new_interventions += routed
        return routed

    @property
    def pending_interventions(self) -> int:
        with self._lock:
            return self._new_interventions

    def behavior_steps(self) -> dict[str, float] | None:
        """The behaviour-policy steps the schedule says are due (SiLRI); their metrics,
        or None when none ran."""
        if self.schedule is None:
            return None
        with self._lock:
            new, self._new_interventions = self._new_interventions, 0
        due = self.schedule.observe(new) if new else 0
        if due <= 0:
            return None
        self.state, metrics = self.agent.update_behavior(
            self.state, *self.batches.sample_intervention(self.rng, due))
        self.beta_steps += due
        return floats(metrics)

    def ready(self) -> bool:
        return self.batches.ready()

    def update(self) -> Mapping[str, Any]:
        """One update call (one UTD group); its metrics stay on the device until read."""
        self.state, metrics = self.batches.update(self.state, self.rng)
        self.updates += 1
        return metrics

    def step(self) -> tuple[Mapping[str, Any], dict[str, float] | None]:
        """Due behaviour-policy steps, then one update call: (update metrics, beta
        metrics or None)."""
        beta = self.behavior_steps()
        return self.update(), beta

    def actor_params(self) -> dict[str, Any]:
        """A host copy of the actor's parameters (updates donate the state's buffers)."""
        return host_actor_params(self.agent, self.state)

    def restore_interventions(self, pending: int) -> None:
        """The schedule's not-yet-seen count from a checkpoint."""
        with self._lock:
            self._new_interventions = int(pending)

