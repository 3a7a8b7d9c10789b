"""Replay kept on the accelerator: the host buffer's storage as jax arrays.

Why: with pixels, gathering a batch on the host and copying it to the device each update
costs more than the update itself on a fast accelerator. Here the frames stay in device
memory (yuv420, 1.5 bytes a pixel), a batch is gathered and decoded inside the learner's
compiled update from a jax PRNG key, and only new transitions cross the host link.

Same design as ``ReplayBuffer`` (frame ring + transition ring, ``ring.RingIndex`` does the
bookkeeping on the host): every transition links its own true next-observation frame, and
evicted transitions are dropped from the valid window before their frames are reused.

Insertion: ``insert``/``insert_many`` (any thread, e.g. the gRPC ingest) only validate and
stage on the host. ``flush()`` (or ``storage``), called by the thread that runs the
learner's update, writes the staged transitions in fixed-size chunks (``chunk_size``
transitions, ``2 * chunk_size`` frames, padded) with one jitted function whose storage
argument is donated, so XLA updates the buffers in place and compiles once. Only that
thread touches the device arrays: a write from another thread would donate (delete) the
buffers an update in flight is reading. The writes are scatters with out-of-range padding
rows dropped: a ring chunk may wrap, which a single ``dynamic_update_slice`` cannot
express.

``sample_fn(storage, key) -> batch`` is pure and has the ``specs.example_batch`` layout,
so it composes into a jitted update (``lax.scan`` over UTD groups included).
"""

from __future__ import annotations

import copy
import functools
import threading
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from silri_jax.data.image_codec import ImageCodec, ObservationDecoder, get_codec
from silri_jax.data.replay import DEFAULT_FRAME_RATIO, ReplayBuffer
from silri_jax.data.ring import RingIndex
from silri_jax.data.transitions import (
    TransitionChunk,
    continuation,
    expand_one,
    validate_chunk,
)
from silri_jax.specs import EnvSpec

Storage = dict[str, Any]


def _write(storage: Storage, update: Storage) -> Storage:
    """Scatters one padded chunk into the storage (rows with index out of range drop)."""
    out = dict(storage)
    ts, fs = update["trans_slots"], update["frame_slots"]
    out["frames"] = {k: v.at[fs].set(update["frames"][k], mode="drop")
                     for k, v in storage["frames"].items()}
    out["data"] = {k: v.at[ts].set(update["data"][k], mode="drop")
                   for k, v in storage["data"].items()}
    out["obs_frame"] = storage["obs_frame"].at[ts].set(update["obs_frame"], mode="drop")
    out["next_frame"] = storage["next_frame"].at[ts].set(update["next_frame"], mode="drop")
    out["start_slot"] = update["start_slot"]
    out["size"] = update["size"]
    return out


