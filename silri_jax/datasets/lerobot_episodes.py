"""Project episodes <-> LeRobotDataset v3.0 rows.

Columns (project -> LeRobot):

=================================  ===================================================
``observations["state"]``          ``observation.state`` float32 [d]
``observations["images/<cam>"]``   ``observation.images.<cam>`` video, HxWx3
other observation keys ``k``       ``observation.<k>`` ('/' becomes '.')
``actions`` (+ ``gripper_actions``) ``action`` float32 [d] (+1: ``gripper``, see below)
``rewards``                        ``next.reward`` float32
``terminated or truncated``        ``next.done`` bool
``truncated``                      ``next.truncated`` bool
``success`` (see ``success_of``)   ``next.success`` bool, on the terminating step
``is_intervention``                ``complementary_info.is_intervention`` bool
``intervention_segment``           ``complementary_info.intervention_segment`` int64
(gripper tasks)                    ``complementary_info.discrete_penalty`` float32, 0
final observation row              ``complementary_info.is_final_observation`` bool
``frame_labels``                   ``complementary_info.reward_label`` int64 (per ROW)
``label_sources``                  ``complementary_info.label_source`` int64 (per ROW)
=================================  ===================================================

Frame labels. Row i holds observation o_i, and its ``reward_label`` is the success label
of that frame (-1 unlabelled, 0 negative, 1 positive) and ``label_source`` who gave it
(0 none, 1 human, 2 classifier, 3 veto; ``silri_jax.data.frame_labels``): the T + 1 rows
carry the T + 1 frame labels exactly, no padding. Both columns are always written
(unlabelled episodes: -1 / 0); reading a dataset without them gives episodes with
``frame_labels=None``.

Gripper. The discrete command becomes one extra last action column named ``gripper``,
valued as LeRobot's HIL-SERL gripper (``GripperAction``: 0 close, 1 stay, 2 open), the
mirror of the project's (0 open, 1 stay, 2 close): ``lerobot = 2 - project``.

Rows. A LeRobot row is ``(o_t, a_t, r_t, done_t)``. An episode of T transitions has
T + 1 observations, so it is written as T + 1 rows, the last holding the final
observation with the other columns copied from the row before: LeRobot's own evaluation
recorder (``lerobot_eval._compile_episode_data``) writes episodes this way. That row is
flagged ``complementary_info.is_final_observation``.

Reading any v3 dataset back: an episode of N rows is T = N - 1 transitions when its last
row is flagged, or (LeRobot's evaluation layout) when row N - 2 is already done; otherwise
T = N transitions whose final observation repeats the last row's (what LeRobot's
``_lerobotdataset_to_transitions`` assumes), ending in ``next.done`` (terminated unless
``next.truncated``), or truncated when the dataset has no done column.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.data import frame_labels as fl
from silri_jax.data.demos import Episode
from silri_jax.datasets.episodes import (
    DatasetEpisode,
    interventions_of,
    segments_of,
    success_of,
    task_of,
)
from silri_jax.datasets.errors import DatasetError
from silri_jax.datasets.lerobot_format import IMAGE_NAMES_HWC
from silri_jax.datasets.lerobot_reader import LeRobotReader
from silri_jax.datasets.lerobot_writer import LeRobotWriter
from silri_jax.specs import (
    IMAGE_PREFIX,
    STATE_KEY,
    ActionSpec,
    ArraySpec,
    EnvSpec,
    ObservationSpec,
)

STATE = "observation.state"
IMAGES = "observation.images."
ACTION = "action"
REWARD = "next.reward"
DONE = "next.done"
TRUNCATED = "next.truncated"
SUCCESS = "next.success"
INTERVENTION = "complementary_info.is_intervention"
SEGMENT = "complementary_info.intervention_segment"
PENALTY = "complementary_info.discrete_penalty"
FINAL = "complementary_info.is_final_observation"
REWARD_LABEL = "complementary_info.reward_label"
LABEL_SOURCE = "complementary_info.label_source"
GRIPPER_NAME = "gripper"


def lerobot_key(obs_key: str) -> str:
    """The LeRobot feature name of a project observation key."""
    if obs_key == STATE_KEY:
        return STATE
    if obs_key.startswith(IMAGE_PREFIX):
        return IMAGES + obs_key[len(IMAGE_PREFIX):].replace("/", ".")
    return "observation." + obs_key.replace("/", ".")


def project_key(feature: str, visual: bool) -> str | None:
    """The project observation key of a LeRobot feature (None: not an observation)."""
    if feature == STATE:
        return STATE_KEY
    if visual:
        name = feature[len(IMAGES):] if feature.startswith(IMAGES) else \
            feature.removeprefix("observation.")
        return IMAGE_PREFIX + name
    if feature.startswith("observation."):
        return feature[len("observation."):]
    return None


def features_for(spec: EnvSpec) -> dict[str, dict[str, Any]]:
    """LeRobot features of a project spec (see the module docstring)."""
    feats: dict[str, dict[str, Any]] = {}
    for key, arr in spec.observation.entries.items():
        if key.startswith(IMAGE_PREFIX):
            feats[lerobot_key(key)] = {"dtype": "video", "shape": tuple(arr.shape),
                                       "names": list(IMAGE_NAMES_HWC)}
        else:
            feats[lerobot_key(key)] = {"dtype": "float32", "shape": tuple(arr.shape),
                                       "names": None}
    dim = spec.action.dim
    if spec.action.has_gripper:
        feats[ACTION] = {"dtype": "float32", "shape": (dim + 1,),
                         "names": [f"action_{i}" for i in range(dim)] + [GRIPPER_NAME]}
    else:
        feats[ACTION] = {"dtype": "float32", "shape": (dim,), "names": None}
    feats[REWARD] = {"dtype": "float32", "shape": (1,), "names": None}
    feats[DONE] = {"dtype": "bool", "shape": (1,), "names": None}
    feats[TRUNCATED] = {"dtype": "bool", "shape": (1,), "names": None}
    feats[SUCCESS] = {"dtype": "bool", "shape": (1,), "names": None}
    feats[INTERVENTION] = {"dtype": "bool", "shape": (1,), "names": None}
    feats[SEGMENT] = {"dtype": "int64", "shape": (1,), "names": None}
    if spec.action.has_gripper:
        feats[PENALTY] = {"dtype": "float32", "shape": (1,), "names": ["discrete_penalty"]}
    feats[FINAL] = {"dtype": "bool", "shape": (1,), "names": None}
    feats[REWARD_LABEL] = {"dtype": "int64", "shape": (1,), "names": None}
    feats[LABEL_SOURCE] = {"dtype": "int64", "shape": (1,), "names": None}
    return feats


def _pad(x: np.ndarray) -> np.ndarray:
    """T rows -> T + 1 rows, the last a copy of row T - 1."""
    return np.concatenate([x, x[-1:]])


def episode_columns(spec: EnvSpec, ep: Episode) -> dict[str, np.ndarray]:
    """The T + 1 rows of one episode as LeRobot columns."""
    t = len(ep)
    cols: dict[str, np.ndarray] = {lerobot_key(k): np.asarray(v)
                                   for k, v in ep.observations.items()}
    action = np.asarray(ep.actions, np.float32)
    if spec.action.has_gripper:
        grip = np.asarray(ep.gripper_actions, np.int64)
        if np.any((grip < 0) | (grip > 2)):
            raise ValueError("gripper_actions must be 0 (open), 1 (stay) or 2 (close)")
        action = np.concatenate([action, (2 - grip).astype(np.float32)[:, None]], axis=1)
        cols[PENALTY] = np.zeros(t + 1, np.float32)
    cols[ACTION] = _pad(action)
    terminated = np.asarray(ep.terminated).astype(bool)
    truncated = np.asarray(ep.truncated).astype(bool)
    cols[REWARD] = _pad(np.asarray(ep.rewards, np.float32))
    cols[DONE] = _pad(terminated | truncated)
    cols[TRUNCATED] = _pad(truncated)
    cols[SUCCESS] = _pad(terminated & success_of(ep))
    flags = interventions_of(ep)
    cols[INTERVENTION] = _pad(np.ones(t, bool) if flags is None else flags.astype(bool))
    cols[SEGMENT] = _pad(segments_of(ep))
    final = np.zeros(t + 1, bool)
    final[-1] = True
    cols[FINAL] = final
    labels, sources = _labels_of(ep)
    cols[REWARD_LABEL] = labels.astype(np.int64)
    cols[LABEL_SOURCE] = sources.astype(np.int64)
    return cols


def _labels_of(ep: Episode) -> tuple[np.ndarray, np.ndarray]:
    """(frame labels, label sources) int8[T + 1] of any episode; unlabelled when it has
    none."""
    labels = getattr(ep, "frame_labels", None)
    sources = getattr(ep, "label_sources", None)
    if labels is None or sources is None:
        return fl.empty_labels(len(ep) + 1)
    return np.asarray(labels, np.int8), np.asarray(sources, np.int8)


def write_episodes(
    root: str | Path,
    spec: EnvSpec,
    episodes: Sequence[Episode],
    *,
    fps: int = 10,
    task: str | None = None,
    robot_type: str | None = None,
    progress: Callable[[int], None] | None = None,
    **writer_kwargs: Any,
) -> dict[str, Any]:
    """Writes project episodes as a LeRobot v3 dataset; returns a summary.

    Each episode's task is ``task``, else its own ``task``, else ``""``. Episodes without
    intervention flags are marked as human-driven throughout (they are demonstrations).
    """
    if not episodes:
        raise ValueError("no episodes to write")
    for i, ep in enumerate(episodes):
        ep.validate(spec, i)
    with LeRobotWriter(root, fps, features_for(spec), robot_type=robot_type,
                       **writer_kwargs) as writer:
        for i, ep in enumerate(episodes):
            text = task if task is not None else (task_of(ep) or "")
            writer.add_episode(episode_columns(spec, ep), text)
            if progress is not None:
                progress(i + 1)
        frames = writer.num_frames
        cameras = list(writer.camera_keys)
    return {"episodes": len(episodes), "frames": frames, "cameras": cameras,
            "format": "lerobot_v3"}


# ----------------------------------------------------------------------------- reading


def spec_of(reader: LeRobotReader) -> tuple[EnvSpec, dict[str, str], bool]:
    """The project spec of a LeRobot dataset, its feature -> observation-key map, and
    whether the action's last column is a gripper command."""
    entries: dict[str, ArraySpec] = {}
    keymap: dict[str, str] = {}
    for key, ft in reader.features.items():
        visual = ft["dtype"] in ("video", "image")
        obs = project_key(key, visual)
        if obs is None:
            continue
        if visual:
            entries[obs] = ArraySpec(reader.camera_shape(key), "uint8")
        else:
            if ft["dtype"] == "string":
                continue
            entries[obs] = ArraySpec(tuple(ft["shape"]), "float32")
        keymap[key] = obs
    if ACTION not in reader.features:
        raise DatasetError(f"{reader.root / 'meta/info.json'}: no 'action' feature")
    act = reader.features[ACTION]
    if len(act["shape"]) != 1:
        raise DatasetError(f"{reader.root / 'meta/info.json'}: 'action' has shape "
                           f"{list(act['shape'])}, expected one axis")
    names = act.get("names")
    has_gripper = (isinstance(names, list) and bool(names)
                   and str(names[-1]).lower() == GRIPPER_NAME and act["shape"][0] >= 2)
    dim = int(act["shape"][0]) - (1 if has_gripper else 0)
    try:
        spec = EnvSpec(ObservationSpec(entries), ActionSpec(dim, has_gripper))
    except ValueError as e:
        raise DatasetError(f"{reader.root}: its features do not map to the project's "
                           f"observations: {e}") from None
    return spec, keymap, has_gripper


