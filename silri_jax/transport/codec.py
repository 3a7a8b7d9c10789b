"""numpy <-> protobuf for transition batches and parameter pytrees.

Why a hand-written codec rather than pickle: the learner must never execute bytes that
arrive on the network, and every field is checked against the ``EnvSpec`` so that a bad
actor (or a bug) produces a ``CodecError`` naming the field instead of a corrupt replay
buffer. Batches are columnar (one tensor per field for the whole batch), so encoding is
one ``tobytes`` per field and decoding is one ``np.frombuffer`` per field (zero-copy over
the message's bytes; the arrays are read-only views).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from silri_jax.specs import (
    NUM_GRIPPER_ACTIONS,
    ArraySpec,
    EnvSpec,
    ObservationSpec,
)
from silri_jax.transport import silri_pb2 as pb

PROTOCOL_VERSION: int = pb.PROTOCOL_VERSION

_NP_TO_PB: dict[str, int] = {
    "uint8": pb.UINT8,
    "int32": pb.INT32,
    "int64": pb.INT64,
    "uint64": pb.UINT64,
    "float32": pb.FLOAT32,
    "float64": pb.FLOAT64,
    "bool": pb.BOOL,
    "float16": pb.FLOAT16,
    "bfloat16": pb.BFLOAT16,
}
_PB_TO_NP: dict[int, str] = {v: k for k, v in _NP_TO_PB.items()}

# Per-transition columns other than observations: name -> (wire dtype, per-row shape).
# Flags travel as uint8 in {0, 1} and are returned as float32, the batch convention.
_FLAG_KEYS = ("terminated", "truncated", "is_intervention")


class CodecError(ValueError):
    """A message does not match the spec; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"field {field!r}: {problem}")
        self.field = field
        self.problem = problem


def _np_dtype(name: str) -> np.dtype:
    if name == "bfloat16":
        import ml_dtypes  # shipped with jax; only needed for bfloat16 params

        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def dtype_to_pb(dtype: Any) -> int:
    name = np.dtype(dtype).name
    if name not in _NP_TO_PB:
        raise CodecError("dtype", f"dtype {name} cannot be sent (supported: {sorted(_NP_TO_PB)})")
    return _NP_TO_PB[name]


def tensor_to_pb(name: str, array: np.ndarray) -> pb.Tensor:
    """Encodes one array; the bytes are C-order little-endian."""
    a = np.asarray(array)
    if a.dtype.byteorder == ">":
        a = a.astype(a.dtype.newbyteorder("<"))
    return pb.Tensor(name=name, dtype=dtype_to_pb(a.dtype), shape=a.shape, data=a.tobytes())


def tensor_from_pb(
    t: pb.Tensor,
    field: str,
    dtype: str | None = None,
    shape: Sequence[int] | None = None,
    finite: bool = False,
) -> np.ndarray:
    """Decodes one tensor, checking dtype, shape, byte length and (optionally) finiteness.

    The result is a read-only view over the message's bytes (no copy).
    """
    if t.dtype not in _PB_TO_NP:
        raise CodecError(field, f"unknown or missing dtype enum {t.dtype}")
    got = _PB_TO_NP[t.dtype]
    if dtype is not None and got != dtype:
        raise CodecError(field, f"dtype {got}, expected {dtype}")
    got_shape = tuple(int(s) for s in t.shape)
    if any(s < 0 for s in got_shape):
        raise CodecError(field, f"negative dimension in shape {got_shape}")
    if shape is not None and got_shape != tuple(shape):
        raise CodecError(field, f"shape {got_shape}, expected {tuple(shape)}")
    np_dtype = _np_dtype(got)
    expected = int(np.prod(got_shape, dtype=np.int64)) * np_dtype.itemsize
    if len(t.data) != expected:
        raise CodecError(field, f"{len(t.data)} bytes, shape {got_shape} needs {expected}")
    arr = np.frombuffer(t.data, dtype=np_dtype).reshape(got_shape)
    if finite and np_dtype.kind == "f" and not np.isfinite(arr).all():
        raise CodecError(field, "holds NaN or infinite values")
    return arr


# ----------------------------------------------------------------------------- env spec