class DeviceReplay:
    """Accelerator-resident replay buffer with on-device sampling and decoding.

    Args:
      spec, capacity, image_codec, frame_ratio: as ``ReplayBuffer``.
      chunk_size: transitions per device write (a fixed shape: one compilation).
      device: where the storage lives (default: the first jax device).
    """

    def __init__(
        self,
        spec: EnvSpec,
        capacity: int,
        image_codec: str | ImageCodec = "yuv420",
        frame_ratio: float = DEFAULT_FRAME_RATIO,
        chunk_size: int = 64,
        device: Any = None,
    ) -> None:
        self.spec = spec
        self.capacity = int(capacity)
        self.codec = get_codec(image_codec)
        self._index = RingIndex.with_frame_ratio(self.capacity, frame_ratio)
        frame_capacity = self._index.frame_capacity
        self.chunk_size = max(1, min(int(chunk_size), self._index.chunk_size))
        obs = spec.observation
        self._image_shapes = {k: obs.entries[k].shape for k in obs.image_keys}
        self.decoder = ObservationDecoder(
            self.codec.name, tuple(sorted(self._image_shapes.items()))
        )
        self._frame_specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {}
        for key, s in obs.entries.items():
            if key in self._image_shapes:
                self._frame_specs[key] = (self.codec.stored_shape(s.shape), np.dtype(np.uint8))
            else:
                self._frame_specs[key] = (s.shape, np.dtype(s.dtype))
        self._data_specs: dict[str, tuple[tuple[int, ...], np.dtype]] = {
            "actions": ((spec.action.dim,), np.dtype(np.float32)),
            "rewards": ((), np.dtype(np.float32)),
            "terminated": ((), np.dtype(np.uint8)),
            "truncated": ((), np.dtype(np.uint8)),
            "is_intervention": ((), np.dtype(np.uint8)),
        }
        if spec.action.has_gripper:
            self._data_specs["gripper_actions"] = ((), np.dtype(np.int32))
        self.device = device or jax.devices()[0]
        cap, fc = self.capacity, frame_capacity
        host: Storage = {
            "frames": {k: np.zeros((fc, *s), d) for k, (s, d) in self._frame_specs.items()},
            "data": {k: np.zeros((cap, *s), d) for k, (s, d) in self._data_specs.items()},
            "obs_frame": np.zeros(cap, np.int32),
            "next_frame": np.zeros(cap, np.int32),
            "start_slot": np.zeros((), np.int32),
            "size": np.zeros((), np.int32),
        }
        self._storage = jax.device_put(host, self.device)
        self._write = jax.jit(_write, donate_argnums=0)
        self._pending: list[TransitionChunk] = []
        self._pending_len = 0
        self._last_next_obs: dict[str, np.ndarray] | None = None
        self._lock = threading.RLock()

    # ----------------------------------------------------------------- sizes
    def __len__(self) -> int:
        """Transitions visible to ``sample_fn`` (staged ones count after ``flush``)."""
        return len(self._index)

    @property
    def num_inserted(self) -> int:
        return self._index.end + self._pending_len

    @property
    def nbytes(self) -> int:
        """Device bytes of the storage."""
        return int(sum(x.nbytes for x in jax.tree_util.tree_leaves(self._storage)))

    @property
    def bytes_per_transition(self) -> float:
        return self.nbytes / self.capacity

    @property
    def storage(self) -> Storage:
        """The device pytree ``sample_fn`` reads; flushes staged transitions first."""
        return self.flush()

    # ----------------------------------------------------------------- insert
    def insert(self, obs: Mapping[str, Any], action: Any, reward: float, terminated: bool,
               truncated: bool, next_obs: Mapping[str, Any], is_intervention: bool,
               episode_id: int, step: int, gripper_action: int | None = None) -> None:
        """One transition, staged on the host until ``flush``."""
        if not isinstance(obs, Mapping) or not isinstance(next_obs, Mapping):
            raise ValueError("obs and next_obs must be dicts of arrays")
        self.insert_many(
            expand_one(obs), expand_one(action), expand_one(reward), expand_one(terminated),
            expand_one(truncated), expand_one(next_obs), expand_one(is_intervention),
            expand_one(episode_id), expand_one(step), expand_one(gripper_action),
        )

    def insert_many(self, obs: Mapping[str, Any], action: Any, reward: Any, terminated: Any,
                    truncated: Any, next_obs: Mapping[str, Any], is_intervention: Any,
                    episode_id: Any, step: Any, gripper_action: Any = None) -> None:
        """N transitions (leading axis N), validated as a whole, staged until ``flush``."""
        chunk = validate_chunk(self.spec, obs, action, reward, terminated, truncated, next_obs,
                               is_intervention, episode_id, step, gripper_action)
        with self._lock:
            self._pending.append(_copy_chunk(chunk))
            self._pending_len += len(chunk)

    def add(self, chunk: TransitionChunk) -> None:
        """An already validated ``TransitionChunk``, staged until ``flush``."""
        with self._lock:
            self._pending.append(_copy_chunk(chunk))
            self._pending_len += len(chunk)

    def flush(self) -> Storage:
        """Writes every staged transition to the device; returns the storage.

        Call from the thread that runs the update (see the module docstring).
        """
        with self._lock:
            if self._pending:
                merged = _concat_chunks(self._pending)
                self._pending, self._pending_len = [], 0
                for lo in range(0, len(merged), self.chunk_size):
                    self._write_chunk(merged.slice(lo, lo + self.chunk_size))
            return self._storage

    def _write_chunk(self, chunk: TransitionChunk) -> None:
        n, c = len(chunk), self.chunk_size
        cont = continuation(chunk, self._index.last(), self._last_next_obs)
        place = self._index.place(cont)
        new = place.new_obs
        fc = self._index.frame_capacity
        frame_slots = np.concatenate([place.obs_frame[new], place.next_frame]) % fc
        frames = {}
        for key, (shape, dtype) in self._frame_specs.items():
            src = np.concatenate([chunk.observations[key][new], chunk.next_observations[key]])
            if key in self._image_shapes:
                src = self.codec.encode(src)
            padded = np.zeros((2 * c, *shape), dtype)
            padded[: len(src)] = src
            frames[key] = padded
        data = {}
        for name, (shape, dtype) in self._data_specs.items():
            src = getattr(chunk, name)
            padded = np.zeros((c, *shape), dtype)
            padded[:n] = src
            data[name] = padded

        def pad_index(x: np.ndarray, size: int, fill: int) -> np.ndarray:
            out = np.full(size, fill, np.int32)
            out[: len(x)] = x
            return out

        self._index.commit(place, chunk.episode_id, chunk.step)
        update = {
            "frames": frames,
            "data": data,
            "trans_slots": pad_index(place.trans_abs % self.capacity, c, self.capacity),
            "frame_slots": pad_index(frame_slots, 2 * c, fc),
            "obs_frame": pad_index(place.obs_frame % fc, c, 0),
            "next_frame": pad_index(place.next_frame % fc, c, 0),
            "start_slot": np.int32(self._index.start % self.capacity),
            "size": np.int32(len(self._index)),
        }
        self._storage = self._write(self._storage, jax.device_put(update, self.device))
        self._last_next_obs = {k: v[-1].copy() for k, v in chunk.next_observations.items()}

    def copy_from(self, host: ReplayBuffer) -> None:
        """Replaces the contents with ``host``'s, exactly (the layouts are the same): how a
        learner that restored its host buffers from a checkpoint rebuilds this copy.

        ``host`` must have the same spec, capacity, codec and frame ring. Call from the
        thread that runs the update; staged transitions are dropped.
        """
        if host.spec != self.spec or host.capacity != self.capacity:
            raise ValueError("copy_from: the host buffer's spec or capacity differs")
        if host.codec.name != self.codec.name:
            raise ValueError(f"copy_from: host codec {host.codec.name!r}, this one "
                             f"{self.codec.name!r}")
        if host._index.frame_capacity != self._index.frame_capacity:
            raise ValueError("copy_from: the host buffer's frame ring has another size")
        with host._lock:
            index = copy.deepcopy(host._index)
            fc = index.frame_capacity
            storage = {
                "frames": {k: np.array(host._frames[k]) for k in self._frame_specs},
                "data": {k: np.asarray(host._data[k]).astype(dtype)
                         for k, (_, dtype) in self._data_specs.items()},
                "obs_frame": (index.obs_frame % fc).astype(np.int32),
                "next_frame": (index.next_frame % fc).astype(np.int32),
                "start_slot": np.int32(index.start % self.capacity),
                "size": np.int32(len(index)),
            }
            last = (None if host._last_next_obs is None
                    else {k: np.array(v) for k, v in host._last_next_obs.items()})
        with self._lock:
            self._pending, self._pending_len = [], 0
            self._storage = jax.device_put(storage, self.device)
            self._index, self._last_next_obs = index, last

    # ----------------------------------------------------------------- sample
    def sample_fn(
        self, batch_size: int, num_batches: int | None = None, decode: bool = True
    ) -> Callable[[Storage, Any], dict[str, Any]]:
        """A pure ``fn(storage, key) -> batch`` to call inside jit.

        Uniform over the valid window. The caller must not sample an empty buffer (the
        host knows ``len``; inside jit an empty window would read slot 0).
        """
        return functools.partial(
            _sample, batch_size=int(batch_size), num_batches=num_batches,
            capacity=self.capacity, decoder=self.decoder if decode else None,
        )

    def sample(self, key: Any, batch_size: int, num_batches: int | None = None) -> Any:
        """Convenience: a decoded batch, jitted (not for the hot path, which composes
        ``sample_fn`` into the update)."""
        if len(self._index) == 0 and self._pending_len == 0:
            raise ValueError("cannot sample from an empty replay buffer")
        return _jit_sample(self.storage, key, batch_size, num_batches, self.capacity,
                           self.decoder)


