"""Append-only, checksummed segment files: the learner's write-ahead log and the record
format of the actor's spool (``silri_jax.runtime.spool``).

Why (learner): the learner acks a batch once it is in replay, and the actor then forgets
it. A learner killed between two checkpoints would lose every batch acked since the last
one, and a resumed learner would hold fewer transitions than the actors produced. So each
batch is appended here (encoded with the wire codec: typed, no pickle) BEFORE it is
inserted and acked. A checkpoint rotates to a new segment; once the checkpoint is
committed, the older segments are deleted. On resume the remaining segments are read
back and every transition newer than the checkpoint's per-actor acked sequence number is
inserted again: exactly once, nothing lost. A record cut short by a kill is never acked,
so it is dropped on reading (its actor resends it).

Record layout: 8-byte little-endian length, 4-byte CRC32 of the payload, payload. A
segment whose tail does not parse (a kill or power loss mid-write, or a damaged disk)
keeps its intact prefix; reading warns naming the file and how many bytes were dropped,
and never raises.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import pathlib
import struct
import zlib
from collections.abc import Iterator
from typing import BinaryIO

log = logging.getLogger(__name__)

_HEADER = struct.Struct("<QI")
_PREFIX = "segment-"
RECORD_HEADER_BYTES = _HEADER.size


@dataclasses.dataclass
class Segment:
    """The intact records of one segment file and where they end."""

    index: int
    path: pathlib.Path
    records: list[bytes]
    intact_bytes: int  # length of the prefix made of whole, checksummed records
    file_bytes: int

    @property
    def torn(self) -> bool:
        return self.intact_bytes < self.file_bytes


def read_segment(index: int, path: pathlib.Path) -> Segment:
    """Parses ``path`` up to its first incomplete or corrupt record (warns if there is one)."""
    data = path.read_bytes()
    records: list[bytes] = []
    pos = 0
    while pos + _HEADER.size <= len(data):
        n, crc = _HEADER.unpack_from(data, pos)
        start = pos + _HEADER.size
        payload = data[start:start + n]
        if len(payload) < n or zlib.crc32(payload) != crc:
            break
        records.append(payload)
        pos = start + n
    seg = Segment(index, path, records, pos, len(data))
    if seg.torn:
        log.warning("%s: torn or corrupt record at byte %d; keeping the %d intact records "
                    "before it and dropping the last %d bytes", path, pos, len(records),
                    len(data) - pos)
    return seg


def fsync_dir(path: pathlib.Path) -> None:
    """Makes a directory's entries (new or deleted files) durable across power loss."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class WriteAheadLog:
    """Append-only segments ``segment-<n>.log`` in ``directory``.

    Opening never appends to an existing segment: a new one is started, so a torn tail
    left by a killed writer is never followed by good records in the same file.
    """

    def __init__(self, directory: str | os.PathLike[str], fsync: bool = False) -> None:
        self.directory = pathlib.Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.fsync = fsync
        existing = self.segments()
        self._index = (existing[-1] + 1) if existing else 0
        self._file = self._open(self._index)

    @property
    def index(self) -> int:
        """The segment being appended to."""
        return self._index

    def segments(self) -> list[int]:
        out = []
        for p in self.directory.glob(f"{_PREFIX}*.log"):
            try:
                out.append(int(p.stem[len(_PREFIX):]))
            except ValueError:
                continue
        return sorted(out)

    def path(self, index: int) -> pathlib.Path:
        return self.directory / f"{_PREFIX}{index:08d}.log"

    def _open(self, index: int) -> BinaryIO:
        f = open(self.path(index), "ab", buffering=0)
        if self.fsync:
            fsync_dir(self.directory)  # the new file's name survives power loss too
        return f

    def append(self, payload: bytes) -> None:
        """Writes one record; after this returns a process kill cannot lose it (with
        ``fsync``, power loss cannot either)."""
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
                self.drop(i)

    def drop(self, index: int) -> None:
        """Deletes one finished segment (never the one being appended to)."""
        if index == self._index:
            raise ValueError(f"segment {index} is still being written")
        self.path(index).unlink(missing_ok=True)

    def read(self, index: int) -> Segment:
        return read_segment(index, self.path(index))

    def truncate_torn(self, seg: Segment) -> None:
        """Cuts a torn segment back to its intact prefix, so the damage is reported once."""
        if seg.torn and seg.index != self._index:
            with open(seg.path, "r+b") as f:
                f.truncate(seg.intact_bytes)
                if self.fsync:
                    os.fsync(f.fileno())

    def records(self) -> Iterator[bytes]:
        """Every complete record of every segment, oldest first; a torn tail is skipped
        (with a warning naming the file)."""
        for i in self.segments():
            yield from self.read(i).records

    def close(self) -> None:
        self._file.close()
