"""One entry point for every episode format the project reads or writes.

Formats, told apart by the path:

==================  ===========================================================  =====
format              path                                                         write
==================  ===========================================================  =====
``lerobot_v3``      a folder with ``meta/info.json``                             yes
``demos``           a ``.npz`` file (``silri_jax.data.demos.save_demos``)        yes
``hilserl``         a ``.pkl`` / ``.pickle`` file (HIL-SERL demo transitions)    no
``replay``          a learner checkpoint folder, one step, or a replay folder    no
==================  ===========================================================  =====

``load_episodes(path)`` returns ``(EnvSpec, episodes)`` from any of them, so the learner
can take any as demonstrations; the episodes are :class:`DatasetEpisode`, which carry
per-step ``is_intervention`` flags where the source has them. ``convert(src, dst)`` reads
any and writes a LeRobot v3 folder or a demos ``.npz`` (which keeps no flags or task).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from silri_jax.data.demos import Episode, load_demos, save_demos
from silri_jax.datasets.episodes import DatasetEpisode
from silri_jax.datasets.errors import DatasetError, where
from silri_jax.datasets.hilserl import load_hilserl
from silri_jax.datasets.lerobot_episodes import read_episodes, write_episodes
from silri_jax.datasets.lerobot_format import INFO_PATH, read_info
from silri_jax.datasets.replay_source import is_replay_path, load_replay
from silri_jax.specs import EnvSpec

FORMATS = ("lerobot_v3", "demos", "hilserl", "replay")
PICKLE_SUFFIXES = (".pkl", ".pickle")
DEFAULT_FPS = 10  # the simulated tasks' control rate (``control_hz``)


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of an existing path (see the module docstring)."""
    p = Path(path)
    if not p.exists():
        raise where(p, "does not exist")
    if p.is_dir():
        if (p / INFO_PATH).is_file():
            return "lerobot_v3"
        if is_replay_path(p):
            return "replay"
        raise where(p, "is neither a LeRobot v3 dataset (no meta/info.json) nor a replay "
                       "checkpoint (no replay_r/, replay_i/ or LATEST)")
    if p.suffix == ".npz":
        return "demos"
    if p.suffix in PICKLE_SUFFIXES:
        return "hilserl"
    raise where(p, f"unknown file type {p.suffix!r}: expected a .npz demo file, a .pkl "
                   "HIL-SERL demo file, a LeRobot v3 folder or a checkpoint folder")


def output_format(path: str | os.PathLike[str]) -> str:
    """The format a destination path asks for: ``.npz`` -> demos, else a LeRobot folder."""
    p = Path(path)
    if p.suffix == ".npz":
        return "demos"
    if p.suffix:
        raise where(p, f"cannot write {p.suffix!r} files: give a .npz path (project demos) "
                       "or a folder (LeRobot v3)")
    return "lerobot_v3"


def _load_demos(path: Path) -> tuple[EnvSpec, list[Episode]]:
    try:
        return load_demos(path)
    except (OSError, ValueError, KeyError) as e:
        raise where(path, f"not a readable project demo file: {e}") from None


def load_episodes(
    path: str | os.PathLike[str],
    *,
    buffer: str = "replay_r",
    gripper: bool | None = None,
) -> tuple[EnvSpec, list[Episode]]:
    """Episodes and their spec from any supported format (see the module docstring).

    Args:
        path: the source; its format is inferred (``detect_format``).
        buffer: for replay checkpoints, ``"replay_r"`` (every transition) or
            ``"replay_i"`` (demonstrations and interventions).
        gripper: for HIL-SERL pickles, whether the last action value is the gripper
            (None: inferred).
    """
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "lerobot_v3":
        spec, eps = read_episodes(p)
    elif fmt == "demos":
        spec, eps = _load_demos(p)
    elif fmt == "hilserl":
        spec, eps = load_hilserl(p, gripper)
    else:
        spec, eps = load_replay(p, buffer)
    return spec, list(eps)


def save_episodes(
    path: str | os.PathLike[str],
    spec: EnvSpec,
    episodes: Sequence[Episode],
    *,
    task: str | None = None,
    fps: int | None = None,
    progress: Callable[[int], None] | None = None,
    **writer_kwargs: Any,
) -> dict[str, Any]:
    """Writes episodes as the format ``path`` asks for; returns a summary dict."""
    fmt = output_format(path)
    if fmt == "demos":
        plain = [Episode(ep.observations, ep.actions, ep.rewards, ep.terminated, ep.truncated,
                         ep.gripper_actions) for ep in episodes]
        save_demos(path, spec, plain)
        return {"episodes": len(plain), "frames": sum(len(ep) + 1 for ep in plain),
                "cameras": list(spec.observation.image_keys), "format": "demos"}
    return write_episodes(path, spec, episodes, fps=fps or DEFAULT_FPS, task=task,
                          progress=progress, **writer_kwargs)


def convert(
    src: str | os.PathLike[str],
    dst: str | os.PathLike[str],
    *,
    task: str | None = None,
    fps: int | None = None,
    buffer: str = "replay_r",
    gripper: bool | None = None,
    **writer_kwargs: Any,
) -> dict[str, Any]:
    """Reads ``src`` in any format and writes ``dst`` (a folder or a ``.npz``).

    ``fps`` defaults to the source's when it is a LeRobot dataset, else 10 (the simulated
    tasks' control rate). Returns the summary of what was written.
    """
    output_format(dst)  # a bad destination fails before any reading
    if Path(dst).exists():
        raise where(Path(dst), "already exists; choose a new path")
    if fps is None and detect_format(src) == "lerobot_v3":
        fps = int(read_info(Path(src))["fps"])
    spec, episodes = load_episodes(src, buffer=buffer, gripper=gripper)
    return save_episodes(dst, spec, episodes, task=task, fps=fps, **writer_kwargs)


def describe(path: str | os.PathLike[str], **load_kwargs: Any) -> dict[str, Any]:
    """A summary of any supported source: episodes, frames, cameras, format and more."""
    p = Path(path)
    fmt = detect_format(p)
    if fmt == "lerobot_v3":
        info = read_info(p)
        return {
            "episodes": int(info["total_episodes"]), "frames": int(info["total_frames"]),
            "cameras": [k for k, ft in info["features"].items()
                        if ft["dtype"] in ("video", "image")],
            "format": fmt, "fps": info["fps"], "tasks": int(info["total_tasks"]),
            "robot_type": info.get("robot_type"),
            "features": {k: [ft["dtype"], list(ft["shape"])] for k, ft in
                         info["features"].items()},
        }
    spec, episodes = load_episodes(p, **load_kwargs)
    flags = [ep.is_intervention for ep in episodes if isinstance(ep, DatasetEpisode)
             and ep.is_intervention is not None]
    out: dict[str, Any] = {
        "episodes": len(episodes),
        "frames": sum(len(ep) + 1 for ep in episodes),
        "cameras": list(spec.observation.image_keys),
        "format": fmt,
        "transitions": sum(len(ep) for ep in episodes),
        "spec": spec.to_dict(),
    }
    if flags:
        out["intervention_steps"] = int(sum(int(f.sum()) for f in flags))
    return out


__all__ = [
    "FORMATS",
    "DatasetEpisode",
    "DatasetError",
    "convert",
    "describe",
    "detect_format",
    "load_episodes",
    "output_format",
    "save_episodes",
]