def _sample(storage: Storage, key: Any, *, batch_size: int, num_batches: int | None,
            capacity: int, decoder: ObservationDecoder | None) -> dict[str, Any]:
    total = batch_size * (num_batches or 1)
    offsets = jax.random.randint(key, (total,), 0, jnp.maximum(storage["size"], 1))
    slots = (storage["start_slot"] + offsets) % capacity
    of, nf = storage["obs_frame"][slots], storage["next_frame"][slots]
    batch: dict[str, Any] = {
        "observations": {k: v[of] for k, v in storage["frames"].items()},
        "next_observations": {k: v[nf] for k, v in storage["frames"].items()},
    }
    for name, arr in storage["data"].items():
        batch[name] = arr[slots]
    for name in ("terminated", "truncated", "is_intervention"):
        batch[name] = batch[name].astype(jnp.float32)
    if num_batches is not None:
        batch = jax.tree_util.tree_map(
            lambda x: x.reshape((num_batches, batch_size, *x.shape[1:])), batch)
    return decoder.jax(batch) if decoder is not None else batch


@functools.partial(jax.jit, static_argnums=(2, 3, 4, 5))
def _jit_sample(storage: Storage, key: Any, batch_size: int, num_batches: int | None,
                capacity: int, decoder: ObservationDecoder) -> dict[str, Any]:
    return _sample(storage, key, batch_size=batch_size, num_batches=num_batches,
                   capacity=capacity, decoder=decoder)


def _copy_chunk(chunk: TransitionChunk) -> TransitionChunk:
    """Staged rows must not alias the caller's arrays (it may reuse them)."""
    return TransitionChunk(**{
        name: (None if v is None else
               {k: np.array(a) for k, a in v.items()} if isinstance(v, dict) else np.array(v))
        for name, v in vars(chunk).items()
    })


def _concat_chunks(chunks: list[TransitionChunk]) -> TransitionChunk:
    if len(chunks) == 1:
        return chunks[0]
    fields = {}
    for name, first in vars(chunks[0]).items():
        if first is None:
            fields[name] = None
        elif isinstance(first, dict):
            fields[name] = {k: np.concatenate([getattr(c, name)[k] for c in chunks])
                            for k in first}
        else:
            fields[name] = np.concatenate([getattr(c, name) for c in chunks])
    return TransitionChunk(**fields)


__all__ = ["DeviceReplay", "Storage"]
