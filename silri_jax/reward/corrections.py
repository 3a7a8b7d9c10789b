"""Corrections to the classifier found online, kept on disk for good.

Every episode in which a person (or the simulated judge) overruled the classifier is one
file ``correction_<n>.npz`` in the store's folder: the episode's frames (every
observation key), ``frame_labels`` and ``label_sources`` (``silri_jax.data.frame_labels``).
Files are written whole (temporary file, then rename) and never removed or rewritten:
unlike replay, corrections are never evicted, because each one is a mistake the
classifier must not make again. Retraining reads them all
(``python -m silri_jax.reward train --corrections=<folder>``, or the background
retrainer).
"""

from __future__ import annotations

import os
import pathlib
import re
import threading
from collections.abc import Mapping

import numpy as np

from silri_jax.data import frame_labels as fl
from silri_jax.data.demos import Episode, write_npz_atomic

_NAME = re.compile(r"^correction_(\d{6,})\.npz$")


class CorrectionStore:
    """Append-only folder of corrected episodes (see the module docstring)."""

    def __init__(self, folder: str | os.PathLike[str]) -> None:
        self.folder = pathlib.Path(folder).expanduser()
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._next = max((int(m.group(1)) for p in self.folder.iterdir()
                          if (m := _NAME.match(p.name))), default=-1) + 1

    def add(self, frames: Mapping[str, np.ndarray], labels: np.ndarray,
            sources: np.ndarray) -> pathlib.Path:
        """Writes one episode (``frames``: key -> [T + 1, ...]); returns its path."""
        n_frames = len(labels)
        for k, v in frames.items():
            if len(v) != n_frames:
                raise ValueError(f"correction frames {k!r} has {len(v)} frames, the labels "
                                 f"{n_frames}")
        fl.check_labels(np.asarray(labels), np.asarray(sources), n_frames, "correction")
        arrays = {"frames/" + k: np.asarray(v) for k, v in frames.items()}
        arrays["frame_labels"] = np.asarray(labels, np.int8)
        arrays["label_sources"] = np.asarray(sources, np.int8)
        with self._lock:
            path = self.folder / f"correction_{self._next:06d}.npz"
            self._next += 1
        write_npz_atomic(path, arrays)
        return path

    def paths(self) -> list[pathlib.Path]:
        return sorted(p for p in self.folder.iterdir() if _NAME.match(p.name))

    def __len__(self) -> int:
        return len(self.paths())

    def labelled_frames(self) -> int:
        """Frames with a label, over every stored episode."""
        total = 0
        for p in self.paths():
            with np.load(p, allow_pickle=False) as z:
                total += int(np.sum(z["frame_labels"] >= 0))
        return total


def load_corrections(folder: str | os.PathLike[str]) -> list[Episode]:
    """Every stored correction as an ``Episode`` carrying its frame labels (actions and
    rewards are zeros: a classifier reads only frames and labels)."""
    folder = pathlib.Path(folder).expanduser()
    if not folder.is_dir():
        raise FileNotFoundError(f"corrections folder {folder} does not exist")
    out = []
    for p in CorrectionStore(folder).paths():
        with np.load(p, allow_pickle=False) as z:
            frames = {k[len("frames/"):]: z[k] for k in z.files if k.startswith("frames/")}
            labels, sources = z["frame_labels"], z["label_sources"]
        t = len(labels) - 1
        if t < 1:
            continue
        out.append(Episode(observations=frames, actions=np.zeros((t, 1), np.float32),
                           rewards=np.zeros(t, np.float32), terminated=np.zeros(t, np.uint8),
                           truncated=np.zeros(t, np.uint8), frame_labels=labels,
                           label_sources=sources))
    return out
