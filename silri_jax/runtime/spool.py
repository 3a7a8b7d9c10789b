"""The actor's durable spool: every transition is on disk before it is handed to the
client, and stays there until the learner has acknowledged it.

Why: the client's outbox survives a learner restart, but it lives in the actor's memory.
An actor that crashes, is SIGKILLed, loses power or is stopped during a long learner
outage would take every collected-but-unacknowledged transition with it; on a real robot
those are minutes of an operator's time. With the spool, an actor restarted with the same
id reads them back and re-sends them FIRST, under their original sequence numbers, so the
learner's deduplication by sequence number makes the whole path exactly-once.

Layout of ``<directory>``:
- ``segment-<n>.log``: records in the format of ``silri_jax.runtime.wal`` (length, CRC32,
  payload); each payload is one transition encoded with the wire codec
  (``codec.encode_batch``: typed arrays, no pickle), so it carries its sequence number,
  episode id and step. A segment is deleted once the learner acked its last record.
- ``spool.json``: the actor id and config hash the records were written under; records of
  another config are refused with an error naming both (they cannot be sent to this
  learner, and deleting them silently would lose them).
- ``lock``: an exclusive ``flock`` held while an actor uses the folder, so two processes
  with the same id cannot interleave records. The kernel drops it when the process dies.

Reading back never crashes on a damaged segment: a torn or corrupt record (a kill in the
middle of a write) ends that segment; the intact prefix is kept and a warning names the
file. If the intact records are not contiguous (a middle segment lost its tail, e.g. after
a power loss without fsync), they are rewritten contiguously into a fresh segment, the
old segments are deleted, and the records after the hole get new sequence numbers (the
learner never saw them, so nothing is duplicated).
"""

from __future__ import annotations

import dataclasses
import fcntl
import json
import logging
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import numpy as np

from silri_jax.runtime.wal import (
    RECORD_HEADER_BYTES,
    Segment,
    WriteAheadLog,
    fsync_dir,
    read_segment,
)
from silri_jax.specs import EnvSpec
from silri_jax.transport import codec

log = logging.getLogger(__name__)

META = "spool.json"
LOCK = "lock"
FORMAT_VERSION = 1


class SpoolError(RuntimeError):
    """The spool folder cannot be used (held by another process, another config)."""


@dataclasses.dataclass
class Recovered:
    """Unacknowledged transitions read back from a spool, to be re-sent first.

    ``batches`` are contiguous in sequence number from ``first_seq``; ``next_seq`` is the
    number the actor's next new transition takes.
    """

    batches: list[codec.DecodedBatch]
    first_seq: int
    next_seq: int
    dropped_torn: int = 0      # segments whose damaged tail was cut off
    renumbered: int = 0        # transitions after a hole that got new sequence numbers

    def __len__(self) -> int:
        return sum(len(b) for b in self.batches)


@dataclasses.dataclass
class _SegmentInfo:
    first_seq: int
    last_seq: int
    records: int = 0
    bytes: int = 0


