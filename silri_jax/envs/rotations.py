"""Rotation helpers for end-effector delta actions (numpy, float64).

Delta-pose actions are where the peers' frame bugs live (a rotation delta added to Euler
angles, a delta applied in the wrong frame). Everything here works with proper rotations:
quaternions are ``(w, x, y, z)`` (MuJoCo's order), rotation vectors are axis * angle, and a
delta is composed by multiplication, never by adding angles.
"""

from __future__ import annotations

import numpy as np

_EPS = 1e-12


def quat_normalize(q: np.ndarray) -> np.ndarray:
    """Unit quaternion with ``w >= 0`` (the same rotation, one canonical sign)."""
    q = np.asarray(q, dtype=np.float64)
    n = np.linalg.norm(q)
    if not np.isfinite(n) or n < _EPS:
        raise ValueError(f"quaternion {q} has no direction")
    q = q / n
    return -q if q[0] < 0 else q


def quat_mul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Hamilton product ``a * b`` (apply ``b`` first, then ``a``)."""
    aw, ax, ay, az = a
    bw, bx, by, bz = b
    return np.array(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ]
    )


def quat_conj(q: np.ndarray) -> np.ndarray:
    return np.array([q[0], -q[1], -q[2], -q[3]])


def rotvec_to_quat(v: np.ndarray) -> np.ndarray:
    """Rotation vector (axis * angle, radians) to a unit quaternion."""
    v = np.asarray(v, dtype=np.float64)
    angle = np.linalg.norm(v)
    if angle < 1e-9:
        # First-order expansion keeps small deltas exact to float precision.
        q = np.array([1.0, 0.5 * v[0], 0.5 * v[1], 0.5 * v[2]])
        return q / np.linalg.norm(q)
    axis = v / angle
    return np.concatenate([[np.cos(0.5 * angle)], np.sin(0.5 * angle) * axis])


def quat_to_rotvec(q: np.ndarray) -> np.ndarray:
    """Unit quaternion to the rotation vector of angle in ``[0, pi]``."""
    q = quat_normalize(q)
    s = np.linalg.norm(q[1:])
    if s < 1e-9:
        return 2.0 * q[1:]
    angle = 2.0 * np.arctan2(s, q[0])
    return q[1:] / s * angle


def quat_to_mat(q: np.ndarray) -> np.ndarray:
    w, x, y, z = quat_normalize(q)
    return np.array(
        [
            [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
            [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
            [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
        ]
    )


def mat_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrix to a unit quaternion (Shepperd's method, stable for all angles)."""
    m = np.asarray(m, dtype=np.float64)
    tr = np.trace(m)
    if tr > 0:
        s = 2.0 * np.sqrt(tr + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    return quat_normalize(np.array(q))


def compose_delta(quat: np.ndarray, rotvec_base: np.ndarray) -> np.ndarray:
    """Applies a rotation delta expressed in the base frame: ``R_new = R_delta @ R``.

    The delta's axis is a direction in the robot base frame (x forward, z up), so "rotate
    about +z" turns the gripper about the vertical whatever its current orientation.
    """
    return quat_normalize(quat_mul(rotvec_to_quat(rotvec_base), quat))


def delta_between(quat_from: np.ndarray, quat_to: np.ndarray) -> np.ndarray:
    """The base-frame rotation vector ``d`` with ``compose_delta(quat_from, d) == quat_to``."""
    return quat_to_rotvec(quat_mul(quat_to, quat_conj(quat_from)))


def quat_error(quat_target: np.ndarray, quat_current: np.ndarray) -> np.ndarray:
    """Orientation error as a base-frame rotation vector taking current to target."""
    return delta_between(quat_current, quat_target)


def mat_to_rot6d(m: np.ndarray) -> np.ndarray:
    """First two columns of a rotation matrix: a continuous orientation feature.

    A quaternion flips sign near ``w = 0``, which is exactly where a downward-pointing
    gripper sits; the 6-D representation has no such jump.
    """
    return np.concatenate([m[:, 0], m[:, 1]])


def yaw_quat(yaw: float) -> np.ndarray:
    return np.array([np.cos(0.5 * yaw), 0.0, 0.0, np.sin(0.5 * yaw)])
