"""Demonstration episodes: a single ``.npz`` on disk, and insertion into ``D_I``.

File layout (``np.savez_compressed``, read with ``allow_pickle=False``), for E episodes of
lengths T_0 .. T_{E-1}, T = sum T_e transitions:

- ``format_version``: int64 scalar (1).
- ``spec_json``: 0-d unicode string, ``EnvSpec.to_dict()`` as JSON.
- ``lengths``: int64[E], transitions per episode.
- ``frames/<key>`` for every observation key (``/`` in the camera key kept as is):
  ``[T + E, ...]``. Episode e owns T_e + 1 consecutive frames, ``o_0 .. o_{T_e}``; the
  last one is its final next observation (terminal or truncation frame), so the next
  observation of step t is frame t + 1 OF THE SAME EPISODE, never the next episode's
  first frame.
- ``actions`` float32[T, d], ``rewards`` float32[T], ``terminated`` / ``truncated``
  uint8[T], and ``gripper_actions`` int32[T] when the spec has a gripper.
- ``frame_labels`` / ``label_sources`` int8[T + E], optional (present when any episode
  carries labels): per FRAME, laid out like ``frames/<key>``, the success label of each
  frame (-1 unlabelled, 0 negative, 1 positive) and who gave it (0 none, 1 human,
  2 classifier, 3 veto; ``silri_jax.data.frame_labels``). Episodes without labels are
  stored as unlabelled; files without these keys load with ``frame_labels=None``.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.data import frame_labels as fl
from silri_jax.data.replay import ReplayBuffer
from silri_jax.specs import EnvSpec

DEMO_FORMAT_VERSION = 1


@dataclasses.dataclass
class Episode:
    """One demonstration: ``observations`` holds T + 1 frames per key, the rest T rows.

    ``frame_labels`` / ``label_sources`` (int8[T + 1], both or neither) are the optional
    per-frame success labels and their sources (``silri_jax.data.frame_labels``).
    """

    observations: dict[str, np.ndarray]
    actions: np.ndarray
    rewards: np.ndarray
    terminated: np.ndarray
    truncated: np.ndarray
    gripper_actions: np.ndarray | None = None
    frame_labels: np.ndarray | None = None
    label_sources: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.actions)

    def validate(self, spec: EnvSpec, index: int = 0) -> None:
        """Raises ``ValueError`` naming the episode and field that do not fit ``spec``."""
        t = len(self)
        where = f"episode {index}"
        if t < 1:
            raise ValueError(f"{where}: has no transitions")
        for name in ("rewards", "terminated", "truncated"):
            if np.shape(getattr(self, name)) != (t,):
                raise ValueError(f"{where}: {name} has shape {np.shape(getattr(self, name))}, "
                                 f"expected ({t},)")
        try:
            spec.observation.validate(self.observations, batch_ndim=1)
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        for key, arr in self.observations.items():
            if len(arr) != t + 1:
                raise ValueError(f"{where}: observations {key!r} has {len(arr)} frames, "
                                 f"expected T + 1 = {t + 1}")
        if spec.action.has_gripper and self.gripper_actions is None:
            raise ValueError(f"{where}: gripper_actions missing, the spec has a gripper")
        if (self.frame_labels is None) != (self.label_sources is None):
            raise ValueError(f"{where}: frame_labels and label_sources come together "
                             "(both or neither)")
        if self.frame_labels is not None:
            fl.check_labels(np.asarray(self.frame_labels), np.asarray(self.label_sources),
                            t + 1, where)

    def labels_or_empty(self) -> tuple[np.ndarray, np.ndarray]:
        """(frame_labels, label_sources) as int8[T + 1]; unlabelled when it has none."""
        if self.frame_labels is None or self.label_sources is None:
            return fl.empty_labels(len(self) + 1)
        return (np.asarray(self.frame_labels, np.int8),
                np.asarray(self.label_sources, np.int8))


def save_demos(path: str | os.PathLike[str], spec: EnvSpec, episodes: Sequence[Episode]) -> None:
    """Writes episodes to one compressed ``.npz`` (atomically: temp file + ``os.replace``)."""
    if not episodes:
        raise ValueError("no episodes to save")
    for i, ep in enumerate(episodes):
        ep.validate(spec, i)
    arrays: dict[str, Any] = {
        "format_version": np.int64(DEMO_FORMAT_VERSION),
        "spec_json": np.str_(json.dumps(spec.to_dict())),
        "lengths": np.array([len(ep) for ep in episodes], np.int64),
    }
    for key in spec.observation.entries:
        arrays["frames/" + key] = np.concatenate([ep.observations[key] for ep in episodes])
    arrays["actions"] = np.concatenate([ep.actions for ep in episodes]).astype(np.float32)
    arrays["rewards"] = np.concatenate([ep.rewards for ep in episodes]).astype(np.float32)
    for name in ("terminated", "truncated"):
        arrays[name] = np.concatenate([getattr(ep, name) for ep in episodes]).astype(np.uint8)
    if spec.action.has_gripper:
        arrays["gripper_actions"] = np.concatenate(
            [ep.gripper_actions for ep in episodes]  # type: ignore[misc]
        ).astype(np.int32)
    if any(ep.frame_labels is not None for ep in episodes):
        pairs = [ep.labels_or_empty() for ep in episodes]
        arrays["frame_labels"] = np.concatenate([p[0] for p in pairs]).astype(np.int8)
        arrays["label_sources"] = np.concatenate([p[1] for p in pairs]).astype(np.int8)
    write_npz_atomic(path, arrays)


def write_npz_atomic(path: str | os.PathLike[str], arrays: dict[str, Any]) -> None:
    """``np.savez_compressed`` to a temporary file, fsync, then rename: a crash leaves
    the old file or the new one, never half of one."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez_compressed(f, **arrays)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_demos(path: str | os.PathLike[str]) -> tuple[EnvSpec, list[Episode]]:
    """Reads a file written by ``save_demos`` (no pickle)."""
    with np.load(path, allow_pickle=False) as z:
        if int(z["format_version"]) != DEMO_FORMAT_VERSION:
            raise ValueError(f"unsupported demo format {int(z['format_version'])}")
        spec = EnvSpec.from_dict(json.loads(str(z["spec_json"])))
        lengths = z["lengths"]
        frames = {k: z["frames/" + k] for k in spec.observation.entries}
        rest = {n: z[n] for n in ("actions", "rewards", "terminated", "truncated")}
        grip = z["gripper_actions"] if spec.action.has_gripper else None
        labelled = "frame_labels" in z.files and "label_sources" in z.files
        labels = z["frame_labels"] if labelled else None
        sources = z["label_sources"] if labelled else None
    episodes = []
    t0 = f0 = 0
    for length in lengths.tolist():
        ts, fs = slice(t0, t0 + length), slice(f0, f0 + length + 1)
        episodes.append(Episode(
            observations={k: v[fs] for k, v in frames.items()},
            actions=rest["actions"][ts], rewards=rest["rewards"][ts],
            terminated=rest["terminated"][ts], truncated=rest["truncated"][ts],
            gripper_actions=None if grip is None else grip[ts],
            frame_labels=None if labels is None else labels[fs],
            label_sources=None if sources is None else sources[fs],
        ))
        t0, f0 = t0 + length, f0 + length + 1
    for i, ep in enumerate(episodes):
        ep.validate(spec, i)
    return spec, episodes