class ActorSpool:
    """Durable copy of one actor's unacknowledged transitions (see the module docstring).

    Args:
      directory: this actor's folder (created if missing).
      spec: the env spec the transitions follow (encoding and decoding check it).
      actor_id, config_hash: recorded in ``spool.json`` and checked on reopening.
      fsync: fsync every record (survives power loss, at a cost per step) instead of only
        writing it to the kernel (survives any process death).
      segment_records, segment_bytes: a segment is closed once it holds this many
        records or bytes, so acknowledged data is deleted in small steps.
    """

    def __init__(self, directory: str | os.PathLike[str], spec: EnvSpec, actor_id: str,
                 config_hash: str, fsync: bool = False, segment_records: int = 256,
                 segment_bytes: int = 8 * 1024 * 1024) -> None:
        if segment_records < 1 or segment_bytes < 1:
            raise ValueError("segment_records and segment_bytes must be positive")
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.spec, self.actor_id, self.config_hash = spec, actor_id, config_hash
        self.fsync = bool(fsync)
        self._segment_records, self._segment_bytes = int(segment_records), int(segment_bytes)
        self._lock_file = self._acquire_lock()
        try:
            self._check_meta()
            self._wal = WriteAheadLog(self.directory, fsync=self.fsync)
        except BaseException:
            self._lock_file.close()
            raise
        self._segments: dict[int, _SegmentInfo] = {}
        self._last_seq: int | None = None
        self._recovered = False
        self._closed = False

    # ------------------------------------------------------------------ opening
    def _acquire_lock(self) -> Any:
        f = open(self.directory / LOCK, "a+")
        try:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise SpoolError(
                f"actor spool {self.directory} is in use by another process: two actors "
                f"with the id {self.actor_id!r} would interleave their records (give each "
                "actor its own --actor_id or config.runtime.actor_spool_dir)") from None
        return f

    def _check_meta(self) -> None:
        path = self.directory / META
        mine = {"format_version": FORMAT_VERSION, "actor_id": self.actor_id,
                "config_hash": self.config_hash}
        if path.exists() and self._has_records():
            try:
                theirs = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise SpoolError(f"{path} cannot be read ({e}); the spool's records cannot "
                                 "be attributed: move the folder away to start afresh") from e
            diff = {k: (theirs.get(k), v) for k, v in mine.items() if theirs.get(k) != v}
            if diff:
                raise SpoolError(
                    f"actor spool {self.directory} holds unacknowledged transitions written "
                    f"under another setup ({', '.join(f'{k}: {a!r} there, {b!r} here' for k, (a, b) in diff.items())}): "  # noqa: E501
                    "run that config to deliver them, or move the folder away")
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(mine))
        os.replace(tmp, path)
        if self.fsync:
            fsync_dir(self.directory)

    def _has_records(self) -> bool:
        return any(p.stat().st_size > 0 for p in self.directory.glob("segment-*.log"))

    # ------------------------------------------------------------------ recovery
    def recover(self, acked_seq: int) -> Recovered:
        """Reads back what the learner has not acknowledged (``> acked_seq``).

        Deletes segments the learner already holds, cuts torn tails back to their intact
        prefix (warning with the file's name), and returns the rest in sequence order.
        Call once, before the first ``append``.
        """
        if self._recovered:
            raise RuntimeError("recover() is called once, before the first append")
        self._recovered = True
        rows: list[codec.DecodedBatch] = []
        old: list[int] = []
        torn = 0
        for index in self._wal.segments():
            if index == self._wal.index:
                continue
            old.append(index)
            seg = self._wal.read(index)
            batches, cut = self._decode(seg)
            if seg.torn or cut:
                torn += 1
                if cut:
                    seg.intact_bytes = cut
                self._wal.truncate_torn(seg)
            if not batches or batches[-1].last_seq <= acked_seq:
                self._wal.drop(index)
                old.pop()
                continue
            self._segments[index] = _SegmentInfo(batches[0].first_seq, batches[-1].last_seq,
                                                 len(batches), seg.intact_bytes)
            rows.extend(batches)
        rows = _unacked(rows, acked_seq)
        if not rows:
            return Recovered([], acked_seq + 1, acked_seq + 1, dropped_torn=torn)
        first = rows[0].first_seq
        if first > acked_seq + 1:
            log.warning("actor spool %s starts at sequence %d but the learner acked only %d: "
                        "transitions %d..%d are in neither place (the learner will count a "
                        "gap)", self.directory, first, acked_seq, acked_seq + 1, first - 1)
        holes = [i for i in range(1, len(rows)) if rows[i].first_seq != rows[i - 1].last_seq + 1]
        renumbered = 0
        if holes:
            rows, renumbered = self._compact(rows, old)
        self._last_seq = rows[-1].last_seq
        return Recovered(rows, first, rows[-1].last_seq + 1, dropped_torn=torn,
                         renumbered=renumbered)

    def _decode(self, seg: Segment) -> tuple[list[codec.DecodedBatch], int]:
        """The segment's records as batches; a record that checksums but does not decode
        ends the segment like a torn one (returns its byte offset as the cut, else 0)."""
        out: list[codec.DecodedBatch] = []
        pos = 0
        for raw in seg.records:
            try:
                batch = codec.decode_batch(self.spec, codec.parse_batch(raw))
                if batch.actor_id != self.actor_id:
                    raise codec.CodecError(f"record of actor {batch.actor_id!r}")
            except codec.CodecError as e:
                log.warning("%s: record at byte %d does not decode (%s); keeping the %d "
                            "records before it", seg.path, pos, e, len(out))
                return out, pos
            out.append(batch)
            pos += RECORD_HEADER_BYTES + len(raw)
        return out, 0

    def _compact(self, rows: list[codec.DecodedBatch],
                 old: list[int]) -> tuple[list[codec.DecodedBatch], int]:
        """Rewrites non-contiguous records contiguously into the current segment and deletes
        the old segments; the records after each hole take the next free numbers."""
        out: list[codec.DecodedBatch] = []
        seq, renumbered = rows[0].first_seq, 0
        for b in rows:
            if b.first_seq != seq:
                renumbered += len(b)
                b = codec.DecodedBatch(b.actor_id, seq, b.data)
            self._write(b)
            out.append(b)
            seq = b.last_seq + 1
        for index in old:
            self._wal.drop(index)
            self._segments.pop(index, None)
        log.warning("actor spool %s had a hole in its sequence numbers (a damaged segment); "
                    "%d transitions after it were renumbered and all were rewritten into %s",
                    self.directory, renumbered, self._wal.path(self._wal.index))
        return out, renumbered

    # ------------------------------------------------------------------ writing
    def append(self, seq: int, transition: Mapping[str, Any]) -> None:
        """Writes one transition under ``seq`` before the caller hands it to the client.

        Sequence numbers must be consecutive: the spool mirrors the client's numbering.
        Raises ``codec.CodecError`` naming the field for a transition the learner would
        refuse (nothing is written then).
        """
        if self._closed:
            raise SpoolError(f"actor spool {self.directory} is closed")
        if not self._recovered:
            raise RuntimeError("call recover() before the first append")
        if self._last_seq is not None and seq != self._last_seq + 1:
            raise ValueError(f"spool sequence numbers must be consecutive: got {seq} after "
                             f"{self._last_seq}")
        data = codec.stack_transitions(self.spec, [transition])
        self._write(codec.DecodedBatch(self.actor_id, int(seq), data))

    def _write(self, batch: codec.DecodedBatch) -> None:
        info = self._segments.get(self._wal.index)
        if info is not None and (info.records >= self._segment_records
                                 or info.bytes >= self._segment_bytes):
            self._wal.rotate()
            info = None
        raw = codec.encode_batch(self.spec, self.actor_id, batch.first_seq, batch.data,
                                 share_frames=True)
        self._wal.append(raw)
        if info is None:
            info = self._segments[self._wal.index] = _SegmentInfo(batch.first_seq,
                                                                   batch.last_seq)
        info.last_seq = batch.last_seq
        info.records += 1
        info.bytes += RECORD_HEADER_BYTES + len(raw)
        self._last_seq = batch.last_seq

    def release(self, acked_seq: int) -> int:
        """Deletes the finished segments whose every record is acknowledged; returns how
        many. Cheap when nothing is due (one comparison per open segment)."""
        done = [i for i, s in self._segments.items()
                if s.last_seq <= acked_seq and i != self._wal.index]
        for i in done:
            self._wal.drop(i)
            del self._segments[i]
        if done and self.fsync:
            fsync_dir(self.directory)
        return len(done)

    def unacked_segments(self) -> list[int]:
        return sorted(self._segments)

    def disk_usage(self) -> tuple[int, int]:
        """(records, bytes) in the segments on disk now, headers included."""
        return (sum(s.records for s in self._segments.values()),
                sum(s.bytes for s in self._segments.values()))

    @property
    def last_seq(self) -> int | None:
        return self._last_seq

    def close(self, acked_seq: int | None = None) -> None:
        """Closes the current segment (deleting everything when ``acked_seq`` covers it)
        and releases the folder's lock."""
        if self._closed:
            return
        self._closed = True
        self._wal.close()
        current = self._wal.index
        info = self._segments.get(current)
        if info is None or (acked_seq is not None and info.last_seq <= acked_seq):
            self._wal.path(current).unlink(missing_ok=True)
            self._segments.pop(current, None)
        if acked_seq is not None:
            for i in [i for i, s in self._segments.items() if s.last_seq <= acked_seq]:
                self._wal.path(i).unlink(missing_ok=True)
                del self._segments[i]
        self._lock_file.close()


