"""Mixed D_R / D_I batches drawn from replay on the accelerator, inside the update.

Why: with pixels, gathering a [utd, B] batch on the host and copying it over costs more
than the update itself on a fast accelerator. ``DeviceMixedSampler`` applies
``MixedSampler``'s rule (half of each batch from each buffer; the whole batch from the
other buffer while one is empty) to two ``DeviceReplay`` buffers as a pure function, and
``DeviceUpdater`` compiles it together with the agent's update
(``Agent.sampled_entry``), so an update call moves only a key and a step number.

The split depends on which buffers are empty. The host knows that without asking the
device (the sizes live in the buffers' ring indices), and each split is its own compiled
function (at most three: D_R only, D_I only, mixed); the batch size never changes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from silri_jax.data.device_replay import DeviceReplay, Storage
from silri_jax.data.mixed import check_pair, mixed_split

SampleFn = Callable[[tuple[Storage, Storage], jax.Array], dict[str, Any]]


class DeviceMixedSampler:
    """``ratio`` of each batch from ``intervention`` (D_I), the rest from ``online`` (D_R);
    the D_R rows first, as ``MixedSampler``. Images stay in the buffers' stored form
    (``decoder`` decodes them inside the update)."""

    def __init__(self, online: DeviceReplay, intervention: DeviceReplay,
                 batch_size: int = 256, ratio: float = 0.5) -> None:
        check_pair(online, intervention, batch_size, ratio)
        self.online, self.intervention = online, intervention
        self.batch_size, self.ratio = int(batch_size), float(ratio)
        self.decoder = online.decoder

    def storages(self) -> tuple[Storage, Storage]:
        """Both buffers' device storage, staged transitions written first. Call from the
        thread that runs the update (``DeviceReplay.flush``)."""
        return self.online.flush(), self.intervention.flush()

    def split(self) -> tuple[int, int]:
        """(rows from D_R, rows from D_I) for the current buffer sizes (written ones)."""
        return mixed_split(len(self.online), len(self.intervention), self.batch_size,
                           self.ratio)

    def sample_fn(self, split: tuple[int, int], num_batches: int | None = None) -> SampleFn:
        """A pure ``fn((storage_r, storage_i), key) -> batch`` for ``split``, to call inside
        jit (leading ``[num_batches, batch_size]`` when given, else ``[batch_size]``)."""
        n_r, n_i = (int(x) for x in split)
        if n_r < 0 or n_i < 0 or n_r + n_i != self.batch_size:
            raise ValueError(f"split {split} does not add up to batch size {self.batch_size}")
        from_r = self.online.sample_fn(n_r, num_batches, decode=False) if n_r else None
        from_i = self.intervention.sample_fn(n_i, num_batches, decode=False) if n_i else None
        axis = 0 if num_batches is None else 1

        def sample(storages: tuple[Storage, Storage], key: jax.Array) -> dict[str, Any]:
            key_r, key_i = jax.random.split(key)
            parts = []
            if from_r is not None:
                parts.append(from_r(storages[0], key_r))
            if from_i is not None:
                parts.append(from_i(storages[1], key_i))
            if len(parts) == 1:
                return parts[0]
            return jax.tree.map(lambda a, b: jnp.concatenate([a, b], axis=axis), *parts)

        return sample


class DeviceUpdater:
    """``agent``'s entry point ``name`` (``update``: one UTD group) on batches drawn by
    ``sampler`` inside the compiled call. ``updater(state) -> (state, metrics)``.

    The draw is reproducible: the batch of call i uses ``fold_in(key(seed), i)``.
    """

    def __init__(self, agent: Any, sampler: DeviceMixedSampler, num_batches: int,
                 name: str = "update", seed: int = 0) -> None:
        self.agent, self.sampler, self.name = agent, sampler, name
        self.num_batches = int(num_batches)
        self._key = jax.random.PRNGKey(seed)
        self._calls = 0
        self._compiled: dict[tuple[int, int], Callable[..., Any]] = {}

    def compiled(self, split: tuple[int, int]) -> Callable[..., Any]:
        """The compiled ``fn(state, storages, key, step)`` for ``split`` (built once)."""
        fn = self._compiled.get(split)
        if fn is None:
            sample = self.sampler.sample_fn(split, self.num_batches)
            fn = self._compiled[split] = self.agent.sampled_entry(
                self.name, sample, self.sampler.decoder)
        return fn

    def __call__(self, state: Any) -> tuple[Any, Any]:
        storages = self.sampler.storages()
        split = self.sampler.split()
        step = np.uint32(self._calls)
        self._calls += 1
        return self.compiled(split)(state, storages, self._key, step)


__all__ = ["DeviceMixedSampler", "DeviceUpdater"]
