"""Where each update's batch comes from: ``BatchSource`` owns ``D_R`` and ``D_I`` (on the
host, and optionally a copy on the accelerator), routes every stored transition, and
draws the ``[utd, B]`` groups of the agent's ``batch_source``.

- ``mixed`` (SAC, SiLRI): half the batch from ``D_R``, half from ``D_I``
  (``MixedSampler``); interventions go to both buffers.
- ``intervention`` (HG-DAgger): ``D_I`` only; interventions go to both buffers.
- ``demos`` (BC): ``D_I`` holds the demonstrations only; nothing online is routed there.

With ``on_device`` (``runtime.replay_on_device``) the buffers are also mirrored on the
accelerator once ``start_device`` is called (after demos, checkpoint and write-ahead log
are in), every later insert goes to both copies, and each update draws its batch inside
the compiled call (``DeviceUpdater``). The host buffers stay the source of truth for
checkpoints, beta steps and pre-training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from silri_jax.agents.base import Agent, AgentState
from silri_jax.data import (
    DeviceMixedSampler,
    DeviceReplay,
    DeviceUpdater,
    MixedSampler,
    ReplayBuffer,
    insert_demos,
)
from silri_jax.data.demos import Episode
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.data.transitions import TransitionChunk
from silri_jax.parallel import replicated
from silri_jax.specs import EnvSpec

SOURCES = ("mixed", "intervention", "demos")


class BatchSource:
    """``D_R``, ``D_I`` and the draw of each update's batch (see the module docstring)."""

    def __init__(self, agent: Agent, spec: EnvSpec, capacity: int, batch_size: int,
                 utd: int) -> None:
        if agent.batch_source not in SOURCES:
            raise ValueError(f"unknown batch source {agent.batch_source!r}")
        self.agent, self.spec = agent, spec
        self.source = agent.batch_source
        self.batch_size, self.utd = int(batch_size), int(utd)
        self.d_r = ReplayBuffer(spec, int(capacity))
        self.d_i = ReplayBuffer(spec, int(capacity))
        self.mixed = MixedSampler(self.d_r, self.d_i, self.batch_size, 0.5)
        # BC learns from the demonstrations only: online interventions stay out of D_I.
        self.interventions_to_d_i = self.source != "demos"
        self._mirror_r: DeviceReplay | None = None
        self._mirror_i: DeviceReplay | None = None
        self._device: DeviceUpdater | None = None

    # ------------------------------------------------------------------ storing
    def add_demos(self, episodes: Sequence[Episode]) -> int:
        """Demonstrations into ``D_I`` (as interventions); returns the transitions there.

        Steps a dataset flags as policy-driven go to ``D_R`` instead (``insert_demos``)."""
        return insert_demos(self.d_i, episodes, policy_buffer=self.d_r)

    def insert(self, chunk: TransitionChunk) -> int:
        """Stores ``chunk`` in ``D_R`` and its interventions in ``D_I`` (where the source
        routes them); returns how many intervention transitions went to ``D_I``."""
        self.d_r.add(chunk)
        if self._mirror_r is not None:
            self._mirror_r.add(chunk)
        index = np.flatnonzero(chunk.is_intervention)
        if not len(index) or not self.interventions_to_d_i:
            return 0
        sub = chunk.select(index)
        self.d_i.add(sub)
        if self._mirror_i is not None:
            self._mirror_i.add(sub)
        return len(index)

    # ------------------------------------------------------------------ drawing
    def ready(self) -> bool:
        """True once a batch can be drawn."""
        if self.source == "mixed":
            return len(self.d_r) + len(self.d_i) > 0
        return len(self.d_i) > 0

    def start_device(self, seed: int) -> None:
        """Mirrors both buffers on the accelerator; from here every insert goes to both and
        ``update`` draws inside the compiled call."""
        where = replicated(self.agent.mesh)

        def on_device(host: ReplayBuffer, capacity: int) -> DeviceReplay:
            return DeviceReplay(self.spec, capacity, image_codec=host.codec,
                                frame_ratio=host.frame_ratio, device=where)

        self._mirror_i = on_device(self.d_i, self.d_i.capacity)
        self._mirror_i.copy_from(self.d_i)
        if self.source == "mixed":
            self._mirror_r = online = on_device(self.d_r, self.d_r.capacity)
            self._mirror_r.copy_from(self.d_r)
        else:  # batches from D_I only: an empty D_R never enters the split
            online = on_device(self.d_r, 1)
        sampler = DeviceMixedSampler(online, self._mirror_i, self.batch_size)
        self._device = DeviceUpdater(self.agent, sampler, self.utd, seed=seed)

    @property
    def device_updater(self) -> DeviceUpdater | None:
        """The compiled draw-and-update of the mirrored buffers (None on the host)."""
        return self._device

    @property
    def mirrors(self) -> tuple[DeviceReplay | None, DeviceReplay | None]:
        """The accelerator copies of ``D_R`` and ``D_I`` (None when not mirrored)."""
        return self._mirror_r, self._mirror_i

    def sample(self, rng: np.random.Generator) -> tuple[dict[str, Any], ObservationDecoder]:
        """One ``[utd, B]`` group from the host buffers, images in stored form with the
        decoder that ``agent.update`` applies inside its compiled call."""
        if self.source == "mixed":
            return self.mixed.sample(rng, self.utd, decode=False)
        return self.d_i.sample(rng, self.batch_size, self.utd, decode=False)

    def update(self, state: AgentState, rng: np.random.Generator
               ) -> tuple[AgentState, dict[str, Any]]:
        """One compiled update call on a freshly drawn group (on the device when
        mirrored)."""
        if self._device is not None:
            return self._device(state)
        return self.agent.update(state, *self.sample(rng))

    def sample_intervention(self, rng: np.random.Generator, steps: int
                            ) -> tuple[dict[str, Any], ObservationDecoder]:
        """``steps`` stored-form ``D_I`` batches for ``pretrain`` / ``update_behavior``."""
        return self.d_i.sample(rng, self.batch_size, steps, decode=False)