def _unacked(rows: list[codec.DecodedBatch], acked_seq: int) -> list[codec.DecodedBatch]:
    """The transitions after ``acked_seq`` in sequence order, each number once (a copy
    left by an interrupted rewrite is read once)."""
    out = []
    seen = acked_seq
    for b in sorted(rows, key=lambda b: b.first_seq):
        if b.last_seq <= seen:
            continue
        skip = max(0, seen + 1 - b.first_seq)
        out.append(b.slice(skip) if skip else b)
        seen = b.last_seq
    return out


def read_spool(directory: str | os.PathLike[str], spec: EnvSpec) -> list[codec.DecodedBatch]:
    """Every intact record of a spool folder, oldest first, without locking or changing it
    (for inspection and tests)."""
    wal_dir = pathlib.Path(directory)
    out: list[codec.DecodedBatch] = []
    for p in sorted(wal_dir.glob("segment-*.log")):
        for raw in read_segment(int(p.stem.split("-")[1]), p).records:
            out.append(codec.decode_batch(spec, codec.parse_batch(raw)))
    return out


def rows_of(batch: codec.DecodedBatch) -> list[tuple[int, int, int, int]]:
    """(sequence number, episode id, step, is_intervention) of each transition."""
    d = batch.data
    return [(int(s), int(e), int(t), round(float(i))) for s, e, t, i in zip(
        batch.seqs, np.asarray(d["episode_ids"]), np.asarray(d["steps"]),
        np.asarray(d["is_intervention"]), strict=True)]
