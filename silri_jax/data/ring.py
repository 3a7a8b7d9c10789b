"""Index bookkeeping for a replay ring whose transitions share observation frames.

Two rings: transitions (``capacity`` slots) and frames (``frame_capacity`` slots). Each
transition writes its next observation as a new frame; its observation is either the
previous transition's next-observation frame (the episode continues) or a new frame
(first step of an episode, or the first transition after a gap such as the start of an
intervention segment). That stores every frame once and keeps every next-observation
link true: it is written with the transition, never inferred from a neighbour.

Frames are written in order, so the absolute index of a transition's observation frame
never decreases with insertion order. A frame slot is reused once ``frame_capacity``
newer frames have been written; the transitions that referenced the old frame are then
the oldest ones and are evicted with it. The valid transitions are therefore always the
contiguous window ``[start, end)`` of absolute insertion counters, and a sampled
transition can never reach a frame that another episode has overwritten.

This module holds no observation data, so the host buffer and the accelerator buffer
share it.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

INDEX_FIELDS = ("obs_frame", "next_frame", "episode_id", "step")


@dataclasses.dataclass(frozen=True)
class Placement:
    """Where one chunk of transitions goes.

    ``trans_abs``: absolute transition counters; slot is ``trans_abs % capacity``.
    ``obs_frame`` / ``next_frame``: absolute frame counters per transition.
    ``new_obs``: which transitions write their observation as a new frame.
    """

    trans_abs: np.ndarray
    obs_frame: np.ndarray
    next_frame: np.ndarray
    new_obs: np.ndarray


class RingIndex:
    """Absolute counters and per-slot frame references of a frame-sharing replay ring."""

    @classmethod
    def with_frame_ratio(cls, capacity: int, frame_ratio: float) -> RingIndex:
        """A ring of ``capacity`` transitions and ``ceil(capacity * frame_ratio)`` frames."""
        if frame_ratio < 1.0:
            raise ValueError(f"frame_ratio must be >= 1, got {frame_ratio}")
        return cls(capacity, max(2, math.ceil(int(capacity) * float(frame_ratio))))

    def __init__(self, capacity: int, frame_capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be >= 1, got {capacity}")
        if frame_capacity < 2:
            raise ValueError(f"frame_capacity must be >= 2, got {frame_capacity}")
        self.capacity = int(capacity)
        self.frame_capacity = int(frame_capacity)
        self.start = 0
        self.end = 0
        self.frames_written = 0
        self.obs_frame = np.full(capacity, -1, np.int64)
        self.next_frame = np.full(capacity, -1, np.int64)
        self.episode_id = np.zeros(capacity, np.int64)
        self.step = np.zeros(capacity, np.int64)

    @property
    def chunk_size(self) -> int:
        """Most transitions one placement may hold: no slot is written twice in a chunk."""
        return max(1, min(self.capacity, self.frame_capacity // 2))

    def __len__(self) -> int:
        return self.end - self.start

    def last(self) -> tuple[int, int] | None:
        """(episode id, step) of the most recent transition, or None when empty."""
        if self.end == 0:
            return None
        slot = (self.end - 1) % self.capacity
        return int(self.episode_id[slot]), int(self.step[slot])

    def place(self, continues: np.ndarray) -> Placement:
        """Frame counters for a chunk; ``continues[i]`` reuses the previous next frame."""
        n = len(continues)
        if n > self.chunk_size:
            raise ValueError(f"chunk of {n} transitions exceeds chunk_size {self.chunk_size}")
        continues = np.asarray(continues, bool).copy()
        if self.end == 0 and n:
            continues[0] = False
        obs_frame = np.empty(n, np.int64)
        next_frame = np.empty(n, np.int64)
        fw = self.frames_written
        for i in range(n):
            if continues[i]:
                obs_frame[i] = fw - 1
            else:
                obs_frame[i] = fw
                fw += 1
            next_frame[i] = fw
            fw += 1
        trans_abs = np.arange(self.end, self.end + n, dtype=np.int64)
        return Placement(trans_abs, obs_frame, next_frame, ~continues)

    def commit(self, placement: Placement, episode_id: np.ndarray, step: np.ndarray) -> None:
        """Record a placed chunk (after its data is written) and evict what it displaced."""
        n = len(placement.trans_abs)
        if n == 0:
            return
        slots = placement.trans_abs % self.capacity
        self.obs_frame[slots] = placement.obs_frame
        self.next_frame[slots] = placement.next_frame
        self.episode_id[slots] = episode_id
        self.step[slots] = step
        self.end += n
        self.frames_written = int(placement.next_frame[-1]) + 1
        self.start = max(self.start, self.end - self.capacity)
        oldest_alive = self.frames_written - self.frame_capacity
        while self.start < self.end and self.obs_frame[self.start % self.capacity] < oldest_alive:
            self.start += 1

    def sample_slots(
        self, rng: np.random.Generator, size: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Uniform transition slots and their obs / next-obs frame slots."""
        if self.end == self.start:
            raise ValueError("cannot sample from an empty replay buffer")
        t = rng.integers(self.start, self.end, size=size)
        slots = t % self.capacity
        return (
            slots,
            self.obs_frame[slots] % self.frame_capacity,
            self.next_frame[slots] % self.frame_capacity,
        )

    def state_dict(self) -> dict[str, int]:
        return {
            "start": self.start,
            "end": self.end,
            "frames_written": self.frames_written,
            "capacity": self.capacity,
            "frame_capacity": self.frame_capacity,
        }

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: getattr(self, name) for name in INDEX_FIELDS}

    def load(self, state: dict[str, int], arrays: dict[str, np.ndarray]) -> None:
        if (state["capacity"], state["frame_capacity"]) != (self.capacity, self.frame_capacity):
            raise ValueError(
                f"saved ring has capacity {state['capacity']} / frames "
                f"{state['frame_capacity']}, this one {self.capacity} / {self.frame_capacity}"
            )
        for name in INDEX_FIELDS:
            arr = np.asarray(arrays[name])
            if arr.shape != (self.capacity,):
                raise ValueError(f"saved index array {name!r} has shape {arr.shape}")
            getattr(self, name)[...] = arr
        self.start = int(state["start"])
        self.end = int(state["end"])
        self.frames_written = int(state["frames_written"])
        if not 0 <= self.start <= self.end or self.end - self.start > self.capacity:
            raise ValueError(f"saved ring window [{self.start}, {self.end}) is inconsistent")
