"""SAC with a behaviour-cloned start (``sac_bc``), the fair baseline for SiLRI's
pre-trained start: pre-training clones the demonstrations into the actor and trains the
critic and grasp critic on them; plain SAC has no pre-training; online both are SAC."""

from __future__ import annotations

import jax
import numpy as np
from conftest import build, fixed_batch

from silri_jax import specs


def _mode(agent, st, obs):
    mean, _ = agent.modules["actor"].apply({"params": st.params["actor"]}, obs)
    return np.tanh(np.asarray(mean))


def test_only_sac_bc_pretrains():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    assert build("sac_bc", spec)[0].has_pretraining
    assert not build("sac", spec)[0].has_pretraining


def test_pretraining_clones_the_demos_and_trains_both_critics():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    agent, st0 = build("sac_bc", spec)
    demos = fixed_batch(spec, n=8, seed=5, utd=200)  # 200 steps on the same 8 demos
    obs, actions = demos["observations"], demos["actions"][0]
    before = np.mean(np.sum((_mode(agent, st0, jax.tree.map(lambda x: x[0], obs))
                             - actions) ** 2, -1))
    st, metrics = agent.pretrain(jax.tree.map(np.copy, st0), demos)
    after = np.mean(np.sum((_mode(agent, st, jax.tree.map(lambda x: x[0], obs))
                            - actions) ** 2, -1))
    assert after < 0.1 * before, (before, after)
    assert {"actor_bc_loss", "critic_loss", "grasp_critic_loss"} <= set(metrics)
    for name in ("critic", "gripper"):  # trained, and their targets followed (Polyak)
        moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))),
                             st.params[name], st0.params[name])
        assert max(jax.tree.leaves(moved)) > 0
        followed = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))),
                                st.target_params[name], st0.target_params[name])
        assert max(jax.tree.leaves(followed)) > 0
    # the temperature is left to online learning
    for a, b in zip(jax.tree.leaves(st.params["temperature"]),
                    jax.tree.leaves(st0.params["temperature"]), strict=True):
        np.testing.assert_array_equal(a, b)