def env_spec_to_pb(spec: EnvSpec) -> pb.EnvSpec:
    return pb.EnvSpec(
        observations=[
            pb.TensorSpec(name=k, dtype=dtype_to_pb(s.dtype), shape=s.shape)
            for k, s in spec.observation.entries.items()
        ],
        action_dim=spec.action.dim,
        has_gripper=spec.action.has_gripper,
    )


def env_spec_from_pb(msg: pb.EnvSpec) -> EnvSpec:
    from silri_jax.specs import ActionSpec

    entries = {}
    for t in msg.observations:
        if t.dtype not in _PB_TO_NP:
            raise CodecError(f"env_spec/{t.name}", f"unknown dtype enum {t.dtype}")
        entries[t.name] = ArraySpec(tuple(t.shape), _PB_TO_NP[t.dtype])
    try:
        return EnvSpec(ObservationSpec(entries), ActionSpec(msg.action_dim, msg.has_gripper))
    except ValueError as e:
        raise CodecError("env_spec", str(e)) from e


def describe_spec_difference(expected: EnvSpec, got: EnvSpec) -> str | None:
    """A human-readable difference between two env specs, or None when equal."""
    if expected == got:
        return None
    exp, act = expected.to_dict(), got.to_dict()
    problems = []
    for key in sorted(set(exp["observation"]) | set(act["observation"])):
        e, a = exp["observation"].get(key), act["observation"].get(key)
        if e != a:
            problems.append(f"observation {key!r}: learner {e}, actor {a}")
    if exp["action"] != act["action"]:
        problems.append(f"action: learner {exp['action']}, actor {act['action']}")
    return "; ".join(problems) or "specs differ"


# ---------------------------------------------------------------------------- transitions


@dataclasses.dataclass
class DecodedBatch:
    """A validated batch from one actor.

    ``data`` follows ``silri_jax.specs.Batch`` (observations, next_observations, actions,
    rewards, terminated, truncated, is_intervention as float32, gripper_actions as int32
    when the spec has a gripper) plus ``episode_ids`` (int64) and ``steps`` (int32).
    """

    actor_id: str
    first_seq: int
    data: dict[str, Any]
    # The wire message this batch was decoded from, when it still covers exactly these
    # transitions: a learner logs it as is instead of encoding the batch again.
    raw: bytes | None = dataclasses.field(default=None, compare=False, repr=False)

    def __len__(self) -> int:
        return int(self.data["rewards"].shape[0])

    @property
    def last_seq(self) -> int:
        return self.first_seq + len(self) - 1

    @property
    def seqs(self) -> np.ndarray:
        return np.arange(self.first_seq, self.first_seq + len(self), dtype=np.uint64)

    def slice(self, start: int) -> DecodedBatch:
        """The batch without its first ``start`` transitions (used to drop duplicates);
        a shortened batch no longer has a ``raw`` message."""
        if start == 0:
            return self
        return DecodedBatch(
            self.actor_id, self.first_seq + start, _tree_slice(self.data, slice(start, None))
        )


def _tree_slice(tree: Any, s: slice) -> Any:
    if isinstance(tree, Mapping):
        return {k: _tree_slice(v, s) for k, v in tree.items()}
    return tree[s]


def transition_bytes(spec: EnvSpec) -> int:
    """Wire size of one transition's payload (tensor data only, no framing)."""
    obs = sum(s.nbytes for s in spec.observation.entries.values())
    return 2 * obs + 4 * spec.action.dim + (4 if spec.action.has_gripper else 0) + 4 + 3 + 12


