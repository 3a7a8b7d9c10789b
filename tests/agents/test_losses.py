"""Each loss equals the value computed by hand (numpy, from the spec's formulas) on a tiny
fixed batch. Network outputs come from the modules themselves; what is checked is the
loss arithmetic: targets, reductions, masks, stop-gradients and signs."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from conftest import build, fixed_batch

from silri_jax import specs
from silri_jax.agents.base import TDInputs

GAMMA = 0.97


def _apply(agent, state, name, *args, params=None):
    p = state.params[name] if params is None else params
    return np.asarray(agent.modules[name].apply({"params": p}, *args))


def test_sac_critic_actor_temperature_losses(state_spec):
    agent, st = build("sac", state_spec)
    b = fixed_batch(state_spec)
    obs, nobs = b["observations"], b["next_observations"]
    noise = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)

    # critic: y = r + g (1 - term) min_k Qbar(s', a'), a' = tanh(m + s * eps); mean over K and B
    m, s = (
        np.asarray(x) for x in agent.modules["actor"].apply({"params": st.params["actor"]}, nobs)
    )
    a_next = np.tanh(m + s * noise)
    q_next = _apply(agent, st, "critic", nobs, a_next, params=st.target_params["critic"])
    y = b["rewards"] + GAMMA * (1 - b["terminated"]) * q_next.min(0)
    q = _apply(agent, st, "critic", obs, b["actions"])
    expected = np.mean((q - y[None]) ** 2)
    # SAC's a' comes from the online actor
    assert agent.next_action_actor(st) is st.params["actor"]
    loss, _ = agent.losses["critic"](
        st.params["critic"], st.target_params["critic"], st.params["actor"],
        TDInputs(obs, nobs, b, noise, {})
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-5)
    # truncation bootstraps: changing the truncated flags changes nothing
    b2 = dict(b, truncated=np.ones(4, np.float32))
    loss2, _ = agent.losses["critic"](
        st.params["critic"], st.target_params["critic"], st.params["actor"],
        TDInputs(obs, nobs, b2, noise, {})
    )
    np.testing.assert_allclose(loss2, loss, rtol=1e-6)

    # actor: E[alpha log pi(a|s) - mean_k Q(s, a)]
    m, s = (
        np.asarray(x) for x in agent.modules["actor"].apply({"params": st.params["actor"]}, obs)
    )
    u = m + s * noise
    a = np.tanh(u)
    logp = np.sum(-0.5 * noise**2 - np.log(s) - 0.5 * math.log(2 * math.pi), -1) - np.sum(
        np.log(1 - a**2), -1
    )
    alpha = 0.01
    qa = _apply(agent, st, "critic", obs, a).mean(0)
    expected = np.mean(alpha * logp - qa)
    loss, aux = agent.losses["actor"](
        st.params["actor"], st.params["critic"], alpha, obs, noise, {}
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-4)
    np.testing.assert_allclose(aux["entropy"], -logp.mean(), rtol=1e-4)

    # temperature: alpha * (entropy - target), target = -d/2
    loss, _ = agent.losses["temperature"](st.params["temperature"], jnp.float32(1.5))
    np.testing.assert_allclose(loss, 0.01 * (1.5 - (-1.0)), rtol=1e-5)


def test_grasp_critic_double_dqn_loss():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    agent, st = build("sac", spec)
    b = fixed_batch(spec)
    obs, nobs = b["observations"], b["next_observations"]
    online_next = _apply(agent, st, "gripper", nobs)
    target_next = _apply(agent, st, "gripper", nobs, params=st.target_params["gripper"])
    a_star = online_next.argmax(-1)
    penalty = np.where(b["gripper_actions"] != specs.GRIPPER_STAY, -0.02, 0.0)
    y = b["rewards"] + penalty + GAMMA * (1 - b["terminated"]) * target_next[np.arange(4), a_star]
    q = _apply(agent, st, "gripper", obs)[np.arange(4), b["gripper_actions"]]
    loss, _ = agent.grasp_loss(st.params["gripper"], st.target_params["gripper"],
                               TDInputs(obs, nobs, b, None, {}))
    np.testing.assert_allclose(loss, np.mean((q - y) ** 2), rtol=1e-5)


@pytest.mark.parametrize(
    ("distance", "reduction", "c"), [("squared", "mean", 0.1), ("l2", "sum", 0.2)]
)
def test_silri_losses(state_spec, distance, reduction, c):
    agent, st = build("silri", state_spec, distance=distance, sigma_reduction=reduction)
    agent.config.constraint_c = c
    b = fixed_batch(state_spec)
    obs, nobs = b["observations"], b["next_observations"]
    noise = np.random.default_rng(2).normal(size=(4, 2)).astype(np.float32)

    # critic: TD3 smoothing, no entropy, sum over members of the batch mean
    a_next = _apply(agent, st, "actor", nobs, params=st.target_params["actor"]) + 0.05 * noise
    q_next = _apply(agent, st, "critic", nobs, a_next, params=st.target_params["critic"])
    y = b["rewards"] + GAMMA * (1 - b["terminated"]) * q_next.min(0)
    q = _apply(agent, st, "critic", obs, b["actions"])
    expected = np.sum(np.mean((q - y[None]) ** 2, axis=1))
    # SiLRI's a' comes from the target actor (TD3)
    assert agent.next_action_actor(st) is st.target_params["actor"]
    loss, _ = agent.losses["critic"](
        st.params["critic"], st.target_params["critic"], st.target_params["actor"],
        TDInputs(obs, nobs, b, noise, {})
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-5)

    # actor: E[(-min_k Q(s, mu) + lam D) / (1 + lam)]
    lam = np.array([0.0, 0.5, 2.0, 10.0], np.float32)
    mu_beta = np.random.default_rng(3).uniform(-1, 1, (4, 2)).astype(np.float32)
    mu = _apply(agent, st, "actor", obs)
    sq = np.sum((mu - mu_beta) ** 2, -1)
    d = sq if distance == "squared" else np.sqrt(sq)
    qmin = _apply(agent, st, "critic", obs, mu).min(0)
    expected = np.mean((-qmin + lam * d) / (1 + lam))
    loss, aux = agent.losses["actor"](
        st.params["actor"], st.params["critic"], lam, mu_beta, obs, {}
    )
    np.testing.assert_allclose(loss, expected, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        aux["actor_rl_term"] + aux["actor_bc_term"], expected, rtol=1e-4, atol=1e-6
    )

    # lambda: -E[lambda(s) * violation]; initial lambda is softplus(0) = log 2 everywhere
    violation = np.array([1.0, -2.0, 0.5, 0.0], np.float32)
    lam0 = _apply(agent, st, "lagrange", obs)
    np.testing.assert_allclose(lam0, np.log(2.0) * np.ones(4), rtol=1e-6)
    loss, _ = agent.losses["lagrange"](st.params["lagrange"], violation, obs, {})
    np.testing.assert_allclose(loss, -np.mean(lam0 * violation), rtol=1e-6)

    # beta: Gaussian NLL of the human action, summed over dims, mean over batch
    mb, sb = (
        np.asarray(x) for x in agent.modules["beta"].apply({"params": st.params["beta"]}, obs)
    )
    z = (b["actions"] - mb) / sb
    nll = -np.mean(np.sum(-0.5 * z**2 - np.log(sb) - 0.5 * math.log(2 * math.pi), -1))
    loss, _ = agent.losses["beta"](st.params["beta"], obs, b["actions"], {})
    np.testing.assert_allclose(loss, nll, rtol=1e-5)

    # sigmabar reduction and distance helpers
    from silri_jax.agents.silri import action_distance, reduce_sigma

    np.testing.assert_allclose(action_distance(mu, mu_beta, distance), d, rtol=1e-5)
    expected_sb = sb.mean(-1) if reduction == "mean" else sb.sum(-1)
    np.testing.assert_allclose(reduce_sigma(sb, reduction), expected_sb, rtol=1e-6)


def test_silri_lagrange_init_sets_lambda_in_every_state(state_spec):
    """``lagrange_init`` starts every state at that multiplier, and it still learns."""
    agent, st = build("silri", state_spec, lagrange_init=10.0)
    obs = fixed_batch(state_spec)["observations"]
    lam0 = _apply(agent, st, "lagrange", obs)
    np.testing.assert_allclose(lam0, 10.0 * np.ones(4), rtol=1e-5)
    jitted = jax.jit(agent.lagrange_values)(st.params["lagrange"], obs)  # as in the update
    np.testing.assert_allclose(jitted, lam0, rtol=1e-6)
    violation = np.array([1.0, -2.0, 0.5, 0.0], np.float32)
    grads = jax.grad(agent.losses["lagrange"], has_aux=True)(
        st.params["lagrange"], violation, obs, {})[0]
    assert float(np.abs(grads["out"]["bias"]).sum()) > 0.0
    with pytest.raises(ValueError, match="initial lambda must be > 0"):
        build("silri", state_spec, lagrange_init=0.0)


def test_silri_normalized_actor_q(state_spec):
    """``normalize_actor_q``: Q over its batch mean |Q| in the actor loss, and that scale
    is a constant (no gradient flows through it)."""
    agent, st = build("silri", state_spec, normalize_actor_q=True)
    obs = fixed_batch(state_spec)["observations"]
    lam = np.array([0.0, 0.5, 2.0, 10.0], np.float32)
    mu_beta = np.random.default_rng(3).uniform(-1, 1, (4, 2)).astype(np.float32)
    mu = _apply(agent, st, "actor", obs)
    d = np.sum((mu - mu_beta) ** 2, -1)
    qmin = _apply(agent, st, "critic", obs, mu).min(0)
    expected = np.mean((-qmin / np.mean(np.abs(qmin)) + lam * d) / (1 + lam))
    loss, _ = agent.losses["actor"](st.params["actor"], st.params["critic"], lam, mu_beta, obs, {})
    np.testing.assert_allclose(loss, expected, rtol=1e-4, atol=1e-6)

    def by_hand(critic_params):
        q = jnp.min(agent.modules["critic"].apply({"params": critic_params}, obs,
                                                   jnp.asarray(mu)), 0)
        scale = jax.lax.stop_gradient(jnp.mean(jnp.abs(q)))
        return jnp.mean((-q / scale + lam * d) / (1 + lam))

    want = jax.grad(by_hand)(st.params["critic"])
    got = jax.grad(lambda c: agent.losses["actor"](st.params["actor"], c, lam, mu_beta, obs,
                                                   {})[0])(st.params["critic"])
    for g, w in zip(jax.tree.leaves(got), jax.tree.leaves(want), strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-4, atol=1e-6)


def test_silri_gripper_classifier_counts_interventions_only():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    agent, st = build("silri", spec)
    b = fixed_batch(spec)
    logits = _apply(agent, st, "gripper", b["observations"])
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    ce = -logp[np.arange(4), b["gripper_actions"]]
    mask = b["is_intervention"]
    loss, _ = agent.losses["gripper"](
        st.params["gripper"], b["observations"], b["gripper_actions"], mask, {}
    )
    np.testing.assert_allclose(loss, np.sum(ce * mask) / mask.sum(), rtol=1e-5)


@pytest.mark.parametrize("name", ["hgdagger", "bc"])
def test_bc_losses(state_spec, name):
    agent, st = build(name, state_spec)
    b = fixed_batch(state_spec)
    obs = b["observations"]
    m, s = (
        np.asarray(x) for x in agent.modules["policy"].apply({"params": st.params["policy"]}, obs)
    )
    z = (b["actions"] - m) / s
    nll = -np.mean(np.sum(-0.5 * z**2 - np.log(s) - 0.5 * math.log(2 * math.pi), -1))
    loss, aux = agent.losses["policy"](st.params["policy"], obs, b["actions"], {})
    np.testing.assert_allclose(loss, nll, rtol=1e-5)
    np.testing.assert_allclose(
        aux["policy_mse"], np.mean(np.sum((m - b["actions"]) ** 2, -1)), rtol=1e-5
    )


def test_each_optimizer_sees_only_its_network(state_spec):
    agent, st = build("silri", state_spec)
    b = fixed_batch(state_spec, utd=2)
    before = jax.tree.map(np.asarray, st.params)
    st2, _ = agent.update(st, b)
    # beta is not trained by the ordinary update: byte-identical
    for x, y in zip(
        jax.tree.leaves(before["beta"]), jax.tree.leaves(st2.params["beta"]), strict=True
    ):
        np.testing.assert_array_equal(x, y)
    # every other network changed
    for name in ("actor", "critic", "lagrange"):
        diffs = [
            np.abs(x - np.asarray(y)).max()
            for x, y in zip(
                jax.tree.leaves(before[name]), jax.tree.leaves(st2.params[name]), strict=True
            )
        ]
        assert max(diffs) > 0, name
    assert set(st2.opt_states) == set(st2.params)


def test_silri_variance_bound_uses_beta_variance(state_spec):
    """``uncertainty="variance"``: the multiplier's bound is kappa * sigma_beta^2 (reduced
    over action dims), the paper's form as summarised; "std" keeps sigma_beta."""
    from silri_jax.agents.silri import reduce_sigma

    sb = np.array([[0.1, 0.3], [0.5, 0.2]], np.float32)
    np.testing.assert_allclose(reduce_sigma(sb, "mean", "variance"), (sb**2).mean(-1),
                               rtol=1e-6)
    np.testing.assert_allclose(reduce_sigma(sb, "sum", "variance"), (sb**2).sum(-1),
                               rtol=1e-6)
    np.testing.assert_allclose(reduce_sigma(sb, "mean"), sb.mean(-1), rtol=1e-6)
    with pytest.raises(ValueError, match="uncertainty"):
        reduce_sigma(sb, "mean", "stdev")
    with pytest.raises(ValueError, match=r"config\.uncertainty"):
        build("silri", state_spec, uncertainty="stdev")

    # in the update: the logged sigmabar is beta's variance, reduced as configured
    agent, st = build("silri", state_spec, uncertainty="variance")
    b = fixed_batch(state_spec, utd=1)
    obs = jax.tree.map(lambda x: x[0], b["observations"])
    _, sigma = agent.modules["beta"].apply({"params": st.params["beta"]}, obs)
    expected = float(np.mean(np.mean(np.asarray(sigma) ** 2, -1)))
    _, metrics = agent.update(jax.tree.map(np.copy, st), b)
    np.testing.assert_allclose(float(metrics["sigmabar_mean"]), expected, rtol=1e-4)
