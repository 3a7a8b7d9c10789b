"""Wrapper behaviour on a kinematic arm: clipping, gripper decoding, time limit, crops,
interventions, and the gymnasium adapter."""

import gymnasium as gym
import numpy as np
import pytest
from kinematic_arm import KinematicArmEnv

from silri_jax import specs
from silri_jax.envs import wrappers as W
from silri_jax.envs.adapters import GymAdapter
from silri_jax.envs.sim.scene import DOWN_QUAT

LOW, HIGH = np.array([0.3, -0.2, 0.05]), np.array([0.7, 0.2, 0.4])


def _stack(base, mode="full", max_steps=50):
    env = W.WorkspaceClip(base, LOW, HIGH)
    env = W.EEDeltaAction(env, mode, 0.05, 0.2, True, DOWN_QUAT)
    return W.TimeLimit(env, max_steps)


def test_workspace_clipping_is_never_exceeded_and_executed_action_is_honest():
    base = KinematicArmEnv()
    env = _stack(base, max_steps=10_000)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for _ in range(2000):
        prev = base.pos.copy()
        a = rng.uniform(-3, 3, 6)  # beyond the action box too
        _, _, _, _, info = env.step({"action": a, "gripper": 1})
        assert np.all(base.pos >= LOW - 1e-12) and np.all(base.pos <= HIGH + 1e-12)
        ex = info["executed_action"]
        assert ex.dtype == np.float32 and np.all(np.abs(ex) <= 1.0)
        # The executed translation reproduces the motion that actually happened.
        np.testing.assert_allclose(prev + ex[:3].astype(np.float64) * 0.05, base.pos, atol=1e-6)


def test_rotation_action_composes_in_base_frame():
    base = KinematicArmEnv()
    env = _stack(base)
    env.reset(seed=0)
    env.step({"action": np.array([0, 0, 0, 0, 0, 1.0]), "gripper": 1})  # +0.2 rad about z
    m = W.rotations.quat_to_mat(base.quat)
    np.testing.assert_allclose(m[:, 2], [0, 0, -1], atol=1e-12)
    assert np.isclose(np.arctan2(m[1, 0], m[0, 0]), 0.2)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.9, specs.GRIPPER_CLOSE),  # truncation would give "stay"
        (0.51, specs.GRIPPER_CLOSE),
        (0.4, specs.GRIPPER_STAY),
        (-0.4, specs.GRIPPER_STAY),
        (-0.7, specs.GRIPPER_OPEN),
        (np.array([0.1, 0.2, 3.0]), specs.GRIPPER_CLOSE),
        (np.array([2.0, 0.2, 1.0]), specs.GRIPPER_OPEN),
        (np.int64(1), specs.GRIPPER_STAY),
        (2, specs.GRIPPER_CLOSE),
    ],
)
def test_gripper_decoding_rounds_never_truncates(value, expected):
    assert W.decode_gripper(value) == expected


@pytest.mark.parametrize("bad", [np.nan, 3, np.zeros(2), np.array([np.inf, 0, 0])])
def test_gripper_decoding_rejects_bad_input(bad):
    with pytest.raises(ValueError, match="gripper"):
        W.decode_gripper(bad)


def test_flat_action_with_trailing_gripper_value():
    base = KinematicArmEnv()
    env = _stack(base, mode="xyz")
    env.reset(seed=0)
    _, _, _, _, info = env.step(np.array([0.0, 0.0, 0.0, 0.8]))
    assert base.gripper_log[-1] == specs.GRIPPER_CLOSE
    assert info["executed_gripper_action"] == specs.GRIPPER_CLOSE


def test_bad_actions_raise_clear_errors():
    env = _stack(KinematicArmEnv())
    env.reset(seed=0)
    with pytest.raises(ValueError, match="shape"):
        env.step({"action": np.zeros(4), "gripper": 1})
    with pytest.raises(ValueError, match="NaN"):
        env.step({"action": np.full(6, np.nan), "gripper": 1})
    with pytest.raises(ValueError, match="workspace"):
        W.WorkspaceClip(KinematicArmEnv(), HIGH, LOW)


def test_time_limit_truncates_but_termination_wins():
    env = _stack(KinematicArmEnv(), max_steps=3)
    env.reset(seed=0)
    flags = [env.step({"action": np.zeros(6), "gripper": 1})[2:4] for _ in range(3)]
    assert flags == [(False, False), (False, False), (False, True)]
    env = _stack(KinematicArmEnv(success_at=3), max_steps=3)
    env.reset(seed=0)
    flags = [env.step({"action": np.zeros(6), "gripper": 1})[2:4] for _ in range(3)]
    assert flags[-1] == (True, False)


