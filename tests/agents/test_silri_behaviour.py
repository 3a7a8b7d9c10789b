"""SiLRI's defining behaviours (docs/algorithms.md, 'What correct means')."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from conftest import build, fixed_batch, tiny_config

from silri_jax import specs
from silri_jax.agents import make_agent
from silri_jax.agents.silri import BetaSchedule


def _two_state_features():
    a = np.array([[1.0, 0.0, 0.0]], np.float32)
    b = np.array([[0.0, 0.0, 1.0]], np.float32)
    return {"state": np.concatenate([a, b])}


def test_lambda_rises_where_violated_and_decays_where_held(state_spec):
    agent, st = build("silri", state_spec)
    feats = _two_state_features()
    violation = jnp.array([1.0, -1.0])  # state 0 violates the constraint, state 1 holds
    opt = optax.adam(1e-2)
    params = st.params["lagrange"]
    opt_state = opt.init(params)
    lam0 = agent.modules["lagrange"].apply({"params": params}, feats)
    for _ in range(30):
        g, _ = jax.grad(agent.losses["lagrange"], has_aux=True)(params, violation, feats, {})
        upd, opt_state = opt.update(g, opt_state)
        params = optax.apply_updates(params, upd)
    lam = agent.modules["lagrange"].apply({"params": params}, feats)
    assert lam[0] > lam0[0] + 0.05
    assert lam[1] < lam0[1] - 0.05
    assert np.all(np.asarray(lam) >= 0)


def test_lambda_zero_gives_the_pure_rl_actor_gradient(state_spec):
    agent, st = build("silri", state_spec)
    obs = fixed_batch(state_spec)["observations"]
    mu_beta = jnp.asarray(np.random.default_rng(0).uniform(-1, 1, (4, 2)), jnp.float32)

    def rl_only(p):
        mu = agent.modules["actor"].apply({"params": p}, obs)
        q = agent.modules["critic"].apply({"params": st.params["critic"]}, obs, mu)
        return -jnp.mean(jnp.min(q, 0))

    g_rl = jax.grad(rl_only)(st.params["actor"])
    g, _ = jax.grad(agent.losses["actor"], has_aux=True)(
        st.params["actor"], st.params["critic"], jnp.zeros(4), mu_beta, obs, {}
    )
    for x, y in zip(jax.tree.leaves(g), jax.tree.leaves(g_rl), strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-7)


def test_huge_lambda_pulls_the_actor_onto_mu_beta(state_spec):
    agent, st = build("silri", state_spec, fixed_lagrange=1e6, actor_lr=3e-3)
    b = fixed_batch(state_spec, n=32, utd=2)
    obs = jax.tree.map(lambda x: x[0], b["observations"])
    for _ in range(150):
        st, m = agent.update(st, b)
    mu = agent.modules["actor"].apply({"params": st.params["actor"]}, obs)
    mu_beta, _ = agent.behavior(st.params["beta"], obs)
    d0 = float(
        jnp.mean(
            jnp.sum(
                (
                    agent.modules["actor"].apply(
                        {"params": build("silri", state_spec)[1].params["actor"]}, obs
                    )
                    - mu_beta
                )
                ** 2,
                -1,
            )
        )
    )
    d = float(jnp.mean(jnp.sum((mu - mu_beta) ** 2, -1)))
    assert d < 0.03 * d0, (d, d0)
    assert float(m["lambda_mean"]) == 1e6


def test_beta_sigma_is_larger_where_the_human_disagrees():
    spec = specs.state_env_spec(3, 2)
    cfg = tiny_config("silri")
    cfg.network.hidden_dims = (32, 32)
    agent = make_agent(cfg, spec)
    st = agent.init(jax.random.PRNGKey(0))
    rng = np.random.default_rng(0)
    n = 64
    # half the states: a consistent human (0.5, -0.5); the other half: random actions
    s_agree = np.tile([[1.0, 0.0, 0.0]], (n // 2, 1)) + 0.01 * rng.normal(size=(n // 2, 3))
    s_disagree = np.tile([[0.0, 0.0, 1.0]], (n // 2, 1)) + 0.01 * rng.normal(size=(n // 2, 3))
    a_agree = np.tile([[0.5, -0.5]], (n // 2, 1)) + 0.01 * rng.normal(size=(n // 2, 2))
    a_disagree = rng.uniform(-0.9, 0.9, size=(n // 2, 2))
    batch = specs.example_batch(spec, n)
    batch["observations"]["state"] = np.concatenate([s_agree, s_disagree]).astype(np.float32)
    batch["actions"] = np.concatenate([a_agree, a_disagree]).astype(np.float32)
    steps = jax.tree.map(lambda x: np.stack([x] * 400), batch)
    st, _ = agent.update_behavior(st, steps)
    _, sigma = agent.behavior(st.params["beta"], batch["observations"])
    sig_agree = float(jnp.mean(sigma[: n // 2]))
    sig_disagree = float(jnp.mean(sigma[n // 2 :]))
    assert sig_disagree > 3 * sig_agree, (sig_agree, sig_disagree)
    assert int(st.counters["beta_updates"]) == 400


def test_beta_schedule_counts_new_interventions():
    sched = BetaSchedule(every=50, steps=50)
    assert sched.observe(49) == 0
    assert sched.observe(1) == 50
    assert sched.observe(120) == 100  # two rounds, 20 carried over
    assert sched.pending == 20
    restored = BetaSchedule(50, 50)
    restored.load_state_dict(sched.state_dict())
    assert restored.observe(30) == 50


def test_ordinary_update_never_trains_beta_but_update_behavior_does(state_spec):
    agent, st = build("silri", state_spec)
    b = fixed_batch(state_spec, utd=2)
    beta0 = jax.tree.map(np.asarray, st.params["beta"])
    for _ in range(3):
        st, _ = agent.update(st, b)
    for x, y in zip(jax.tree.leaves(beta0), jax.tree.leaves(st.params["beta"]), strict=True):
        np.testing.assert_array_equal(x, y)
    assert int(st.counters["beta_updates"]) == 0
    st, _ = agent.update_behavior(st, fixed_batch(state_spec, utd=5))
    assert int(st.counters["beta_updates"]) == 5
    changed = any(
        np.abs(x - np.asarray(y)).max() > 0
        for x, y in zip(jax.tree.leaves(beta0), jax.tree.leaves(st.params["beta"]), strict=True)
    )
    assert changed


def test_both_constraint_forms_and_gripper_heads_run():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    for overrides in (
        {"distance": "squared", "sigma_reduction": "mean", "gripper_head": "classifier"},
        {"distance": "l2", "sigma_reduction": "sum", "gripper_head": "grasp_critic"},
    ):
        agent, st = build("silri", spec, **overrides)
        st, m = agent.update(st, fixed_batch(spec, utd=2))
        assert all(np.isfinite(np.asarray(v)) for v in m.values()), overrides
        st, m = agent.pretrain(st, fixed_batch(spec, utd=3))
        assert np.isfinite(float(m["beta_nll"]))


def test_actor_warmup_trains_the_critic_only_then_releases_the_actor(state_spec):
    agent, st = build("silri", state_spec, actor_warmup_updates=2)
    b = fixed_batch(state_spec, utd=2)
    actor0 = jax.tree.map(np.asarray, st.params["actor"])
    critic0 = jax.tree.map(np.asarray, st.params["critic"])
    for _ in range(2):
        st, _ = agent.update(st, b)
    for x, y in zip(jax.tree.leaves(actor0), jax.tree.leaves(st.params["actor"]), strict=True):
        np.testing.assert_array_equal(x, y)
    assert any(
        np.abs(x - np.asarray(y)).max() > 0
        for x, y in zip(jax.tree.leaves(critic0), jax.tree.leaves(st.params["critic"]), strict=True)
    )
    st, _ = agent.update(st, b)
    assert any(
        np.abs(x - np.asarray(y)).max() > 0
        for x, y in zip(jax.tree.leaves(actor0), jax.tree.leaves(st.params["actor"]), strict=True)
    )
