"""Batches mixed from the online buffer ``D_R`` and the intervention buffer ``D_I``.

SiLRI and HIL-SERL draw half of each batch from each buffer (128 + 128), so the scarce
human data is not drowned by the policy's own transitions.

Empty buffers: when ``D_I`` is empty the whole batch comes from ``D_R`` (a run without
demonstrations still trains); when ``D_R`` is empty the whole batch comes from ``D_I``
(pre-training on demonstrations before the first online step); both empty raises
``ValueError``. The batch size never changes, so the compiled update is not retraced.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from silri_jax.data.replay import ReplayBuffer


def mixed_split(n_online: int, n_interv: int, batch_size: int, ratio: float) -> tuple[int, int]:
    """(rows from D_R, rows from D_I) of a ``batch_size`` batch with ``ratio`` from D_I,
    given the buffers' sizes (the empty-buffer rules of the module docstring)."""
    if n_online == 0 and n_interv == 0:
        raise ValueError("cannot sample: both D_R and D_I are empty")
    if n_interv == 0:
        return batch_size, 0
    if n_online == 0:
        return 0, batch_size
    from_interv = round(batch_size * ratio)
    return batch_size - from_interv, from_interv


def check_pair(online: Any, intervention: Any, batch_size: int, ratio: float) -> None:
    """Refuses a D_R / D_I pair that cannot make one batch (host or device buffers)."""
    if not 0.0 <= ratio <= 1.0:
        raise ValueError(f"ratio must be in [0, 1], got {ratio}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if online.spec != intervention.spec:
        raise ValueError("online and intervention buffers have different specs")
    if online.decoder != intervention.decoder:
        raise ValueError("online and intervention buffers use different image codecs")


def _concat(a: Any, b: Any, axis: int) -> Any:
    if isinstance(a, dict):
        return {k: _concat(a[k], b[k], axis) for k in a}
    return np.concatenate([a, b], axis=axis)


class MixedSampler:
    """Samples ``batch_size`` transitions: ``ratio`` of them from ``D_I``, the rest ``D_R``.

    The ``D_R`` rows come first in the batch, then the ``D_I`` rows.
    """

    def __init__(
        self,
        online: ReplayBuffer,
        intervention: ReplayBuffer,
        batch_size: int = 256,
        ratio: float = 0.5,
    ) -> None:
        check_pair(online, intervention, batch_size, ratio)
        self.online = online
        self.intervention = intervention
        self.batch_size = int(batch_size)
        self.ratio = float(ratio)
        self.decoder = online.decoder

    def split(self) -> tuple[int, int]:
        """(rows from D_R, rows from D_I) for the next batch, given which are empty."""
        return mixed_split(len(self.online), len(self.intervention), self.batch_size,
                           self.ratio)

    def sample(
        self, rng: np.random.Generator, num_batches: int | None = None, decode: bool = True
    ) -> Any:
        """A mixed batch (leading ``[num_batches, batch_size]`` when given).

        With ``decode=False`` returns ``(batch, decoder)`` as ``ReplayBuffer.sample`` does.
        """
        n_r, n_i = self.split()
        parts = []
        for buf, n in ((self.online, n_r), (self.intervention, n_i)):
            if n:
                part, _ = buf.sample(rng, n, num_batches, decode=False)
                parts.append(part)
        axis = 0 if num_batches is None else 1
        batch = parts[0] if len(parts) == 1 else _concat(parts[0], parts[1], axis)
        if decode:
            return self.decoder.numpy(batch)
        return batch, self.decoder