def _transitions(cols: dict[str, np.ndarray]) -> tuple[int, bool]:
    """(T, whether the last row is an observation-only row) for an episode of N rows."""
    n = len(cols["index"])
    if FINAL in cols:
        final = cols[FINAL].astype(bool)
        if final[-1] and not final[:-1].any():
            return n - 1, True
    if DONE in cols and n >= 2 and bool(cols[DONE][-2]):
        return n - 1, True
    return n, False


def episode_from_columns(
    cols: dict[str, np.ndarray], spec: EnvSpec, keymap: dict[str, str], has_gripper: bool
) -> DatasetEpisode | None:
    """One project episode from a LeRobot episode's columns (None: no transition left)."""
    t, has_final = _transitions(cols)
    if t < 1:
        return None
    obs = {}
    for feature, key in keymap.items():
        values = cols[feature]
        values = values.astype(spec.observation.entries[key].dtype, copy=False)
        if not has_final:
            values = np.concatenate([values, values[-1:]])
        obs[key] = values[: t + 1]
    action = cols[ACTION][:t].astype(np.float32)
    grip = None
    if has_gripper:
        grip = (2 - np.clip(np.rint(action[:, -1]), 0, 2)).astype(np.int32)
        action = action[:, :-1]
    rewards = cols[REWARD][:t].astype(np.float32) if REWARD in cols else np.zeros(t, np.float32)
    if DONE in cols:
        done = cols[DONE][:t].astype(bool)
        truncated = cols[TRUNCATED][:t].astype(bool) if TRUNCATED in cols else \
            np.zeros(t, bool)
        terminated = done & ~truncated
        truncated = done & truncated
    else:
        terminated = np.zeros(t, bool)
        truncated = np.zeros(t, bool)
        truncated[-1] = True
    flags = (cols[INTERVENTION][:t].astype(np.float64) > 0.5).astype(np.uint8) \
        if INTERVENTION in cols else None
    task = str(cols["task"][0]) if "task" in cols and len(cols["task"]) else None
    segments = np.rint(cols[SEGMENT][:t]).astype(np.int64) if SEGMENT in cols else None
    success = bool(np.any(cols[SUCCESS][:t].astype(bool))) if SUCCESS in cols else None
    labels = sources = None
    if REWARD_LABEL in cols and LABEL_SOURCE in cols:
        labels, sources = (_frame_column(cols[name], t, has_final)
                           for name in (REWARD_LABEL, LABEL_SOURCE))
    return DatasetEpisode(
        observations=obs, actions=action, rewards=rewards,
        terminated=terminated.astype(np.uint8), truncated=truncated.astype(np.uint8),
        gripper_actions=grip, frame_labels=labels, label_sources=sources,
        is_intervention=flags, task=task, intervention_segment=segments, success=success,
    )


def _frame_column(values: np.ndarray, t: int, has_final: bool) -> np.ndarray:
    """A per-row code column as int8[T + 1] (a dataset without the final observation row
    repeats its last row's, as its observations do)."""
    codes = np.rint(np.asarray(values, np.float64).reshape(len(values))).astype(np.int8)
    if not has_final:
        codes = np.concatenate([codes, codes[-1:]])
    return codes[: t + 1]


def read_episodes(root: str | Path) -> tuple[EnvSpec, list[DatasetEpisode]]:
    """Every episode of a LeRobot v3 dataset as project episodes (see the module doc)."""
    with LeRobotReader(root) as reader:
        spec, keymap, has_gripper = spec_of(reader)
        episodes = []
        for i in range(reader.num_episodes):
            ep = episode_from_columns(reader.episode(i), spec, keymap, has_gripper)
            if ep is None:
                continue
            try:
                ep.validate(spec, i)
            except ValueError as e:
                raise DatasetError(f"{reader.root}: {e}") from None
            episodes.append(ep)
    if not episodes:
        raise DatasetError(f"{root}: no episode has a transition to convert")
    return spec, episodes
