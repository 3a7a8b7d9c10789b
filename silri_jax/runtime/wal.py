"""The learner's write-ahead log of received transition batches.

Why: the learner acks a batch once it is in replay, and the actor then forgets it. A
learner killed between two checkpoints would lose every batch acked since the last one,
and a resumed learner would hold fewer transitions than the actors produced. So each
batch is appended here (encoded with the wire codec: typed, no pickle) BEFORE it is
inserted and acked. A checkpoint rotates to a new segment; once the checkpoint is
committed, the older segments are deleted. On resume the remaining segments are read
back and every transition newer than the checkpoint's per-actor acked sequence number is
inserted again: exactly once, nothing lost. A record cut short by a kill is never acked,
so it is dropped on reading (its actor resends it).

Record layout: 8-byte little-endian length, 4-byte CRC32 of the payload, payload.
"""

from __future__ import annotations

import os
import pathlib
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

_HEADER = struct.Struct("<QI")
_PREFIX = "segment-"


class WriteAheadLog:
    """Append-only segments ``segment-<n>.log`` in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str], fsync: bool = False) -> None:
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        existing = self.segments()
        self._index = (existing[-1] + 1) if existing else 0
        self._file = self._open(self._index)

    def segments(self) -> list[int]:
        out = []
        for p in self.directory.glob(f"{_PREFIX}*.log"):
            try:
                out.append(int(p.stem[len(_PREFIX):]))
            except ValueError:
                continue
        return sorted(out)

    def _path(self, index: int) -> pathlib.Path:
        return self.directory / f"{_PREFIX}{index:08d}.log"

    def _open(self, index: int) -> BinaryIO:
        return open(self._path(index), "ab", buffering=0)

    def append(self, payload: bytes) -> None:
        """Writes one record; after this returns a process kill cannot lose it."""
        self._file.write(_HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        if self.fsync:
            os.fsync(self._file.fileno())

    def rotate(self) -> int:
        """Starts a new segment; returns its index (older ones hold only earlier records)."""
        self._file.close()
        self._index += 1
        self._file = self._open(self._index)
        return self._index

    def drop_before(self, index: int) -> None:
        """Deletes segments older than ``index`` (their records are in a checkpoint)."""
        for i in self.segments():
            if i < index:
                self._path(i).unlink(missing_ok=True)

    def records(self) -> Iterator[bytes]:
        """Every complete record of every segment, oldest first; a torn tail is skipped."""
        for i in self.segments():
            data = self._path(i).read_bytes()
            pos = 0
            while pos + _HEADER.size <= len(data):
                n, crc = _HEADER.unpack_from(data, pos)
                start = pos + _HEADER.size
                payload = data[start:start + n]
                if len(payload) < n or zlib.crc32(payload) != crc:
                    break  # cut short by a kill: never acked, the actor resends it
                yield payload
                pos = start + n

    def close(self) -> None:
        self._file.close()
