"""``infer-limits``: the workspace box, orientation cone and joint ranges of demonstrations.

The bridge clips every target into the cell's box and cone at 1 kHz, so limits that are
too tight stop the policy from reaching what the demonstrations reached, and limits that
are too loose let it explore where nobody showed it anything. The demonstrations say
where the task happens: the box is the positions' bounding box plus ``margin_m`` on every
side, the cone is the largest geodesic angle between a recorded orientation and the
reference plus ``margin_deg``. The reference is the chordal L2 mean of the recorded
orientations (the unit quaternion maximising the summed squared dot products: the
eigenvector of the largest eigenvalue of ``sum q q^T``, which ignores the sign of each
quaternion), printed as ``reset_quat_wxyz`` because the bridge measures the cone from it;
``reference="cell"`` keeps the cell's reset orientation instead.

Rounding only ever widens: the box to whole millimetres outwards, the cone up to a tenth
of a degree.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from silri_jax.robots.tools.demo_poses import DemoPoses

QUAT_DIGITS = 6


@dataclasses.dataclass(frozen=True)
class Limits:
    """What ``infer`` found: box (m), reference orientation, cone (deg, with margin), the
    largest angle seen (deg), joint ranges (rad, with margin) or None."""

    low: tuple[float, ...]
    high: tuple[float, ...]
    reference: tuple[float, ...]
    cone_deg: float
    seen_deg: float
    joint_low: tuple[float, ...] | None
    joint_high: tuple[float, ...] | None


def canonical(q: np.ndarray) -> np.ndarray:
    """One of a unit quaternion's two signs: its largest component positive (the first
    such on a tie), so a pointing-down hand reads (0, 1, 0, 0) like the task files, and
    a hand near the base orientation (1, 0, 0, 0)."""
    q = np.asarray(q, np.float64) / np.linalg.norm(q)
    return -q if q[int(np.argmax(np.abs(q)))] < 0 else q


def mean_quat(quats: np.ndarray) -> np.ndarray:
    """Chordal L2 mean of unit quaternions (sign-blind): the top eigenvector of
    ``sum q q^T``."""
    m = quats.T @ quats
    _, vecs = np.linalg.eigh(m)
    return canonical(vecs[:, -1])


def geodesic_deg(quats: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Rotation angle (deg) between each quaternion and ``ref`` (sign-blind)."""
    ref = np.asarray(ref, np.float64) / np.linalg.norm(ref)
    dots = np.clip(np.abs(quats @ ref), 0.0, 1.0)
    return np.degrees(2.0 * np.arccos(dots))


def _floor(x: float, step: float) -> float:
    return round(math.floor(x / step + 1e-9) * step, 6) + 0.0


def _ceil(x: float, step: float) -> float:
    return round(math.ceil(x / step - 1e-9) * step, 6) + 0.0


def infer(poses: DemoPoses, margin_m: float = 0.02, margin_deg: float = 5.0,
          reference: Sequence[float] | None = None) -> Limits:
    """The limits of ``poses`` (see the module docstring); ``reference``: the cone's
    centre (None: the recorded orientations' mean)."""
    if margin_m < 0 or margin_deg < 0:
        raise ValueError(f"margins must be >= 0, got margin_m={margin_m}, "
                         f"margin_deg={margin_deg}")
    if poses.frames == 0:
        raise ValueError(f"{poses.source}: no frames")
    pos = poses.positions
    low = tuple(_floor(v - margin_m, 0.001) for v in pos.min(axis=0))
    high = tuple(_ceil(v + margin_m, 0.001) for v in pos.max(axis=0))
    flat = [axis for axis, a, b in zip("xyz", low, high, strict=True) if a >= b]
    if flat:
        raise ValueError(f"the demonstrations never move along {', '.join(flat)}: a box "
                         "needs some width on every axis; give --margin_m > 0")
    ref = mean_quat(poses.quats) if reference is None else canonical(np.asarray(reference))
    ref = canonical(np.round(ref, QUAT_DIGITS))
    seen = float(geodesic_deg(poses.quats, ref).max())
    cone = min(180.0, _ceil(seen + margin_deg, 0.1))
    if cone <= 0:
        raise ValueError("every recorded orientation is the reference: give --margin_deg "
                         "> 0 (the cone must be wider than 0 degrees)")
    jl = jh = None
    if poses.joints is not None:
        m = math.radians(margin_deg)
        jl = tuple(_floor(v - m, 0.001) for v in poses.joints.min(axis=0))
        jh = tuple(_ceil(v + m, 0.001) for v in poses.joints.max(axis=0))
    return Limits(low, high, tuple(round(float(v), QUAT_DIGITS) + 0.0 for v in ref),
                  cone, seen, jl, jh)


def _tuple(values: Sequence[float]) -> str:
    return "(" + ", ".join(repr(float(v)) for v in values) + ")"


def config_lines(lim: Limits, poses: DemoPoses, demos: str, margin_m: float,
                 margin_deg: float, reset_pos: Sequence[float] | None = None,
                 keep_reference: bool = False) -> list[str]:
    """The limits as lines to paste into ``get_config()`` of ``configs/tasks/<task>.py``
    (comments say where they came from). ``reset_pos``: the cell's reset position, warned
    about when outside the new box; ``keep_reference``: the cone is around the cell's own
    ``reset_quat_wxyz``, which is then not printed."""
    lines = [f"# from {poses.episodes} episodes, {poses.frames} frames of {demos}",
             f"# pose: {poses.source}; margins {margin_m:g} m, {margin_deg:g} deg",
             f"c.workspace_low_m = {_tuple(lim.low)}",
             f"c.workspace_high_m = {_tuple(lim.high)}"]
    if keep_reference:
        lines.append(f"# cone around the cell's reset_quat_wxyz {_tuple(lim.reference)}")
    else:
        lines.append("# the cone's centre: the mean recorded orientation (the bridge "
                     "measures the cone from reset_quat_wxyz)")
        lines.append(f"c.reset_quat_wxyz = {_tuple(lim.reference)}")
    lines.append(f"# largest orientation error seen: {lim.seen_deg:.1f} deg")
    lines.append(f"c.max_orientation_error_deg = {lim.cone_deg!r}")
    if reset_pos is not None and not all(
            a <= p <= b for a, p, b in zip(lim.low, reset_pos, lim.high, strict=True)):
        lines.append(f"# note: the cell's reset_pos_m {_tuple(reset_pos)} is outside this "
                     "box; record a reset pose inside it (record-pose)")
    if lim.joint_low is not None and lim.joint_high is not None:
        lines.append("# joint ranges seen (rad, with the margin in radians); no cell "
                     "field: for the bridge's limits q_min / q_max")
        lines.append(f"# q_min_rad = {_tuple(lim.joint_low)}")
        lines.append(f"# q_max_rad = {_tuple(lim.joint_high)}")
    return lines
