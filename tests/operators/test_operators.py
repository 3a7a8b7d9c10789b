"""The simulated operator: profile success rates, takeover behaviour, demonstrations.

Runs on the pure-Python controller (~80 env steps/s), so episode counts are the smallest
that make each claim meaningful: 20 expert episodes per task (>= 19 successes is >= 95%),
10 unskilled and 6 random ones (failures run the full 100 steps, the slow case).
"""

import numpy as np
import pytest

from silri_jax.data.demos import Episode
from silri_jax.envs import env_spec, make
from silri_jax.operators import SimulatedOperator, TakeoverPolicy, record_demonstrations

TASKS = ("pick_cube", "insert_peg", "open_drawer")


def _zero(env):
    spec = env_spec(env)
    a = np.zeros(spec.action.dim, np.float32)
    return {"action": a, "gripper": 1} if spec.action.has_gripper else a


def _success_rate(task, profile, episodes, seed0=100):
    op = SimulatedOperator(profile, always=True)
    env = make(task, {"controller": "python"}, operator=op)
    wins = 0
    for i in range(episodes):
        env.reset(seed=seed0 + i)
        while True:
            _, _, term, trunc, info = env.step(_zero(env))
            assert info["is_intervention"] is True
            if term or trunc:
                break
        wins += bool(info["success"])
    return wins / episodes


def _random_rate(task, episodes, seed0=200):
    env = make(task, {"controller": "python"})
    rng = np.random.default_rng(0)
    spec = env_spec(env)
    wins = 0
    for i in range(episodes):
        env.reset(seed=seed0 + i)
        while True:
            a = rng.uniform(-1, 1, spec.action.dim)
            act = {"action": a, "gripper": int(rng.integers(3))} if spec.action.has_gripper else a
            _, _, term, trunc, info = env.step(act)
            if term or trunc:
                break
        wins += bool(info["success"])
    return wins / episodes


@pytest.mark.parametrize("task", TASKS)
def test_expert_profile_succeeds_unskilled_less_random_almost_never(task):
    expert = _success_rate(task, "expert", 20)
    assert expert >= 0.95, f"{task}: expert success {expert}"
    unskilled = _success_rate(task, "unskilled", 10)
    assert unskilled <= expert - 0.3, f"{task}: unskilled {unskilled} vs expert {expert}"
    assert _random_rate(task, 6) <= 1 / 6


def test_takeover_when_stuck_and_hand_back():
    policy = TakeoverPolicy(urgency_steps=0, max_takeover=6, min_takeover=3)
    op = SimulatedOperator("expert", takeover=policy, seed=0)
    env = make("pick_cube", {"controller": "python", "max_episode_steps": 40}, operator=op)
    env.reset(seed=1)
    flags = []
    for _ in range(30):
        flags.append(env.step(_zero(env))[4]["is_intervention"])  # a policy that never moves
    flags = np.array(flags)
    # Stuck for the stuck window plus the reaction delay, then a takeover ...
    assert not flags[: policy.stuck_window].any()
    assert flags.any()
    first = int(np.argmax(flags))
    assert first <= policy.stuck_window + 1 + op.profile.reaction_delay
    # ... that ends by max_takeover (a zero policy never agrees with the expert).
    run = np.argmin(flags[first:]) if not flags[first:].all() else len(flags) - first
    assert run == policy.max_takeover


def test_off_track_policy_triggers_and_agreeing_policy_does_not():
    state = {
        "task": "pick_cube", "ee_pos": np.array([0.45, 0.0, 0.2]), "cube_pos":
        np.array([0.6, 0.1, 0.02]), "cube_half": 0.02, "lift_z": 0.12, "gripper_width": 0.08,
        "gripper_closing": False, "step": 5, "max_episode_steps": 100, "action_scale_pos": 0.03,
        "action_mode": "xyz", "has_gripper": True, "success": False, "ee_vel": np.zeros(6),
    }
    op = SimulatedOperator("expert", seed=0)
    away = {"action": np.array([-1.0, -1.0, 0.0]), "gripper": 1}
    toward = {"action": np.array([1.0, 1.0, -0.2]), "gripper": 1}
    results = []
    for k in range(6):
        state = {**state, "step": 5 + k, "ee_pos": state["ee_pos"] + 0.01}
        results.append(op(state, away))
    assert any(r is not None for r in results)
    op = SimulatedOperator("expert", seed=0)
    for k in range(6):
        state = {**state, "step": 5 + k, "ee_pos": state["ee_pos"] + 0.01}
        assert op(state, toward) is None


def test_operator_randomness_is_seeded():
    def run(seed):
        op = SimulatedOperator("unskilled", always=True, seed=seed)
        env = make("pick_cube", {"controller": "python"}, operator=op)
        env.reset(seed=seed)
        return [env.step(_zero(env))[4]["executed_action"] for _ in range(5)]

    np.testing.assert_array_equal(np.stack(run(5)), np.stack(run(5)))
    assert not np.array_equal(np.stack(run(5)), np.stack(run(6)))


def test_record_demonstrations_format():
    env = make("open_drawer", {"controller": "python"})
    episodes = record_demonstrations(env, n=2, seed=0)
    spec = env_spec(env)
    assert len(episodes) == 2
    for i, ep in enumerate(episodes):
        assert isinstance(ep, Episode)
        ep.validate(spec, i)
        assert ep.terminated[-1] == 1 and ep.rewards[-1] > 0  # ends in success
        assert ep.gripper_actions is not None and set(ep.gripper_actions) <= {0, 1, 2}
        assert np.all(np.abs(ep.actions) <= 1.0)
    # The env's own operator slot is restored afterwards.
    assert env.operator is None
    with pytest.raises(ValueError, match="positive"):
        record_demonstrations(env, n=0)


@pytest.mark.parametrize("task", TASKS)
def test_a_careful_profile_is_precise_only_near_the_task_focus(task):
    """``careful_radius``: within it of ``focus_pos`` the perturbations shrink by
    ``careful_scale`` (0 here: exactly the expert); outside it they are the profile's."""
    import dataclasses

    from silri_jax.operators.experts import expert_action
    from silri_jax.operators.profiles import get_profile

    profile = dataclasses.replace(get_profile("unskilled"), hesitation_prob=0.0,
                                  wrong_move_prob=0.0, careful_radius=0.05, careful_scale=0.0)
    op = SimulatedOperator(profile, always=True, seed=0)
    env = make(task, {"controller": "python"})
    env.reset(seed=3)
    state = env.unwrapped.privileged_state()
    focus = np.asarray(state["focus_pos"])
    near = {**state, "ee_pos": focus + np.array([0.0, 0.0, 0.03])}
    far = {**state, "ee_pos": focus + np.array([0.0, 0.0, 0.2])}
    for s in (near, far):
        want, _ = expert_action(s)
        got = op.act(s)
        got = np.asarray(got["action"] if isinstance(got, dict) else got)
        if s is near:
            np.testing.assert_allclose(got, np.clip(want, -1, 1), atol=1e-6)
        else:
            assert np.abs(got - np.clip(want, -1, 1)).max() > 0.05