def insert_demos(
    buffer: ReplayBuffer,
    episodes: Sequence[Episode],
    first_episode_id: int = -1,
    policy_buffer: ReplayBuffer | None = None,
) -> int:
    """Inserts demonstrations as interventions; returns the transitions put in ``buffer``.

    An episode that carries per-step ``is_intervention`` flags (a LeRobot dataset or a
    replay recorded with a human at the controls, see ``silri_jax.datasets``) puts only its
    human-driven steps in ``buffer``: the steps the policy drove are not demonstrations,
    and go to ``policy_buffer`` (``D_R``) when one is given, as an actor's would. An
    episode without flags is a demonstration throughout.

    Demo episode ids count down from ``first_episode_id`` (-1, -2, ...) by default so they
    never collide with the actors' non-negative online episode ids.
    """
    total = 0
    for i, ep in enumerate(episodes):
        ep.validate(buffer.spec, i)
        t = len(ep)
        eid = first_episode_id - i if first_episode_id < 0 else first_episode_id + i
        flags = getattr(ep, "is_intervention", None)
        human = np.ones(t, bool) if flags is None else np.asarray(flags).astype(bool)
        rows = {
            "obs": {k: v[:-1] for k, v in ep.observations.items()},
            "action": ep.actions, "reward": ep.rewards, "terminated": ep.terminated,
            "truncated": ep.truncated,
            "next_obs": {k: v[1:] for k, v in ep.observations.items()},
            "episode_id": np.full(t, eid, np.int64),
            "step": np.arange(t, dtype=np.int64),
            "gripper_action": ep.gripper_actions,
        }
        for target, mask in ((buffer, human), (policy_buffer, ~human)):
            if target is None or not mask.any():
                continue
            target.insert_many(**_rows_where(rows, mask),
                               is_intervention=mask[mask].astype(np.uint8))
        total += int(human.sum())
    return total


def _rows_where(rows: dict[str, Any], mask: np.ndarray) -> dict[str, Any]:
    """The rows of ``mask`` in every (possibly nested, possibly None) field."""
    out: dict[str, Any] = {}
    for name, value in rows.items():
        if value is None:
            out[name] = None
        elif isinstance(value, dict):
            out[name] = {k: np.asarray(v)[mask] for k, v in value.items()}
        else:
            out[name] = np.asarray(value)[mask]
    return out
