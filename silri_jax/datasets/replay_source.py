"""Learner replay checkpoints -> project episodes.

What is on disk: ``python -m silri_jax.learner`` checkpoints each step as
``<run>/checkpoints/<step>/`` with the Orbax learner state and two replay artefacts,
``replay_r/`` (``D_R``: every transition) and ``replay_i/`` (``D_I``: demonstrations and
interventions), each a ``ReplayBuffer.save`` folder (``LATEST`` naming a snapshot).
Accepted paths: the checkpoints folder (its newest committed step), one step folder, or a
replay folder itself. ``buffer`` picks ``replay_r`` (default) or ``replay_i``.

The buffer keeps transitions with their true next observations and (episode id, step), so
episodes are rebuilt exactly: a run of transitions continues while the episode id stays,
the step counts up by one, the previous transition did not end the episode and its next
observation is this one's observation. A buffer that wrapped around starts mid-episode;
that first piece, like any piece cut short, becomes an episode that ends truncated where
the data stops. Camera frames come back through the buffer's codec (``yuv420`` by
default, so not bit-exact). A checkpoint without replay artefacts (``sync_train``'s final
checkpoint holds only the learner state) cannot be converted; the error says so.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.data.replay import LATEST, ReplayBuffer
from silri_jax.datasets.episodes import DatasetEpisode
from silri_jax.datasets.errors import DatasetError, where
from silri_jax.specs import EnvSpec

BUFFERS = ("replay_r", "replay_i")
_CHUNK = 2048


def is_replay_path(path: Path) -> bool:
    """Whether ``path`` looks like a replay folder, a checkpoint step or a checkpoints dir."""
    if not path.is_dir():
        return False
    if (path / LATEST).is_file() or any((path / b).is_dir() for b in BUFFERS):
        return True
    return any(p.name.isdigit() and any((p / b).is_dir() for b in BUFFERS)
               for p in path.iterdir() if p.is_dir())


def _committed_steps(path: Path) -> list[Path]:
    steps = [p for p in path.iterdir() if p.is_dir() and p.name.isdigit()
             and (p / "commit_success.txt").is_file()]
    return sorted(steps, key=lambda p: int(p.name))


def replay_dir(path: str | Path, buffer: str = "replay_r") -> Path:
    """The ``ReplayBuffer.save`` folder ``path`` refers to (see the module docstring)."""
    path = Path(path)
    if buffer not in BUFFERS:
        raise ValueError(f"buffer must be one of {BUFFERS}, got {buffer!r}")
    if (path / LATEST).is_file():
        return path
    if (path / buffer).is_dir():
        return path / buffer
    if path.is_dir():
        steps = _committed_steps(path)
        if steps:
            if (steps[-1] / buffer).is_dir():
                return steps[-1] / buffer
            raise where(steps[-1], f"checkpoint holds no {buffer}/ replay artefact (only the "
                                   "learner state, as sync_train's final checkpoint): there "
                                   "are no transitions to convert")
        if (path / "state").is_dir() or (path / "commit_success.txt").is_file():
            raise where(path, f"checkpoint holds no {buffer}/ replay artefact (only the "
                              "learner state): there are no transitions to convert")
    raise where(path, "not a replay checkpoint (no LATEST, no replay_r/ or replay_i/, no "
                      "committed checkpoint steps)")


def _load(path: Path) -> ReplayBuffer:
    try:
        return ReplayBuffer.load(path)
    except (OSError, ValueError, KeyError) as e:
        raise where(path, f"unreadable replay snapshot: {e}") from None


def load_replay(path: str | Path, buffer: str = "replay_r"
                ) -> tuple[EnvSpec, list[DatasetEpisode]]:
    """Episodes rebuilt from a replay checkpoint (see the module docstring)."""
    src = replay_dir(path, buffer)
    buf = _load(src)
    n = len(buf)
    if n == 0:
        raise where(src, "the replay buffer is empty")
    segments: list[dict[str, list[Any]]] = []
    prev: dict[str, Any] | None = None
    for lo in range(0, n, _CHUNK):
        pos = np.arange(lo, min(n, lo + _CHUNK))
        batch = buf.get(pos)
        ids, steps = buf.episode_info(pos)
        for j in range(len(pos)):
            obs = {k: v[j] for k, v in batch["observations"].items()}
            cont = (prev is not None and ids[j] == prev["id"] and steps[j] == prev["step"] + 1
                    and not prev["ended"]
                    and all(np.array_equal(obs[k], prev["next"][k]) for k in obs))
            if not cont:
                segments.append({"obs": [], "next": [], "rows": []})
            seg = segments[-1]
            nxt = {k: v[j] for k, v in batch["next_observations"].items()}
            seg["obs"].append(obs)
            seg["next"] = [nxt]
            row = {name: batch[name][j] for name in ("actions", "rewards", "terminated",
                                                     "truncated", "is_intervention")}
            if "gripper_actions" in batch:
                row["gripper_actions"] = batch["gripper_actions"][j]
            seg["rows"].append(row)
            ended = bool(row["terminated"]) or bool(row["truncated"])
            prev = {"id": ids[j], "step": steps[j], "ended": ended, "next": nxt}
    episodes = [_episode(seg, buf.spec) for seg in segments]
    for i, ep in enumerate(episodes):
        try:
            ep.validate(buf.spec, i)
        except ValueError as e:
            raise DatasetError(f"{src}: {e}") from None
    return buf.spec, episodes


def _episode(seg: dict[str, list[Any]], spec: EnvSpec) -> DatasetEpisode:
    frames = seg["obs"] + seg["next"]
    obs = {k: np.stack([f[k] for f in frames]).astype(spec.observation.entries[k].dtype)
           for k in spec.observation.entries}
    rows = seg["rows"]

    def col(name: str, dtype: Any) -> np.ndarray:
        return np.array([r[name] for r in rows]).astype(dtype)

    terminated = col("terminated", np.uint8)
    truncated = col("truncated", np.uint8)
    if not (terminated[-1] or truncated[-1]):
        truncated[-1] = 1  # the buffer's data stops inside this episode
    return DatasetEpisode(
        observations=obs, actions=col("actions", np.float32), rewards=col("rewards", np.float32),
        terminated=terminated, truncated=truncated,
        gripper_actions=col("gripper_actions", np.int32) if spec.action.has_gripper else None,
        is_intervention=col("is_intervention", np.uint8),
    )
