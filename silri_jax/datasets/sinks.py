"""Episode sinks that stay open across a recording session.

:class:`LeRobotSink` is what ``python -m silri_jax.record`` writes to when ``record.out``
is a directory: one LeRobotDataset v3.0 that grows by one episode per kept take. Every
``add`` writes the episode's rows and metadata before returning, and ``close`` (also run
by the writer's ``atexit`` hook and on Ctrl-C, which the writer holds back while an
episode is being committed) finalizes the open data and video files, so an interrupted
session leaves a dataset LeRobot loads with every finished episode in it.
"""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np

from silri_jax.datasets.episodes import DatasetEpisode
from silri_jax.datasets.lerobot_episodes import episode_columns, features_for
from silri_jax.datasets.lerobot_writer import LeRobotWriter
from silri_jax.specs import EnvSpec


class LeRobotSink:
    """Writes recorded takes as episodes of one LeRobotDataset v3.0 under ``path``.

    Args:
        path: dataset folder; it must not exist or be empty (a LeRobot dataset is not
            appended to in place: record into a new folder and merge with LeRobot's tools).
        spec: the environment's spec, which fixes the features.
        fps: the control rate; LeRobot stores an integer, so it must be a whole number.
        task: the task text stored with every episode.
        robot_type: stored in ``meta/info.json``.
    """

    def __init__(self, path: pathlib.Path, spec: EnvSpec, *, fps: float, task: str,
                 robot_type: str | None = None) -> None:
        if float(fps) != int(fps) or fps <= 0:
            raise ValueError(f"LeRobotDataset stores fps as a whole number; the control rate "
                             f"is {fps} Hz: record to a .npz file or set a whole-number rate")
        path = pathlib.Path(path)
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise FileExistsError(f"{path}: exists and is not an empty directory; a "
                                  "LeRobotDataset is recorded into a new folder")
        self.path, self.spec, self.task = path, spec, task
        self.writer = LeRobotWriter(path, int(fps), features_for(spec), robot_type=robot_type)

    @property
    def num_episodes(self) -> int:
        return self.writer.num_episodes

    def add(self, take: Any) -> None:
        """Writes one take (a ``record.Take``: its episode, per-step intervention flags and
        per-frame labels) as the next episode."""
        ep = take.episode
        flags = np.asarray(take.interventions, np.uint8)
        labels = getattr(take, "frame_labels", None)
        sources = getattr(take, "label_sources", None)
        if labels is None or sources is None:
            labels, sources = ep.frame_labels, ep.label_sources
        episode = DatasetEpisode(
            observations=ep.observations, actions=ep.actions, rewards=ep.rewards,
            terminated=ep.terminated, truncated=ep.truncated,
            gripper_actions=ep.gripper_actions, frame_labels=labels,
            label_sources=sources, is_intervention=flags, task=self.task,
            intervention_segment=np.asarray(take.segments, np.int64),
            success=bool(take.success))
        episode.validate(self.spec, self.writer.num_episodes)
        self.writer.add_episode(episode_columns(self.spec, episode), self.task)

    def close(self) -> None:
        """Finalizes the dataset (idempotent). A session that kept no episode leaves no
        folder behind, rather than a dataset LeRobot would refuse as empty."""
        self.writer.finalize()
        if self.writer.num_episodes == 0:
            _remove_empty(self.path)


def _remove_empty(root: pathlib.Path) -> None:
    """Removes a dataset folder that holds only metadata written at creation."""
    files = [p for p in root.rglob("*") if p.is_file()]
    if all(p.parent.name == "meta" for p in files):
        for p in files:
            p.unlink()
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            d.rmdir()
        root.rmdir()
