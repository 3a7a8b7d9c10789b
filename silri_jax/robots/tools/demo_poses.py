"""End-effector poses (and joint positions) out of recorded demonstrations.

Demonstrations keep only what the policy observed (``silri_jax.data.demos``: observation
frames, actions, rewards; a LeRobot v3 folder adds per-frame columns). The robot env's
``tcp_pose`` is the position scaled to the cell's workspace box plus a 6-D rotation
(``silri_jax/robots/env.py``), so it only becomes a pose again with the box it was
recorded with (``--cell``). A raw pose is preferred when the data has one, under any of
the names below, as an observation key or (LeRobot) any per-frame column
(``observation.<name>``, ``complementary_info.<name>``):

- ``ee_pose`` / ``eef_pose`` / ``raw_tcp_pose``: x, y, z (m) and a quaternion w, x, y, z;
- ``ee_pos`` + ``ee_quat`` (or ``tcp_pos`` + ``tcp_quat``, ``eef_pos`` + ``eef_quat``);
- joint positions (rad): ``q``, ``qpos``, ``joint_pos``, ``joint_positions`` or ``joints``.

Every observation frame counts, the final one of each episode included.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from silri_jax.envs import rotations

POSE_KEYS = ("ee_pose", "eef_pose", "raw_tcp_pose", "tcp_pose_raw")
POS_QUAT_KEYS = (("ee_pos", "ee_quat"), ("tcp_pos", "tcp_quat"), ("eef_pos", "eef_quat"))
JOINT_KEYS = ("q", "qpos", "joint_pos", "joint_positions", "joints")
SCALED_KEY = "tcp_pose"  # the robot env's: scaled position (3) + rot6d (6)
LEROBOT_PREFIXES = ("observation.", "complementary_info.")
UNIT_TOL = 0.02  # how far from unit length a recorded quaternion / rot6d column may be


@dataclasses.dataclass(frozen=True)
class DemoPoses:
    """Every recorded frame's pose: ``positions`` [N, 3] m, ``quats`` [N, 4] (w, x, y, z),
    ``joints`` [N, dof] rad or None; ``source`` says where they came from."""

    positions: np.ndarray
    quats: np.ndarray
    joints: np.ndarray | None
    episodes: int
    source: str

    @property
    def frames(self) -> int:
        return len(self.positions)


def leaf(key: str) -> str:
    """The last name of a column key (``observation.ee_pos`` -> ``ee_pos``)."""
    return key.replace("/", ".").rsplit(".", 1)[-1]


def read_columns(path: str | os.PathLike[str]) -> tuple[dict[str, np.ndarray], list[str], int]:
    """Every numeric per-frame vector in the demos at ``path``, concatenated over episodes
    (``{key: [N, d]}``), the names of the camera keys (not read), and the episode count.

    A LeRobot folder is read column by column without decoding its videos; the other
    formats through ``silri_jax.datasets.load_episodes``.
    """
    from silri_jax.datasets.convert import detect_format

    p = Path(path)
    if detect_format(p) == "lerobot_v3":
        return _lerobot_columns(p)
    from silri_jax.datasets.convert import load_episodes
    from silri_jax.specs import IMAGE_PREFIX

    spec, episodes = load_episodes(p)
    cameras = [k for k in spec.observation.entries if k.startswith(IMAGE_PREFIX)]
    cols: dict[str, list[np.ndarray]] = {}
    for ep in episodes:
        for key, arr in ep.observations.items():
            if key not in cameras:
                cols.setdefault(key, []).append(_as_rows(np.asarray(arr)))
    return {k: np.concatenate(v) for k, v in cols.items()}, cameras, len(episodes)


def _as_rows(arr: np.ndarray) -> np.ndarray:
    """A per-frame column as [N, d] float64."""
    arr = np.asarray(arr, np.float64)
    return arr.reshape(len(arr), -1)


def _lerobot_columns(root: Path) -> tuple[dict[str, np.ndarray], list[str], int]:
    from silri_jax.datasets.lerobot_reader import LeRobotReader

    with LeRobotReader(root) as reader:
        keys = [k for k, ft in reader.features.items()
                if k.startswith(LEROBOT_PREFIXES) and ft["dtype"] not in ("video", "image",
                                                                          "string")]
        cameras = reader.camera_keys + reader.image_keys
        cols: dict[str, list[np.ndarray]] = {k: [] for k in keys}
        for i in range(reader.num_episodes):
            ep = reader.episode(i, cameras=False)
            for k in keys:
                cols[k].append(_as_rows(ep[k]))
        n = reader.num_episodes
    return {k: np.concatenate(v) for k, v in cols.items() if v}, cameras, n


def describe_keys(cols: Mapping[str, np.ndarray], cameras: list[str]) -> str:
    """``state [5], tcp_vel [6]; cameras images/front`` for an error message."""
    vectors = ", ".join(f"{k} [{v.shape[1]}]" for k, v in sorted(cols.items())) or "none"
    cams = f"; cameras {', '.join(cameras)}" if cameras else ""
    return vectors + cams


def find_poses(path: str | os.PathLike[str], cell: Any = None,
               cell_name: str = "") -> DemoPoses:
    """The poses recorded in the demos at ``path`` (see the module docstring); ``cell``:
    the cell config the demos were recorded with, to unscale a ``tcp_pose``.

    Raises ``ValueError`` naming the keys found when no pose can be read.
    """
    cols, cameras, episodes = read_columns(path)
    by_leaf: dict[str, str] = {}
    for key in cols:
        by_leaf.setdefault(leaf(key), key)
    joints = _joints(cols, by_leaf)
    for name in POSE_KEYS:
        if name in by_leaf:
            key = by_leaf[name]
            pose = _width(cols, key, 7)
            quats = _unit_quats(pose[:, 3:], key)
            return DemoPoses(pose[:, :3], quats, joints, episodes, f"{key} (raw pose)")
    for pos_name, quat_name in POS_QUAT_KEYS:
        if pos_name in by_leaf and quat_name in by_leaf:
            pk, qk = by_leaf[pos_name], by_leaf[quat_name]
            quats = _unit_quats(_width(cols, qk, 4), qk)
            return DemoPoses(_width(cols, pk, 3), quats, joints, episodes,
                             f"{pk} + {qk} (raw pose)")
    if SCALED_KEY in by_leaf:
        key = by_leaf[SCALED_KEY]
        if cell is None:
            raise ValueError(
                f"{path}: the poses are the robot env's {key!r} (position scaled to the "
                "workspace box the demos were recorded with, + rot6d) and the data has no "
                "raw pose: pass --cell=<the task those demos were recorded with> to "
                f"unscale it (keys found: {describe_keys(cols, cameras)})")
        pos, quats = unscale_tcp_pose(_width(cols, key, 9), cell, key)
        return DemoPoses(pos, quats, joints, episodes,
                         f"{key} unscaled with {cell_name or 'the cell'}'s workspace box")
    raise ValueError(
        f"{path}: no end-effector pose in the data: expected one of "
        f"{', '.join(POSE_KEYS)} (x, y, z, qw, qx, qy, qz), a pair "
        f"{', '.join('+'.join(p) for p in POS_QUAT_KEYS)}, or the robot env's "
        f"{SCALED_KEY} (with --cell); keys found: {describe_keys(cols, cameras)}")


def _width(cols: Mapping[str, np.ndarray], key: str, d: int) -> np.ndarray:
    """Column ``key``, refused unless it has ``d`` finite values per frame."""
    arr = cols[key]
    if arr.shape[1] != d:
        raise ValueError(f"demo column {key!r} has {arr.shape[1]} values per frame; "
                         f"expected {d}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"demo column {key!r} holds NaN or infinite values")
    return arr


def _unit_quats(q: np.ndarray, key: str) -> np.ndarray:
    """Recorded quaternions, refused when not unit length (likely another layout)."""
    norms = np.linalg.norm(q, axis=1)
    worst = float(np.max(np.abs(norms - 1.0))) if len(norms) else 0.0
    if worst > UNIT_TOL:
        raise ValueError(f"demo column {key!r}: quaternions are not unit length (off by up "
                         f"to {worst:.3g}); expected w, x, y, z")
    return q / norms[:, None]


def _joints(cols: Mapping[str, np.ndarray], by_leaf: Mapping[str, str]) -> np.ndarray | None:
    for name in JOINT_KEYS:
        if name in by_leaf:
            arr = cols[by_leaf[name]]
            if np.all(np.isfinite(arr)):
                return arr
    return None


def rot6d_to_mats(r6: np.ndarray) -> np.ndarray:
    """[N, 6] first two rotation-matrix columns -> [N, 3, 3] (Gram-Schmidt)."""
    a, b = r6[:, :3], r6[:, 3:]
    x = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b - np.sum(x * b, axis=1, keepdims=True) * x
    y = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.stack([x, y, np.cross(x, y)], axis=2)


def unscale_tcp_pose(tcp: np.ndarray, cell: Any, key: str = SCALED_KEY
                     ) -> tuple[np.ndarray, np.ndarray]:
    """The robot env's ``tcp_pose`` frames back to positions (m) and quaternions, with
    the cell's workspace box (the inverse of ``RobotEnv._observe``)."""
    low = np.asarray(cell.workspace_low_m, np.float64)
    high = np.asarray(cell.workspace_high_m, np.float64)
    mid, half = (high + low) / 2, (high - low) / 2
    r6 = tcp[:, 3:]
    norms = np.linalg.norm(r6.reshape(-1, 2, 3), axis=2)
    worst = float(np.max(np.abs(norms - 1.0))) if len(norms) else 0.0
    if worst > UNIT_TOL:
        raise ValueError(f"demo column {key!r}: values 4-9 are not a rotation's first two "
                         f"columns (unit vectors; off by up to {worst:.3g}): not the robot "
                         "env's tcp_pose")
    mats = rot6d_to_mats(r6)
    quats = np.stack([rotations.mat_to_quat(m) for m in mats]) if len(mats) else \
        np.zeros((0, 4))
    return tcp[:, :3] * half + mid, quats
