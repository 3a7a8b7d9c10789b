"""Host replay buffer: ``D_R`` (every transition) and ``D_I`` (demos + interventions).

Storage is a frame ring plus a transition ring (see ``ring.py``): each observation frame is
stored once, and each transition keeps references to its own observation and its TRUE next
observation. Nothing is ever reconstructed as ``obs[i + 1]``, so the next observation is
right at terminations, truncations and at the edges of intervention segments in ``D_I``.

Camera frames go through an image codec (``"yuv420"`` by default, 1.5 bytes a pixel), so a
transition with two 128x128 cameras costs about 61 KB instead of 192 KB.

Thread safety: one lock covers insertion, index choice and the gather, so a learner thread
may sample while an ingest thread inserts. Decoding happens on the gathered copies,
outside the lock.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.data.image_codec import ImageCodec, ObservationDecoder, get_codec
from silri_jax.data.ring import INDEX_FIELDS, RingIndex
from silri_jax.data.transitions import (
    TransitionChunk,
    continuation,
    expand_one,
    validate_chunk,
)
from silri_jax.specs import EnvSpec

FORMAT_VERSION = 1
LATEST = "LATEST"
MANIFEST = "manifest.json"
# Frame slots per transition slot. A continuing episode uses one new frame per
# transition, plus one per episode (or segment) start; 1.25 covers segments of 4 steps or
# more on average without shortening the buffer and keeps two 128x128 yuv420 cameras
# under 64 KB a transition. D_I with very short segments may want more.
DEFAULT_FRAME_RATIO = 1.25
TRANSITION_FIELDS = ("actions", "rewards", "terminated", "truncated", "is_intervention")


def _file_name(prefix: str, key: str) -> str:
    return prefix + key.replace("/", "__") + ".npy"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _save_npy(path: Path, arr: np.ndarray) -> None:
    with open(path, "wb") as f:
        np.save(f, np.ascontiguousarray(arr), allow_pickle=False)
        f.flush()
        os.fsync(f.fileno())


class ReplayBuffer:
    """Ring replay buffer with frame sharing, true next observations and atomic saves.

    Args:
      spec: observation / action spec; batches follow ``specs.example_batch``.
      capacity: transitions kept; the oldest are overwritten.
      image_codec: ``"yuv420"`` (default) or ``"rgb"`` (lossless), or a codec object.
      frame_ratio: frame slots per transition slot (>= 1); see ``DEFAULT_FRAME_RATIO``.
    """

    def __init__(
        self,
        spec: EnvSpec,
        capacity: int,
        image_codec: str | ImageCodec = "yuv420",
        frame_ratio: float = DEFAULT_FRAME_RATIO,
    ) -> None:
        self.spec = spec
        self.capacity = int(capacity)
        self.codec = get_codec(image_codec)
        self.frame_ratio = float(frame_ratio)
        self._index = RingIndex.with_frame_ratio(self.capacity, self.frame_ratio)
        frame_capacity = self._index.frame_capacity
        obs_spec = spec.observation
        self._image_shapes = {k: obs_spec.entries[k].shape for k in obs_spec.image_keys}
        self._frames: dict[str, np.ndarray] = {}
        for key, s in obs_spec.entries.items():
            if key in self._image_shapes:
                shape = self.codec.stored_shape(s.shape)
                self._frames[key] = np.zeros((frame_capacity, *shape), np.uint8)
            else:
                self._frames[key] = np.zeros((frame_capacity, *s.shape), s.dtype)
        cap = self.capacity
        self._data: dict[str, np.ndarray] = {
            "actions": np.zeros((cap, spec.action.dim), np.float32),
            "rewards": np.zeros(cap, np.float32),
            "terminated": np.zeros(cap, np.uint8),
            "truncated": np.zeros(cap, np.uint8),
            "is_intervention": np.zeros(cap, np.uint8),
        }
        if spec.action.has_gripper:
            self._data["gripper_actions"] = np.zeros(cap, np.int32)
        self._last_next_obs: dict[str, np.ndarray] | None = None
        self._lock = threading.RLock()
        self.decoder = ObservationDecoder(
            self.codec.name, tuple(sorted(self._image_shapes.items()))
        )

    # ----------------------------------------------------------------- sizes
    def __len__(self) -> int:
        with self._lock:
            return len(self._index)

    @property
    def num_inserted(self) -> int:
        """Transitions ever inserted (monotonic, survives save/load)."""
        return self._index.end

    @property
    def frame_capacity(self) -> int:
        return self._index.frame_capacity

    @property
    def nbytes(self) -> int:
        """Bytes actually allocated for storage: frames, transitions and index."""
        arrays = [*self._frames.values(), *self._data.values(), *self._index.arrays().values()]
        return int(sum(a.nbytes for a in arrays))

    @property
    def bytes_per_transition(self) -> float:
        return self.nbytes / self.capacity

    # ----------------------------------------------------------------- insert
    def insert(
        self,
        obs: Mapping[str, Any],
        action: Any,
        reward: float,
        terminated: bool,
        truncated: bool,
        next_obs: Mapping[str, Any],
        is_intervention: bool,
        episode_id: int,
        step: int,
        gripper_action: int | None = None,
    ) -> None:
        """Inserts one transition; ``next_obs`` is its true next observation."""
        if not isinstance(obs, Mapping) or not isinstance(next_obs, Mapping):
            raise ValueError("obs and next_obs must be dicts of arrays")
        self.insert_many(
            expand_one(obs), expand_one(action), expand_one(reward), expand_one(terminated),
            expand_one(truncated), expand_one(next_obs), expand_one(is_intervention),
            expand_one(episode_id), expand_one(step), expand_one(gripper_action),
        )

    def insert_many(
        self,
        obs: Mapping[str, Any],
        action: Any,
        reward: Any,
        terminated: Any,
        truncated: Any,
        next_obs: Mapping[str, Any],
        is_intervention: Any,
        episode_id: Any,
        step: Any,
        gripper_action: Any = None,
    ) -> None:
        """Inserts N transitions in order (every field has a leading axis N).

        All N are validated before anything is written: a bad field raises ``ValueError``
        naming it and leaves the buffer as it was.
        """
        chunk = validate_chunk(
            self.spec, obs, action, reward, terminated, truncated, next_obs,
            is_intervention, episode_id, step, gripper_action,
        )
        with self._lock:
            size = self._index.chunk_size
            for lo in range(0, len(chunk), size):
                self._insert_chunk(chunk.slice(lo, lo + size))

    def add(self, chunk: TransitionChunk) -> None:
        """Inserts an already validated ``TransitionChunk`` (``chunk_from_columns``)."""
        with self._lock:
            size = self._index.chunk_size
            for lo in range(0, len(chunk), size):
                self._insert_chunk(chunk.slice(lo, lo + size))

    def _insert_chunk(self, chunk: TransitionChunk) -> None:
        n = len(chunk)
        if n == 0:
            return
        cont = continuation(chunk, self._index.last(), self._last_next_obs)
        place = self._index.place(cont)
        new = place.new_obs
        frame_abs = np.concatenate([place.obs_frame[new], place.next_frame])
        frame_slots = frame_abs % self._index.frame_capacity
        encoded = {}
        for key in self._frames:
            src = np.concatenate([chunk.observations[key][new], chunk.next_observations[key]])
            if key in self._image_shapes:
                src = self.codec.encode(src)
            encoded[key] = src
        # Everything that can fail (encoding) is done: now write.
        for key, values in encoded.items():
            self._frames[key][frame_slots] = values
        slots = place.trans_abs % self.capacity
        for name in TRANSITION_FIELDS:
            self._data[name][slots] = getattr(chunk, name)
        if chunk.gripper_actions is not None:
            self._data["gripper_actions"][slots] = chunk.gripper_actions
        self._index.commit(place, chunk.episode_id, chunk.step)
        self._last_next_obs = {k: v[-1].copy() for k, v in chunk.next_observations.items()}

    # ----------------------------------------------------------------- sample
    def sample(
        self,
        rng: np.random.Generator,
        batch_size: int,
        num_batches: int | None = None,
        decode: bool = True,
    ) -> Any:
        """Uniformly sampled batch in the ``specs.example_batch`` layout.

        With ``num_batches`` every array gets a leading ``[num_batches, batch_size]`` (one
        UTD group). With ``decode=False`` the images stay in the codec's stored form and
        ``(batch, decoder)`` is returned; ``decoder.jax(batch)`` decodes inside jit.
        """
        if batch_size < 1 or (num_batches is not None and num_batches < 1):
            raise ValueError(f"batch_size {batch_size} and num_batches {num_batches} must "
                             "be positive")
        total = batch_size * (num_batches or 1)
        with self._lock:
            slots, of, nf = self._index.sample_slots(rng, total)
            batch = self._gather(slots, of, nf)
        if num_batches is not None:
            lead = (num_batches, batch_size)
            batch = _reshape_leading(batch, lead)
        if decode:
            return self.decoder.numpy(batch)
        return batch, self.decoder

    def get(self, positions: Any, decode: bool = True) -> dict[str, Any]:
        """The transitions at ``positions`` (0 = oldest kept, ``len - 1`` = newest).

        For inspection and tests; training uses ``sample``.
        """
        pos = np.asarray(positions, np.int64)
        with self._lock:
            n = len(self._index)
            if pos.size and (pos.min() < 0 or pos.max() >= n):
                raise ValueError(f"positions must be in [0, {n}), got {pos.min()}..{pos.max()}")
            slots = (self._index.start + pos) % self.capacity
            fc = self._index.frame_capacity
            batch = self._gather(
                slots, self._index.obs_frame[slots] % fc, self._index.next_frame[slots] % fc
            )
        return self.decoder.numpy(batch) if decode else batch

    def episode_info(self, positions: Any) -> tuple[np.ndarray, np.ndarray]:
        """(episode ids, steps) of the transitions at ``positions`` (see ``get``)."""
        pos = np.asarray(positions, np.int64)
        with self._lock:
            slots = (self._index.start + pos) % self.capacity
            return self._index.episode_id[slots].copy(), self._index.step[slots].copy()

    @property
    def frames_written(self) -> int:
        """Observation frames ever stored; one per transition plus one per chain start."""
        return self._index.frames_written

    def _gather(self, slots: np.ndarray, of: np.ndarray, nf: np.ndarray) -> dict[str, Any]:
        """Copies rows out of storage (call with the lock held)."""
        batch: dict[str, Any] = {
            "observations": {k: v[of] for k, v in self._frames.items()},
            "next_observations": {k: v[nf] for k, v in self._frames.items()},
        }
        for name, arr in self._data.items():
            batch[name] = arr[slots]
        for name in ("terminated", "truncated", "is_intervention"):
            batch[name] = batch[name].astype(np.float32)
        return batch

    # ----------------------------------------------------------------- persistence
    def save(self, path: str | os.PathLike[str]) -> Path:
        """Atomically saves the buffer under directory ``path``; returns the snapshot dir.

        Each save writes a complete snapshot into a temporary directory beside the others,
        fsyncs every file and the directory, renames it into place and only then swaps the
        ``LATEST`` pointer with ``os.replace``. A kill at any moment leaves ``LATEST``
        naming a complete snapshot (the previous one until the swap). Older snapshots are
        removed after the swap. The lock is held while writing, so the snapshot is
        consistent; inserts wait.
        """
        root = Path(path)
        root.mkdir(parents=True, exist_ok=True)
        with self._lock:
            tmp = Path(tempfile.mkdtemp(prefix=".tmp-snapshot-", dir=root))
            files: dict[str, dict[str, Any]] = {}

            def put(name: str, arr: np.ndarray) -> None:
                _save_npy(tmp / name, arr)
                files[name] = {"shape": list(arr.shape), "dtype": arr.dtype.name}

            for key, arr in self._frames.items():
                put(_file_name("frames__", key), arr)
            for name, arr in self._data.items():
                put(name + ".npy", arr)
            for name, arr in self._index.arrays().items():
                put("index__" + name + ".npy", arr)
            if self._last_next_obs is not None:
                for key, arr in self._last_next_obs.items():
                    put(_file_name("last_next__", key), arr)
            manifest = {
                "format_version": FORMAT_VERSION,
                "spec": self.spec.to_dict(),
                "image_codec": self.codec.name,
                "frame_ratio": self.frame_ratio,
                "ring": self._index.state_dict(),
                "has_last_next_obs": self._last_next_obs is not None,
                "files": files,
            }
            with open(tmp / MANIFEST, "w") as f:
                json.dump(manifest, f, indent=1)
                f.flush()
                os.fsync(f.fileno())
            _fsync_dir(tmp)
            name = f"snapshot-{self._index.end:012d}-{os.getpid()}-{tmp.name[-8:]}"
            os.replace(tmp, root / name)
            pointer = root / (LATEST + ".tmp")
            with open(pointer, "w") as f:
                f.write(name)
                f.flush()
                os.fsync(f.fileno())
            os.replace(pointer, root / LATEST)
            _fsync_dir(root)
        for old in root.iterdir():
            if old.name != name and (old.name.startswith("snapshot-")
                                     or old.name.startswith(".tmp-snapshot-")):
                shutil.rmtree(old, ignore_errors=True)
        return root / name

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> ReplayBuffer:
        """A buffer restored from ``save(path)``: same contents, same insertion position."""
        snap, manifest = _read_manifest(Path(path))
        spec = EnvSpec.from_dict(manifest["spec"])
        buf = cls(spec, manifest["ring"]["capacity"], manifest["image_codec"],
                  manifest["frame_ratio"])
        buf._restore(snap, manifest)
        return buf

    def restore(self, path: str | os.PathLike[str]) -> None:
        """Replaces this buffer's contents with a saved one of the same spec and sizes."""
        snap, manifest = _read_manifest(Path(path))
        if manifest["spec"] != self.spec.to_dict():
            raise ValueError("saved buffer has a different spec")
        if manifest["image_codec"] != self.codec.name:
            raise ValueError(f"saved buffer uses codec {manifest['image_codec']!r}, this one "
                             f"{self.codec.name!r}")
        with self._lock:
            self._restore(snap, manifest)

    def _restore(self, snap: Path, manifest: dict[str, Any]) -> None:
        files = manifest["files"]

        def get(name: str, like: np.ndarray | None) -> np.ndarray:
            if name not in files:
                raise ValueError(f"snapshot {snap} lacks {name}")
            arr = np.load(snap / name, allow_pickle=False)
            meta = files[name]
            if list(arr.shape) != meta["shape"] or arr.dtype.name != meta["dtype"]:
                raise ValueError(f"snapshot file {name} does not match its manifest")
            if like is not None and (arr.shape != like.shape or arr.dtype != like.dtype):
                raise ValueError(f"snapshot file {name} has {arr.dtype} {arr.shape}, buffer "
                                 f"expects {like.dtype} {like.shape}")
            return arr

        frames = {k: get(_file_name("frames__", k), v) for k, v in self._frames.items()}
        data = {k: get(k + ".npy", v) for k, v in self._data.items()}
        index = {k: get("index__" + k + ".npy", None) for k in INDEX_FIELDS}
        last = None
        if manifest["has_last_next_obs"]:
            last = {k: get(_file_name("last_next__", k), None) for k in self._frames}
        self._index.load(manifest["ring"], index)
        for k, v in frames.items():
            self._frames[k][...] = v
        for k, v in data.items():
            self._data[k][...] = v
        self._last_next_obs = last


def _read_manifest(root: Path) -> tuple[Path, dict[str, Any]]:
    pointer = root / LATEST
    if not pointer.is_file():
        raise FileNotFoundError(f"no replay snapshot under {root} (missing {LATEST})")
    snap = root / pointer.read_text().strip()
    with open(snap / MANIFEST) as f:
        manifest = json.load(f)
    if manifest.get("format_version") != FORMAT_VERSION:
        raise ValueError(f"unsupported replay format {manifest.get('format_version')}")
    return snap, manifest


def _reshape_leading(tree: Any, lead: tuple[int, ...]) -> Any:
    if isinstance(tree, dict):
        return {k: _reshape_leading(v, lead) for k, v in tree.items()}
    return tree.reshape(lead + tree.shape[1:])