def test_crop_then_resize():
    base = KinematicArmEnv()
    env = W.ImageCropResize(base, {"front": (0, 16, 64, 64)}, 32)
    obs, _ = env.reset(seed=0)
    raw = base._obs()["images/front"]
    assert obs["images/front"].shape == (32, 32, 3)
    assert env.observation_space["images/front"].shape == (32, 32, 3)
    expected = raw[0:64, 16:80].reshape(32, 2, 32, 2, 3).astype(np.float64).mean(axis=(1, 3))
    assert np.max(np.abs(obs["images/front"] - expected)) <= 0.5 + 1e-9
    odd = W.ImageCropResize(base, None, 50)
    assert odd.reset(seed=0)[0]["images/front"].shape == (50, 50, 3)
    with pytest.raises(ValueError, match="exceeds"):
        W.ImageCropResize(base, {"front": (10, 0, 64, 64)}, 32)
    with pytest.raises(ValueError, match="not observed"):
        W.ImageCropResize(base, {"wrist": (0, 0, 8, 8)}, 8)


def test_intervention_wrapper_executes_the_operator_action_and_flags_it():
    class EveryOther:
        def __init__(self):
            self.calls = 0
            self.seen_state = None

        def reset(self, seed):
            self.calls = 0

        def __call__(self, state, proposed):
            self.seen_state = state
            self.calls += 1
            if self.calls % 2 == 0:
                return None
            return {"action": np.array([0, 0, 1.0, 0, 0, 0]), "gripper": 0}

    class WithState(KinematicArmEnv):
        def privileged_state(self):
            return {"ee_pos": self.pos.copy()}

    base = WithState()
    op = EveryOther()
    env = W.InterventionWrapper(_stack(base), op)
    env.reset(seed=0)
    z0 = base.pos[2]
    _, _, _, _, info = env.step({"action": np.zeros(6), "gripper": 1})
    assert info["is_intervention"] is True
    np.testing.assert_allclose(info["executed_action"][:3], [0, 0, 1.0])
    assert info["executed_gripper_action"] == specs.GRIPPER_OPEN
    assert np.isclose(base.pos[2], z0 + 0.05) and "ee_pos" in op.seen_state
    _, _, _, _, info = env.step({"action": np.zeros(6), "gripper": 1})
    assert info["is_intervention"] is False
    np.testing.assert_allclose(info["executed_action"], 0.0)


class _DictObsEnv(gym.Env):
    observation_space = gym.spaces.Dict(
        {
            "pos": gym.spaces.Box(-1, 1, (2,), np.float64),
            "cam": gym.spaces.Box(0, 255, (8, 8, 3), np.uint8),
            "vel": gym.spaces.Box(-1, 1, (1,), np.float64),
        }
    )
    action_space = gym.spaces.Box(np.array([0.0, -2.0]), np.array([1.0, 2.0]))

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self._obs(), {}

    def _obs(self):
        return {"pos": np.array([0.1, 0.2]), "cam": np.full((8, 8, 3), 7, np.uint8),
                "vel": np.array([0.3])}

    def step(self, action):
        self.last = action
        return self._obs(), 1.0, False, True, {}


def test_adapter_dict_and_box_observations():
    env = GymAdapter(_DictObsEnv())
    obs, _ = env.reset(seed=0)
    np.testing.assert_allclose(obs["state"], [0.1, 0.2, 0.3])  # sorted keys: pos, vel
    assert obs["state"].dtype == np.float32 and obs["images/cam"].shape == (8, 8, 3)
    env.env_spec.observation.validate(obs)
    _, r, term, trunc, info = env.step(np.array([-1.0, 1.0]))
    np.testing.assert_allclose(env.env.last, [0.0, 2.0])  # rescaled to the env's bounds
    assert (r, term, trunc, info["is_intervention"]) == (1.0, False, True, False)
    pend = GymAdapter(gym.make("Pendulum-v1"))
    obs, _ = pend.reset(seed=0)
    assert set(obs) == {"state"} and obs["state"].shape == (3,)
    with pytest.raises(ValueError, match="Box action"):
        GymAdapter(gym.make("CartPole-v1"))
