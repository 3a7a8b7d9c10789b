"""Per-frame success labels and where each came from: the codes every part agrees on.

A recorded episode of T steps has T + 1 frames; ``Episode.frame_labels`` (int8[T + 1])
says of each frame whether the task is achieved in it, and ``Episode.label_sources``
(int8[T + 1]) who said so. A label pressed during step t belongs to frame t + 1, the
observation that step produced. Frame 0 (the reset frame) is never labelled by a press.

Sources: a person at a teleop device (``HUMAN``: hold-to-label, "from this press onward",
a success the classifier missed), the classifier in the loop whose verdict stood
(``CLASSIFIER``), and a person overruling the classifier (``VETO``: frames the classifier
called success that were not). Corrections (``HUMAN`` and ``VETO`` frames found online)
are what background retraining learns from.
"""

from __future__ import annotations

import numpy as np

UNLABELLED = -1
NEGATIVE = 0
POSITIVE = 1

SOURCE_NONE = 0
SOURCE_HUMAN = 1
SOURCE_CLASSIFIER = 2
SOURCE_VETO = 3
SOURCE_NAMES = {SOURCE_NONE: "none", SOURCE_HUMAN: "human", SOURCE_CLASSIFIER: "classifier",
                SOURCE_VETO: "veto"}


def empty_labels(frames: int) -> tuple[np.ndarray, np.ndarray]:
    """(labels, sources) of ``frames`` unlabelled frames."""
    return np.full(frames, UNLABELLED, np.int8), np.full(frames, SOURCE_NONE, np.int8)


def check_labels(labels: np.ndarray, sources: np.ndarray, frames: int, where: str) -> None:
    """Raises ``ValueError`` naming ``where`` when the arrays do not fit ``frames`` frames
    or hold codes outside the ones above."""
    for name, arr, allowed in (("frame_labels", labels, (UNLABELLED, NEGATIVE, POSITIVE)),
                               ("label_sources", sources, tuple(SOURCE_NAMES))):
        if np.shape(arr) != (frames,):
            raise ValueError(f"{where}: {name} has shape {np.shape(arr)}, expected "
                             f"({frames},) (one per frame, T + 1)")
        bad = ~np.isin(np.asarray(arr), allowed)
        if bad.any():
            raise ValueError(f"{where}: {name} holds {sorted(set(np.asarray(arr)[bad].tolist()))}"
                             f"; allowed {list(allowed)}")
