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
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

AXIS = "devices"


def make_mesh(devices: Sequence[jax.Device] | None = None) -> Mesh:
    """A 1-D mesh over ``devices`` (default: every local device)."""
    devs = list(devices) if devices is not None else jax.local_devices()
    return Mesh(np.array(devs), (AXIS,))


def global_mesh() -> Mesh:
    """A 1-D mesh over every process's devices (``jax.devices()``): with several processes
    (``silri_jax.distributed``) an update on it spans all of them; with one it is
    ``make_mesh()``."""
    return make_mesh(jax.devices())


def data_parallel(
    fn: Callable[[Any, Any], tuple[Any, Any]],
    mesh: Mesh,
    example_axis: int = 1,
    donate_state: bool = True,
) -> Callable[[Any, Any], tuple[Any, Any]]:
    """``fn(state, batch) -> (state, metrics)`` split over ``mesh`` along the batch's
    ``example_axis`` (1 for [utd, B, ...] groups); state and metrics replicated."""
    n = mesh.devices.size
    mapped = _shard_mapped(fn, mesh, example_axis)
    jitted = jax.jit(mapped, donate_argnums=(0,) if donate_state else ())

    def call(state: Any, batch: Any) -> tuple[Any, Any]:
        _check_split(batch, example_axis, n)
        return jitted(state, batch)

    return call


def _check_split(batch: Any, example_axis: int, n: int) -> None:
    """The batch's leaves agree on the example axis, and it splits over ``n`` devices."""
    sizes = {x.shape[example_axis] for x in jax.tree.leaves(batch)}
    if len(sizes) != 1:
        raise ValueError(f"batch leaves disagree on the example axis: sizes {sorted(sizes)}")
    (size,) = sizes
    if size % n:
        raise ValueError(f"batch size {size} is not divisible by the {n} local devices")


def _shard_mapped(fn: Callable[[Any, Any], tuple[Any, Any]], mesh: Mesh,
                  example_axis: int) -> Callable[[Any, Any], tuple[Any, Any]]:
    return jax.shard_map(
        fn,
        mesh=mesh,
        in_specs=(P(), _batch_spec(example_axis)),
        out_specs=(P(), P()),
        # Without replication checking, gradients w.r.t. the replicated parameters stay
        # per-device and the losses average them explicitly with pmean (with checking on,
        # autodiff would psum them implicitly instead).
        check_vma=False,
    )


def _batch_spec(example_axis: int) -> P:
    return P(*([None] * example_axis), AXIS)


def data_parallel_sampled(
    fn: Callable[[Any, Any], tuple[Any, Any]],
    sample: Callable[[Any, jax.Array], Any],
    mesh: Mesh,
    example_axis: int = 1,
    donate_state: bool = True,
) -> Callable[[Any, Any, jax.Array, Any], tuple[Any, Any]]:
    """``data_parallel(fn)`` with the batch drawn inside the same compiled call.

    Returns ``call(state, storage, key, step)``: ``sample(storage, fold_in(key, step))``
    gives the batch (e.g. from replay kept on the accelerator, ``DeviceReplay.sample_fn``),
    which is then split over ``mesh`` like ``data_parallel``'s. Why: with pixels, a batch
    gathered on the host and copied over costs more than the update on a fast accelerator;
    here only a key and a step number cross the host link. ``storage`` must live on the
    mesh's devices (a single device, or replicated over the mesh); its batch size must be
    divisible by the number of devices, which the trace checks.
    """
    n = mesh.devices.size
    mapped = _shard_mapped(fn, mesh, example_axis)
    sharding = NamedSharding(mesh, _batch_spec(example_axis))

    def whole(state: Any, storage: Any, key: jax.Array, step: Any) -> tuple[Any, Any]:
        batch = sample(storage, jax.random.fold_in(key, step))
        _check_split(batch, example_axis, n)  # shapes are static: checked while tracing
        batch = jax.lax.with_sharding_constraint(batch, sharding)
        return mapped(state, batch)

    return jax.jit(whole, donate_argnums=(0,) if donate_state else ())


def bound_axis(axis_name: str | None) -> str | None:
    """``axis_name`` when the current trace runs under a ``shard_map`` over it, else None.

    Why: the losses and encoders are also called on a whole batch outside a sharded update
    (the loss tests do); there the collectives over the axis have nothing to reduce.
    """
    if not axis_name:
        return None
    try:
        jax.lax.axis_index(axis_name)
    except NameError:  # unbound axis
        return None
    return axis_name


def example_keys(key: jax.Array, n_local: int, axis_name: str | None) -> jax.Array:
    """One key per example, indexed by the example's position in the *global* batch.

    Noise drawn from these keys is the same whether the batch sits on one device or is
    split over N, which is what makes N-device updates equal 1-device updates.
    """
    axis = bound_axis(axis_name)
    offset = jax.lax.axis_index(axis) * n_local if axis else 0
    idx = offset + jnp.arange(n_local)
    return jax.vmap(lambda i: jax.random.fold_in(key, i))(idx)


def replicated(mesh: Mesh) -> NamedSharding:
    return NamedSharding(mesh, P())


def place_replicated(tree: Any, mesh: Mesh) -> Any:
    """``tree`` replicated over ``mesh``. A mesh over several processes' devices: each
    process places its own values on its own devices, with none of the cross-process
    comparison ``device_put`` would run (a collective every process would have to join
    at that point); the caller makes the values equal (``runtime.follower.Leader``)."""
    sharding = replicated(mesh)
    if sharding.is_fully_addressable:
        return jax.device_put(tree, sharding)

    def one(x: Any) -> jax.Array:
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    return jax.tree.map(one, tree)
