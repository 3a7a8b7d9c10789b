"""Data-parallel updates over all local devices with ``shard_map``.

The agent's update is written once with a named axis: gradients and metrics are
``pmean``-ed over it and per-example noise is indexed by global batch position. Wrapped
here, the batch is split along its example axis across the devices of a 1-D mesh and the
state is replicated, so one device is just the N=1 case of the same compiled code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "devices"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every local device)."""
    devs = list(devices) if devices is not None else jax.local_devices()
    return Mesh(np.array(devs), (AXIS,))


def data_parallel(
    fn: Callable[[Any, Any], tuple[Any, Any]],
    mesh: Mesh,
    example_axis: int = 1,
    donate_state: bool = True,
) -> Callable[[Any, Any], tuple[Any, Any]]:
    """``fn(state, batch) -> (state, metrics)`` split over ``mesh`` along the batch's
    ``example_axis`` (1 for [utd, B, ...] groups); state and metrics replicated."""
    batch_spec = P(*([None] * example_axis), AXIS)
    n = mesh.devices.size

    mapped = jax.shard_map(
        fn,
        mesh=mesh,
        in_specs=(P(), batch_spec),
        out_specs=(P(), P()),
        # Without replication checking, gradients w.r.t. the replicated parameters stay
        # per-device and the losses average them explicitly with pmean (with checking on,
        # autodiff would psum them implicitly instead).
        check_vma=False,
    )
    jitted = jax.jit(mapped, donate_argnums=(0,) if donate_state else ())

    def call(state: Any, batch: Any) -> tuple[Any, Any]:
        sizes = {x.shape[example_axis] for x in jax.tree.leaves(batch)}
        if len(sizes) != 1:
            raise ValueError(f"batch leaves disagree on the example axis: sizes {sorted(sizes)}")
        (size,) = sizes
        if size % n:
            raise ValueError(f"batch size {size} is not divisible by the {n} local devices")
        return jitted(state, batch)

    return call


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())