def stack_transitions(spec: EnvSpec, transitions: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """Stacks per-transition dicts (see ``encode_batch``) into one columnar batch."""
    keys = spec.observation.entries
    out: dict[str, Any] = {
        "observations": {k: np.stack([t["observations"][k] for t in transitions]) for k in keys},
        "next_observations": {
            k: np.stack([t["next_observations"][k] for t in transitions]) for k in keys
        },
    }
    for k in ("actions", "rewards", "episode_ids", "steps", *_FLAG_KEYS):
        out[k] = np.stack([np.asarray(t[k]) for t in transitions])
    if spec.action.has_gripper:
        out["gripper_actions"] = np.stack([np.asarray(t["gripper_actions"]) for t in transitions])
    return out


def encode_batch(
    spec: EnvSpec,
    actor_id: str,
    first_seq: int,
    batch: Mapping[str, Any],
    share_frames: bool = True,
) -> bytes:
    """Encodes a columnar batch into a serialized ``TransitionBatch``.

    ``batch`` holds ``observations``/``next_observations`` (dicts of [N, ...] arrays),
    ``actions`` [N, dim], ``rewards``, ``terminated``, ``truncated``, ``is_intervention``
    [N] (any numeric/bool in {0, 1}), ``episode_ids`` [N], ``steps`` [N] and, with a
    gripper, ``gripper_actions`` [N]. Raises ``CodecError`` on anything the learner would
    refuse, so a bad transition fails in the actor where it was made.
    """
    return build_batch_pb(spec, actor_id, first_seq, batch, share_frames).SerializeToString()


def validate_batch(spec: EnvSpec, batch: Mapping[str, Any]) -> int:
    """Checks a columnar batch against ``spec`` without encoding it; returns N.

    Raises ``CodecError`` naming the field on anything the learner would refuse.
    """
    n = int(np.shape(batch["rewards"])[0])
    for group in ("observations", "next_observations"):
        obs = batch[group]
        extra = set(obs) - set(spec.observation.entries)
        if extra:
            raise CodecError(group, f"keys not in spec: {sorted(extra)}")
        for key, s in spec.observation.entries.items():
            if key not in obs:
                raise CodecError(f"{group}/{key}", "missing")
            _check_array(f"{group}/{key}", np.asarray(obs[key]), s.dtype, (n, *s.shape))
    actions = np.asarray(batch["actions"])
    if actions.dtype.kind != "f":
        raise CodecError("actions", f"dtype {actions.dtype}, expected float32")
    _check_array("actions", actions.astype(np.float32, copy=False), "float32",
                 (n, spec.action.dim))
    if spec.action.has_gripper:
        g = np.asarray(batch["gripper_actions"])
        if g.dtype.kind not in "iu" or g.shape != (n,):
            raise CodecError("gripper_actions", f"need integer [{n}], got {g.dtype}{g.shape}")
        if ((g < 0) | (g >= NUM_GRIPPER_ACTIONS)).any():
            raise CodecError("gripper_actions", f"values outside [0, {NUM_GRIPPER_ACTIONS})")
    rewards = np.asarray(batch["rewards"], dtype=np.float32)
    _check_array("rewards", rewards, "float32", (n,))
    for k in _FLAG_KEYS:
        f = np.asarray(batch[k])
        if f.shape != (n,):
            raise CodecError(k, f"shape {f.shape}, expected {(n,)}")
        if not np.isin(f, (0, 1)).all():
            raise CodecError(k, "flags must be 0 or 1")
    for k in ("episode_ids", "steps"):
        a = np.asarray(batch[k])
        if a.shape != (n,) or a.dtype.kind not in "iuf":
            raise CodecError(k, f"need numbers [{n}], got {a.dtype}{a.shape}")
    return n


def validate_transition(spec: EnvSpec, t: Mapping[str, Any]) -> dict[str, Any]:
    """Checks one transition (no batch axis) cheaply; returns it with arrays normalised.

    The per-step path of the actor: attribute checks and one ``isfinite`` per float
    field, no encoding. Raises ``CodecError`` naming the field.
    """
    out: dict[str, Any] = {}
    entries = spec.observation.entries
    for group in ("observations", "next_observations"):
        obs = t[group]
        if obs.keys() != entries.keys():
            raise CodecError(group, f"keys {sorted(obs)} differ from spec {sorted(entries)}")
        g = {}
        for key, s in entries.items():
            a = np.asarray(obs[key])
            if a.dtype.name != s.dtype or a.shape != s.shape:
                raise CodecError(f"{group}/{key}", f"{a.dtype}{a.shape}, expected "
                                 f"{s.dtype}{s.shape}")
            if s.dtype != "uint8" and not np.isfinite(a).all():
                raise CodecError(f"{group}/{key}", "holds NaN or infinite values")
            g[key] = a
        out[group] = g
    a = np.asarray(t["actions"], dtype=np.float32)
    if a.shape != (spec.action.dim,):
        raise CodecError("actions", f"shape {a.shape}, expected {(spec.action.dim,)}")
    if not np.isfinite(a).all():
        raise CodecError("actions", "holds NaN or infinite values")
    out["actions"] = a
    if spec.action.has_gripper:
        g = t["gripper_actions"]
        if int(g) != g or not 0 <= int(g) < NUM_GRIPPER_ACTIONS:
            raise CodecError("gripper_actions", f"{g!r} outside [0, {NUM_GRIPPER_ACTIONS})")
        out["gripper_actions"] = int(g)
    r = float(t["rewards"])
    if not math.isfinite(r):
        raise CodecError("rewards", "holds NaN or infinite values")
    out["rewards"] = r
    for k in _FLAG_KEYS:
        if t[k] not in (0, 1):
            raise CodecError(k, f"flags must be 0 or 1, got {t[k]!r}")
        out[k] = int(t[k])
    out["episode_ids"] = int(t["episode_ids"])
    out["steps"] = int(t["steps"])
    return out


# Sequence numbers stay far below uint64's end (and fit int64 and float64 exactly), so
# ``first_seq + n`` can never overflow an ack; an actor at 10 kHz needs 28,000 years to
# reach the bound.
MAX_SEQ = 2**53


def check_seq_range(first_seq: int, n: int) -> None:
    """Refuses a batch whose sequence numbers leave ``1 .. MAX_SEQ``, naming the field."""
    if first_seq < 1:
        raise CodecError("first_seq", f"sequence numbers start at 1, got {first_seq}")
    if first_seq + n - 1 > MAX_SEQ:
        raise CodecError("first_seq", f"first_seq {first_seq} with {n} transitions passes the "
                         f"largest sequence number {MAX_SEQ}")


def build_batch_pb(
    spec: EnvSpec,
    actor_id: str,
    first_seq: int,
    batch: Mapping[str, Any],
    share_frames: bool = True,
) -> pb.TransitionBatch:
    """Validates and encodes a columnar batch into a ``TransitionBatch`` message.

    With ``share_frames`` a next observation identical to the following transition's
    observation is sent once (about halves pixel traffic in a continuous stream).
    """
    n = validate_batch(spec, batch)
    check_seq_range(first_seq, n)
    msg = pb.TransitionBatch(actor_id=actor_id, first_seq=first_seq, num_transitions=n)
    obs, nxt = batch["observations"], batch["next_observations"]
    following = np.zeros(n, np.uint8)
    if share_frames:
        for i in range(n - 1):
            following[i] = all(np.array_equal(nxt[k][i], obs[k][i + 1]) for k in obs)
    explicit = np.flatnonzero(following == 0)
    for key in spec.observation.entries:
        msg.observations.append(tensor_to_pb(key, np.ascontiguousarray(obs[key])))
        rows = np.asarray(nxt[key])
        rows = rows if len(explicit) == n else rows[explicit]
        msg.next_observations.append(tensor_to_pb(key, np.ascontiguousarray(rows)))
    msg.next_is_following.CopyFrom(tensor_to_pb("next_is_following", following))
    msg.actions.CopyFrom(tensor_to_pb("actions", np.asarray(batch["actions"], np.float32)))
    if spec.action.has_gripper:
        g = np.asarray(batch["gripper_actions"], np.int32)
        msg.gripper_actions.CopyFrom(tensor_to_pb("gripper_actions", g))
    msg.rewards.CopyFrom(tensor_to_pb("rewards", np.asarray(batch["rewards"], np.float32)))
    for k in _FLAG_KEYS:
        getattr(msg, k).CopyFrom(tensor_to_pb(k, np.asarray(batch[k]).astype(np.uint8)))
    msg.episode_ids.CopyFrom(tensor_to_pb("episode_ids", np.asarray(batch["episode_ids"],
                                                                    dtype=np.int64)))
    msg.steps.CopyFrom(tensor_to_pb("steps", np.asarray(batch["steps"], dtype=np.int32)))
    return msg


def _check_array(field: str, arr: np.ndarray, dtype: str, shape: tuple[int, ...]) -> None:
    if arr.dtype != np.dtype(dtype):
        raise CodecError(field, f"dtype {arr.dtype}, expected {dtype}")
    if arr.shape != shape:
        raise CodecError(field, f"shape {arr.shape}, expected {shape}")
    if arr.dtype.kind == "f" and not np.isfinite(arr).all():
        raise CodecError(field, "holds NaN or infinite values")


def parse_batch(raw: bytes) -> pb.TransitionBatch:
    """Parses wire bytes; garbage or truncated bytes raise ``CodecError``."""
    msg = pb.TransitionBatch()
    try:
        msg.ParseFromString(raw)
    except Exception as e:  # protobuf raises DecodeError (a Message.Error subclass)
        raise CodecError("TransitionBatch", f"cannot parse {len(raw)} bytes ({e})") from e
    return msg


def decode_batch(spec: EnvSpec, msg: pb.TransitionBatch) -> DecodedBatch:
    """Validates a ``TransitionBatch`` against ``spec`` and returns numpy views over it."""
    n = int(msg.num_transitions)
    if n == 0:
        raise CodecError("num_transitions", "empty batch")
    if not msg.actor_id:
        raise CodecError("actor_id", "missing")
    check_seq_range(int(msg.first_seq), n)
    following = _field(msg, "next_is_following", "uint8", (n,))
    if (following > 1).any() or following[-1] != 0:
        raise CodecError("next_is_following", "flags must be 0 or 1 and the last one 0")
    explicit = np.flatnonzero(following == 0)
    m = len(explicit)
    data: dict[str, Any] = {}
    for group, rows in (("observations", n), ("next_observations", m)):
        tensors = getattr(msg, group)
        by_name = {}
        for t in tensors:
            if t.name in by_name:
                raise CodecError(f"{group}/{t.name}", "appears twice")
            by_name[t.name] = t
        missing = set(spec.observation.entries) - set(by_name)
        extra = set(by_name) - set(spec.observation.entries)
        if missing or extra:
            raise CodecError(
                group, f"keys differ from spec: missing {sorted(missing)}, "
                f"unexpected {sorted(extra)}"
            )
        data[group] = {
            k: tensor_from_pb(by_name[k], f"{group}/{k}", s.dtype, (rows, *s.shape), finite=True)
            for k, s in spec.observation.entries.items()
        }
    if m < n:  # rebuild the shared rows: next_observations[i] = observations[i + 1]
        shared = np.flatnonzero(following)
        full = {}
        for k, explicit_rows in data["next_observations"].items():
            arr = np.empty_like(data["observations"][k])
            arr[explicit] = explicit_rows
            arr[shared] = data["observations"][k][shared + 1]
            full[k] = arr
        data["next_observations"] = full
    data["actions"] = _field(msg, "actions", "float32", (n, spec.action.dim), finite=True)
    if spec.action.has_gripper:
        g = _field(msg, "gripper_actions", "int32", (n,))
        if ((g < 0) | (g >= NUM_GRIPPER_ACTIONS)).any():
            raise CodecError("gripper_actions", f"values outside [0, {NUM_GRIPPER_ACTIONS})")
        data["gripper_actions"] = g
    elif msg.HasField("gripper_actions"):
        raise CodecError("gripper_actions", "sent but the spec has no gripper")
    data["rewards"] = _field(msg, "rewards", "float32", (n,), finite=True)
    for k in _FLAG_KEYS:
        f = _field(msg, k, "uint8", (n,))
        if (f > 1).any():
            raise CodecError(k, "flags must be 0 or 1")
        data[k] = f.astype(np.float32)
    data["episode_ids"] = _field(msg, "episode_ids", "int64", (n,))
    data["steps"] = _field(msg, "steps", "int32", (n,))
    return DecodedBatch(msg.actor_id, int(msg.first_seq), data)


def _field(
    msg: pb.TransitionBatch, name: str, dtype: str, shape: tuple[int, ...], finite: bool = False
) -> np.ndarray:
    if not msg.HasField(name):
        raise CodecError(name, "missing")
    return tensor_from_pb(getattr(msg, name), name, dtype, shape, finite)


# --------------------------------------------------------------------------------- params


def _key_name(entry: Any) -> str:
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _is_plain(tree: Any) -> bool:
    """True for nested dicts/lists/tuples of arrays: flattened without importing jax."""
    if type(tree) is dict:
        return all(isinstance(k, str) and _is_plain(v) for k, v in tree.items())
    if type(tree) in (list, tuple):
        return all(_is_plain(v) for v in tree)
    return isinstance(tree, np.ndarray | np.generic | float | int)


def _plain_leaves(tree: Any, prefix: tuple[str, ...] = ()) -> Iterable[tuple[str, Any]]:
    # Same order and names as jax.tree_util with key paths (dict keys sorted).
    if type(tree) is dict:
        for k in sorted(tree):
            yield from _plain_leaves(tree[k], (*prefix, k))
    elif type(tree) in (list, tuple):
        for i, v in enumerate(tree):
            yield from _plain_leaves(v, (*prefix, str(i)))
    else:
        yield "/".join(prefix), tree


def _leaves_with_names(tree: Any) -> list[tuple[str, Any]]:
    if _is_plain(tree):
        return list(_plain_leaves(tree))
    import jax  # any other pytree (flax FrozenDict, dataclasses, jax arrays...)

    leaves, _ = jax.tree_util.tree_flatten_with_path(tree)
    return [("/".join(_key_name(p) for p in path), leaf) for path, leaf in leaves]


def flatten_params(tree: Any) -> dict[str, np.ndarray]:
    """Flattens a pytree into ``{"a/b/c": array}`` by key path (host numpy arrays)."""
    out: dict[str, np.ndarray] = {}
    for name, leaf in _leaves_with_names(tree):
        if name in out:
            raise CodecError(name, "two leaves flatten to the same name")
        out[name] = np.asarray(leaf)
    return out


def unflatten_params(named: Mapping[str, np.ndarray], template: Any | None = None) -> Any:
    """Rebuilds a pytree; with a ``template`` its structure, shapes and dtypes are checked.

    Without a template the result is a nested dict split on ``/``.
    """
    if template is None:
        root: dict[str, Any] = {}
        for name, arr in named.items():
            node = root
            *parents, last = name.split("/")
            for p in parents:
                node = node.setdefault(p, {})
            node[last] = arr
        return root
    pairs = _leaves_with_names(template)
    names = [n for n, _ in pairs]
    missing = set(names) - set(named)
    extra = set(named) - set(names)
    if missing or extra:
        raise CodecError(
            "params", f"structure differs from template: missing {sorted(missing)}, "
            f"unexpected {sorted(extra)}"
        )
    out = []
    for name, leaf in pairs:
        arr = named[name]
        ref = np.asarray(leaf)
        if arr.shape != ref.shape or arr.dtype != ref.dtype:
            raise CodecError(
                f"params/{name}", f"{arr.dtype}{arr.shape}, template {ref.dtype}{ref.shape}"
            )
        out.append(arr)
    if _is_plain(template):
        it = iter(out)
        return _rebuild(template, it)
    import jax

    return jax.tree_util.tree_unflatten(jax.tree_util.tree_structure(template), out)


def _rebuild(template: Any, leaves: Iterator[np.ndarray]) -> Any:
    if type(template) is dict:
        rebuilt = {k: _rebuild(template[k], leaves) for k in sorted(template)}
        return {k: rebuilt[k] for k in template}
    if type(template) in (list, tuple):
        return type(template)(_rebuild(v, leaves) for v in template)
    return next(leaves)


def encode_params(
    version: int, params: Any, chunk_bytes: int, published_unix_s: float = 0.0
) -> list[bytes]:
    """Encodes a pytree into serialized ``ParamsUpdate`` chunks of about ``chunk_bytes``.

    A tensor larger than a chunk is split across chunks by byte range, so any size fits
    under the message limit. Done once per version and shared by all subscribers.
    """
    if version < 1:
        raise CodecError("version", f"versions start at 1, got {version}")
    if chunk_bytes < 1024:
        raise CodecError("chunk_bytes", f"too small: {chunk_bytes}")
    named = flatten_params(params)
    total = sum(a.nbytes for a in named.values())
    chunks: list[list[pb.ParamsPiece]] = [[]]
    room = chunk_bytes
    for name, arr in named.items():
        a = np.ascontiguousarray(arr)
        if a.dtype.byteorder == ">":
            a = a.astype(a.dtype.newbyteorder("<"))
        buf = memoryview(a.reshape(-1).view(np.uint8))
        dtype, shape = dtype_to_pb(a.dtype), a.shape
        offset = 0
        while True:
            overhead = len(name) + 16 * (len(shape) + 4)
            if room <= overhead + 64:
                chunks.append([])
                room = chunk_bytes
            take = min(len(buf) - offset, room - overhead)
            piece = pb.ParamsPiece(
                tensor=pb.Tensor(name=name, dtype=dtype, shape=shape,
                                 data=bytes(buf[offset:offset + take])),
                byte_offset=offset,
            )
            chunks[-1].append(piece)
            room -= take + overhead
            offset += take
            if offset >= len(buf):
                break
    n = len(chunks)
    return [
        pb.ParamsUpdate(
            version=version, chunk_index=i, num_chunks=n, total_bytes=total, pieces=pieces,
            published_unix_s=published_unix_s,
        ).SerializeToString()
        for i, pieces in enumerate(chunks)
    ]


class ParamsAssembler:
    """Reassembles ``ParamsUpdate`` chunks into a pytree, one version at a time.

    Chunks of a version arrive in order on one stream; a chunk of a newer version
    discards a partial older one (latest wins), and an older version is ignored, so the
    caller never sees versions go backwards.
    """

    def __init__(self, template: Any | None = None) -> None:
        self._template = template
        self._version = 0
        self._next_index = 0
        self._num_chunks = 0
        self._total = 0
        self._buffers: dict[str, tuple[str, tuple[int, ...], bytearray, list[int]]] = {}
        self.completed_version = 0

    def reset(self) -> None:
        """Drops a partial version (after a broken stream); keeps the completed version."""
        self._version, self._next_index, self._buffers = 0, 0, {}

    def add(self, update: pb.ParamsUpdate) -> tuple[int, Any] | None:
        """Feeds one chunk; returns ``(version, pytree)`` when a version completes."""
        v = int(update.version)
        if v <= self.completed_version:
            return None
        if v != self._version or update.chunk_index == 0:
            if update.chunk_index != 0:
                return None  # joined mid-version: wait for the next version's first chunk
            self._version, self._next_index, self._buffers = v, 0, {}
            self._num_chunks, self._total = int(update.num_chunks), int(update.total_bytes)
        if update.chunk_index != self._next_index or update.num_chunks != self._num_chunks:
            raise CodecError(
                "ParamsUpdate.chunk_index",
                f"chunk {update.chunk_index}/{update.num_chunks} of version {v}, expected "
                f"{self._next_index}/{self._num_chunks}",
            )
        for piece in update.pieces:
            t = piece.tensor
            if t.dtype not in _PB_TO_NP:
                raise CodecError(f"params/{t.name}", f"unknown dtype enum {t.dtype}")
            dtype = _PB_TO_NP[t.dtype]
            shape = tuple(int(s) for s in t.shape)
            nbytes = int(np.prod(shape, dtype=np.int64)) * _np_dtype(dtype).itemsize
            entry = self._buffers.get(t.name)
            if entry is None:
                entry = (dtype, shape, bytearray(nbytes), [0])
                self._buffers[t.name] = entry
            if entry[0] != dtype or entry[1] != shape:
                raise CodecError(f"params/{t.name}", "dtype or shape changes between pieces")
            start, end = int(piece.byte_offset), int(piece.byte_offset) + len(t.data)
            if end > nbytes:
                raise CodecError(f"params/{t.name}", f"piece [{start}, {end}) beyond {nbytes}")
            entry[2][start:end] = t.data
            entry[3][0] += len(t.data)
        self._next_index += 1
        if self._next_index < self._num_chunks:
            return None
        named = {}
        got = 0
        for name, (dtype, shape, buf, filled) in self._buffers.items():
            if filled[0] != len(buf):
                raise CodecError(f"params/{name}", f"{filled[0]} of {len(buf)} bytes arrived")
            got += len(buf)
            named[name] = np.frombuffer(buf, dtype=_np_dtype(dtype)).reshape(shape)
            if named[name].dtype.kind == "f" and not np.isfinite(named[name]).all():
                raise CodecError(f"params/{name}", "holds NaN or infinite values")
        if got != self._total:
            raise CodecError("ParamsUpdate.total_bytes", f"{got} bytes, header says {self._total}")
        self._buffers = {}
        self.completed_version = v
        return v, unflatten_params(named, self._template)


def decode_params(chunks: Iterable[bytes], template: Any | None = None) -> tuple[int, Any]:
    """Decodes a complete list of serialized chunks (a convenience for tests and tools)."""
    asm = ParamsAssembler(template)
    result = None
    for raw in chunks:
        result = asm.add(pb.ParamsUpdate.FromString(raw)) or result
    if result is None:
        raise CodecError("ParamsUpdate", "incomplete: not all chunks arrived")
    return result
