"""``record-pose``: the arm's end-effector pose now, as the cell's reset pose.

On a real arm a person puts the hand where episodes should start (Franka: guiding mode,
then release it; UR: freedrive), and the tool connects through the bridge, reads the
measured pose and disconnects. While connected the loop holds the arm where it is: the
commanded target starts at the measured pose, no target is ever sent, and the safety box
is wide open (the cell's box is not applied, so an arm standing outside the old box is
not pulled into it). The pose is averaged over a few readings. On the mujoco backend (a
rehearsal) it is the simulated cell's arm placed at the cell's reset pose: a check that
the scene's inverse kinematics reaches the pose the task file asks for.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from silri_jax.robots.tools import task_file
from silri_jax.robots.tools.limits import canonical, mean_quat

POS_DIGITS = 4  # 0.1 mm
QUAT_DIGITS = 6
# A box no arm leaves: the pose is read, never clipped.
OPEN_BOX = {"box_min": np.full(3, -10.0), "box_max": np.full(3, 10.0)}


def read_pose(robot: Any, cell: Any, samples: int = 10, interval_s: float = 0.01
              ) -> tuple[np.ndarray, np.ndarray, str]:
    """(position m, quaternion w x y z, what was read) of the arm described by ``robot``
    (``cell``: the rehearsal's scene and reset pose)."""
    if str(robot.backend) == "mujoco":
        return _sim_pose(robot, cell)
    return _real_pose(robot, samples, interval_s)


def _sim_pose(robot: Any, cell: Any) -> tuple[np.ndarray, np.ndarray, str]:
    from silri_jax.robots.factory import bridge_settings
    from silri_jax.robots.sim_cell import SimCell

    scene = SimCell(str(cell.sim_scene), np.asarray(cell.reset_pos_m),
                    np.asarray(cell.reset_quat_wxyz), bridge_settings(robot, cell))
    scene.place_arm()
    s = scene.controller.bridge.state()
    what = (f"the simulated {cell.sim_scene} cell's arm at its reset pose (mujoco backend, "
            "a rehearsal)")
    return np.asarray(s.ee_position, np.float64), canonical(s.ee_quat), what


def _real_pose(robot: Any, samples: int, interval_s: float
               ) -> tuple[np.ndarray, np.ndarray, str]:
    from silri_jax.bridge import Bridge
    from silri_jax.robots.env import impedance_gains

    options: dict[str, Any] = {**robot.backend_options.to_dict(), "model": str(robot.model)}
    period = float(robot.loop_period_s) or None
    try:
        bridge = Bridge(str(robot.backend), run="realtime", robot_ip=str(robot.robot_ip),
                        backend_options=options, period_s=period,
                        gains=impedance_gains(robot, reset=True), limits=OPEN_BOX)
    except (ConnectionError, OSError, RuntimeError) as e:
        raise ConnectionError(f"cannot reach the {robot.backend} arm at {robot.robot_ip}: "
                              f"{e}") from e
    positions, quats = [], []
    with bridge:
        if not bridge.wait_ticks(10, timeout=5.0):
            raise ConnectionError(f"the {robot.backend} arm at {robot.robot_ip} sent no "
                                  "state within 5 s")
        for _ in range(max(1, samples)):
            bridge.check()
            s = bridge.state()
            positions.append(np.asarray(s.ee_position, np.float64))
            quats.append(np.asarray(s.ee_quat, np.float64))
            time.sleep(interval_s)
    what = (f"the {robot.backend} {robot.model} arm at {robot.robot_ip} "
            f"(mean of {len(positions)} readings)")
    return np.mean(positions, axis=0), mean_quat(np.asarray(quats)), what


def rounded(pos: Sequence[float], quat: Sequence[float]) -> tuple[tuple[float, ...],
                                                                  tuple[float, ...]]:
    """The pose as it is printed and written (0.1 mm; 6 quaternion digits)."""
    q = canonical(np.asarray(quat, np.float64))
    return (tuple(round(float(v), POS_DIGITS) + 0.0 for v in pos),
            tuple(round(float(v), QUAT_DIGITS) + 0.0 for v in q))


def _tuple(values: Sequence[float]) -> str:
    return "(" + ", ".join(repr(float(v)) for v in values) + ")"


def pose_lines(pos: Sequence[float], quat: Sequence[float], what: str) -> list[str]:
    """The pose as two config lines to paste into a task file."""
    return [f"# end-effector pose of {what}, base frame",
            f"c.reset_pos_m = {_tuple(pos)}",
            f"c.reset_quat_wxyz = {_tuple(quat)}"]


def write_pose(path: str, pos: Sequence[float], quat: Sequence[float]) -> None:
    """Rewrites the ``c.reset_pos_m`` and ``c.reset_quat_wxyz`` lines of the task file at
    ``path`` in place (``task_file.rewrite``); refuses when either line is missing or the
    result is not a valid cell (e.g. the pose lies outside its workspace box)."""

    def edits(task: task_file.TaskFile) -> list[task_file.Edit]:
        return [task.replace_value("reset_pos_m", _tuple(pos)),
                task.replace_value("reset_quat_wxyz", _tuple(quat))]

    def check(cell: Any) -> None:
        for field, want in (("reset_pos_m", pos), ("reset_quat_wxyz", quat)):
            if not task_file.same_values(cell[field], want):
                raise ValueError(f"task file {path}: {field} loads as {tuple(cell[field])}, "
                                 f"not the {tuple(want)} written (is it set again further "
                                 "down?); left unchanged")

    task_file.rewrite(path, edits, check)
