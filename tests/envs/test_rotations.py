"""Rotation and frame round trips for end-effector delta actions."""

import numpy as np
import pytest
from kinematic_arm import KinematicArmEnv

from silri_jax.envs import rotations as R
from silri_jax.envs.sim.scene import DOWN_QUAT
from silri_jax.envs.wrappers import EEDeltaAction


def _random_quat(rng):
    return R.quat_normalize(rng.normal(size=4))


def _random_rotvec(rng, max_angle=np.pi - 1e-3):
    axis = rng.normal(size=3)
    return axis / np.linalg.norm(axis) * rng.uniform(0, max_angle)


def test_rotvec_quat_round_trip():
    rng = np.random.default_rng(0)
    for _ in range(200):
        v = _random_rotvec(rng)
        np.testing.assert_allclose(R.quat_to_rotvec(R.rotvec_to_quat(v)), v, atol=1e-9)
    tiny = np.array([1e-12, -2e-12, 3e-12])
    np.testing.assert_allclose(R.quat_to_rotvec(R.rotvec_to_quat(tiny)), tiny, atol=1e-15)


def test_mat_quat_round_trip_all_branches():
    rng = np.random.default_rng(1)
    quats = [_random_quat(rng) for _ in range(200)]
    quats += [DOWN_QUAT, np.array([0.0, 0.0, 1.0, 0.0]), np.array([0.0, 0.0, 0.0, 1.0])]
    for q in quats:
        q = R.quat_normalize(q)
        np.testing.assert_allclose(R.mat_to_quat(R.quat_to_mat(q)), q, atol=1e-9)


def test_compose_then_delta_between_recovers_the_delta():
    rng = np.random.default_rng(2)
    for _ in range(200):
        q, v = _random_quat(rng), _random_rotvec(rng)
        np.testing.assert_allclose(R.delta_between(q, R.compose_delta(q, v)), v, atol=1e-8)


def test_delta_is_applied_in_the_base_frame():
    # Gripper pointing down: a +z base-frame delta must turn the gripper about the vertical,
    # leaving its pointing axis (the local z column) unchanged and pointing down.
    q = R.compose_delta(DOWN_QUAT, np.array([0.0, 0.0, 0.3]))
    m = R.quat_to_mat(q)
    np.testing.assert_allclose(m[:, 2], [0, 0, -1], atol=1e-12)
    np.testing.assert_allclose(m[:, 0], [np.cos(0.3), np.sin(0.3), 0.0], atol=1e-12)
    # In the tool frame the same vector would have turned the other way: frames differ.
    tool = R.quat_to_mat(R.quat_mul(DOWN_QUAT, R.rotvec_to_quat(np.array([0, 0, 0.3]))))
    assert not np.allclose(tool[:, 0], m[:, 0])


def test_composition_is_rotation_not_angle_addition():
    # Two quarter turns about different axes do not equal one turn about the summed axis.
    a, b = np.array([np.pi / 2, 0, 0]), np.array([0, np.pi / 2, 0])
    two_steps = R.compose_delta(R.compose_delta(np.array([1.0, 0, 0, 0]), a), b)
    summed = R.rotvec_to_quat(a + b)
    assert not np.allclose(R.quat_to_mat(two_steps), R.quat_to_mat(summed), atol=1e-3)
    expected = R.quat_to_mat(R.rotvec_to_quat(b)) @ R.quat_to_mat(R.rotvec_to_quat(a))
    np.testing.assert_allclose(R.quat_to_mat(two_steps), expected, atol=1e-12)


@pytest.mark.parametrize("mode", ["xyz", "xyz_yaw", "full"])
def test_action_target_round_trip(mode):
    w = EEDeltaAction(KinematicArmEnv(), mode, 0.03, 0.1, True, DOWN_QUAT)
    rng = np.random.default_rng(3)
    for _ in range(100):
        a = rng.uniform(-1, 1, w.dim)
        pos = rng.uniform(-0.5, 0.5, 3)
        quat = R.compose_delta(DOWN_QUAT, _random_rotvec(rng, 0.5))
        tp, tq = w.target_from_action(a, pos, quat)
        back = w.action_from_target(tp, tq, pos, quat)
        np.testing.assert_allclose(back[:3], a[:3], atol=1e-9)
        if mode != "xyz":
            np.testing.assert_allclose(back[3:], a[3:], atol=1e-7)


def test_rot6d_is_continuous_where_quaternions_flip():
    # Around the downward orientation w changes sign; the 6-D feature must not jump.
    qs = [R.compose_delta(DOWN_QUAT, np.array([0.0, t, 0.0])) for t in np.linspace(-0.1, 0.1, 21)]
    feats = np.array([R.mat_to_rot6d(R.quat_to_mat(q)) for q in qs])
    assert np.max(np.linalg.norm(np.diff(feats, axis=0), axis=1)) < 0.02
