"""SiLRI: state-wise Lagrangian RL from suboptimal interventions.

Four learned functions: a deterministic actor ``mu_pi``, a critic ensemble ``Q``, a
behaviour policy ``beta = N(mu_beta, sigma_beta^2)`` fitted to the human's actions, and a
state-wise multiplier ``lambda(s)``. The actor maximises Q subject to staying within
``kappa * sigmabar_beta(s) + c`` of the human where the human is consistent; lambda is
the dual variable of that constraint, learned per state.

Update order in a full update: critic -> actor (lambda before its step) -> lambda (actor
after its step) -> Polyak. beta is not updated every step: the learner calls
``update_behavior`` each time ``beta_every`` new intervention transitions have arrived.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from silri_jax.agents.base import (
    ActorCriticAgent,
    AgentState,
    Metrics,
    Params,
    TDInputs,
    make_optimizer,
    pmean,
    register,
)
from silri_jax.agents.losses import classifier_loss, make_grasp_critic_loss
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.networks import (
    CriticEnsemble,
    DeterministicActor,
    DiscreteHead,
    GaussianPolicy,
    LagrangeNetwork,
)
from silri_jax.networks.distributions import gaussian_log_prob
from silri_jax.parallel import bound_axis
from silri_jax.specs import Batch


def action_distance(mu_pi: jax.Array, mu_beta: jax.Array, form: str) -> jax.Array:
    """D(s): squared L2 [paper] or L2 [ref-code] between the actor and the human mean."""
    sq = jnp.sum((mu_pi - mu_beta) ** 2, -1)
    if form == "squared":
        return sq
    if form == "l2":
        return jnp.sqrt(sq + 1e-12)
    raise ValueError(f"unknown distance {form!r}; choose 'squared' or 'l2'")


def reduce_sigma(sigma: jax.Array, form: str, uncertainty: str = "std") -> jax.Array:
    """sigmabar(s): mean [paper] or sum [ref-code] over action dims of beta's standard
    deviation (``uncertainty="std"`` [ref-code]) or of its variance (``"variance"``: the
    bound ``||mu_pi - mu_beta||^2 <= kappa * sigma_beta^2`` as the paper is summarised)."""
    if uncertainty == "variance":
        sigma = jnp.square(sigma)
    elif uncertainty != "std":
        raise ValueError(f"unknown uncertainty {uncertainty!r}; choose 'std' or 'variance'")
    if form == "mean":
        return jnp.mean(sigma, -1)
    if form == "sum":
        return jnp.sum(sigma, -1)
    raise ValueError(f"unknown sigma reduction {form!r}; choose 'mean' or 'sum'")


def make_losses(agent: SilriAgent) -> dict[str, Any]:
    cfg = agent.config
    m = agent.modules

    def critic_loss(
        critic_params: Params, target_critic: Params, next_actor: Params, td: TDInputs
    ) -> tuple[jax.Array, Metrics]:
        feats, next_feats, batch, rngs = td.feats, td.next_feats, td.batch, td.rngs
        next_a = m["actor"].apply({"params": next_actor}, next_feats, True, rngs=rngs)
        next_a = next_a + cfg.target_noise * td.noise
        next_q = m["critic"].apply({"params": target_critic}, next_feats, next_a, True, rngs=rngs)
        y = batch["rewards"] + cfg.discount * (1.0 - batch["terminated"]) * jnp.min(next_q, 0)
        y = jax.lax.stop_gradient(y)
        q = m["critic"].apply({"params": critic_params}, feats, batch["actions"], True, rngs=rngs)
        loss = jnp.sum(jnp.mean((q - y[None]) ** 2, axis=1))
        return loss, {"critic_loss": loss, "q_mean": jnp.mean(q), "target_q": jnp.mean(y)}

    def actor_loss(
        actor_params: Params,
        critic_params: Params,
        lam: jax.Array,
        mu_beta: jax.Array,
        feats: Mapping,
        rngs: dict,
    ) -> tuple[jax.Array, Metrics]:
        mu = m["actor"].apply({"params": actor_params}, feats, True, rngs=rngs)
        q = jnp.min(m["critic"].apply({"params": critic_params}, feats, mu, True, rngs=rngs), 0)
        if cfg.normalize_actor_q:
            # Q in units of its batch mean magnitude (as TD3+BC): the imitation term then
            # weighs the same against the critic whatever the reward scale.
            scale = pmean(jnp.mean(jnp.abs(q)), bound_axis(agent.axis_name))  # whole batch
            q = q / jax.lax.stop_gradient(jnp.maximum(scale, 1e-3))
        d = action_distance(mu, mu_beta, cfg.distance)
        loss = jnp.mean((-q + lam * d) / (1.0 + lam))
        return loss, {
            "actor_loss": loss,
            "actor_rl_term": jnp.mean(-q / (1.0 + lam)),
            "actor_bc_term": jnp.mean(lam * d / (1.0 + lam)),
            "actor_q": jnp.mean(q),
        }

    def lagrange_loss(
        lagrange_params: Params, violation: jax.Array, feats: Mapping, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        lam = m["lagrange"].apply({"params": lagrange_params}, feats, True, rngs=rngs)
        loss = -jnp.mean(lam * violation)
        return loss, {"lagrange_loss": loss}

    def beta_loss(
        beta_params: Params, feats: Mapping, actions: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        mean, std = m["beta"].apply({"params": beta_params}, feats, True, rngs=rngs)
        nll = -jnp.mean(gaussian_log_prob(actions, mean, std))
        return nll, {"beta_nll": nll, "beta_sigma": jnp.mean(std)}

    def bc_loss(
        actor_params: Params, feats: Mapping, actions: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        mu = m["actor"].apply({"params": actor_params}, feats, True, rngs=rngs)
        loss = jnp.mean(jnp.sum((mu - actions) ** 2, -1))
        return loss, {"actor_bc_loss": loss}

    def gripper_loss(
        params: Params, feats: Mapping, labels: jax.Array, mask: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        logits = m["gripper"].apply({"params": params}, feats, True, rngs=rngs)
        loss = classifier_loss(logits, labels, mask, agent.axis_name)
        return loss, {"gripper_loss": loss}

    return {
        "critic": critic_loss,
        "actor": actor_loss,
        "lagrange": lagrange_loss,
        "beta": beta_loss,
        "bc": bc_loss,
        "gripper": gripper_loss,
    }


def keep_during_warmup(
    before: AgentState, after: AgentState, warming_up: jax.Array, names: tuple[str, ...]
) -> AgentState:
    """``after`` with networks ``names`` (params and optimizer state) reset to ``before``
    while ``warming_up`` is true; a select, so it stays inside the compiled update."""

    def pick(old: Any, new: Any) -> Any:
        return jax.tree.map(lambda o, n: jnp.where(warming_up, o, n), old, new)

    params, opts = dict(after.params), dict(after.opt_states)
    for n in names:
        params[n] = pick(before.params[n], after.params[n])
        opts[n] = pick(before.opt_states[n], after.opt_states[n])
    return after.replace(params=params, opt_states=opts)


class BetaSchedule:
    """When beta trains: ``steps`` NLL steps each time ``every`` new intervention
    transitions have entered D_I [paper, ref-code]. Never on the ordinary update."""

    def __init__(self, every: int, steps: int) -> None:
        if every <= 0 or steps <= 0:
            raise ValueError(f"beta schedule needs every > 0 and steps > 0, got {every}, {steps}")
        self.every, self.steps = every, steps
        self.pending = 0

    def observe(self, new_intervention_transitions: int) -> int:
        """Counts arrivals; returns how many beta steps are due now (a multiple of steps)."""
        self.pending += int(new_intervention_transitions)
        rounds, self.pending = divmod(self.pending, self.every)
        return rounds * self.steps

    def state_dict(self) -> dict[str, int]:
        return {"pending": self.pending}

    def load_state_dict(self, d: dict[str, int]) -> None:
        self.pending = int(d["pending"])


@register("silri")
class SilriAgent(ActorCriticAgent):
    """SiLRI (see the module docstring)."""

    batch_source = "mixed"
    counter_names = ("beta_updates",)

    def _build(self) -> None:
        cfg, net = self.config, self.network_kwargs()
        if cfg.distance not in ("squared", "l2"):
            raise ValueError(f"config.distance must be 'squared' or 'l2', got {cfg.distance!r}")
        if cfg.sigma_reduction not in ("mean", "sum"):
            raise ValueError(
                f"config.sigma_reduction must be 'mean' or 'sum', got {cfg.sigma_reduction!r}"
            )
        if cfg.uncertainty not in ("std", "variance"):
            raise ValueError(
                f"config.uncertainty must be 'std' or 'variance', got {cfg.uncertainty!r}"
            )
        if cfg.gripper_head not in ("classifier", "grasp_critic"):
            raise ValueError(
                f"config.gripper_head must be 'classifier' or 'grasp_critic', "
                f"got {cfg.gripper_head!r}"
            )
        self.modules = {
            "actor": DeterministicActor(**net, action_dim=self.action_dim),
            "critic": CriticEnsemble(cfg.ensemble_size, **net),
            "beta": GaussianPolicy(**net, action_dim=self.action_dim),
            "lagrange": LagrangeNetwork(**net, init_value=cfg.lagrange_init),
        }
        self.optimizers = {
            "actor": make_optimizer(cfg.actor_lr, cfg.grad_clip),
            "critic": make_optimizer(cfg.critic_lr, cfg.grad_clip),
            "beta": make_optimizer(cfg.beta_lr, cfg.grad_clip),
            "lagrange": make_optimizer(cfg.lagrange_lr, cfg.grad_clip),
        }
        self.target_names: tuple[str, ...] = ("critic", "actor")
        self.actor_networks = ("actor",)
        if self.has_gripper:
            self.modules["gripper"] = DiscreteHead(**net)
            self.optimizers["gripper"] = make_optimizer(cfg.gripper_lr, cfg.grad_clip)
            self.actor_networks = ("actor", "gripper")
            if cfg.gripper_head == "grasp_critic":
                self.target_names = ("critic", "actor", "gripper")
                self.critic_target_names = ("critic", "gripper")
        self.losses = make_losses(self)
        self.grasp_loss = (
            make_grasp_critic_loss(self)
            if self.has_gripper and cfg.gripper_head == "grasp_critic"
            else None
        )
        self._batch_fns["update_behavior"] = self._update_behavior

    # ---- pieces -----------------------------------------------------------------------------
    def lagrange_values(
        self, params: Params, feats: Mapping, rngs: dict | None = None
    ) -> jax.Array:
        """lambda(s) from the network, or the configured constant."""
        fixed = self.config.fixed_lagrange
        if fixed is not None:
            n = next(iter(feats.values())).shape[0]
            return jnp.full((n,), fixed, jnp.float32)
        return self.modules["lagrange"].apply(
            {"params": params}, feats, rngs is not None, rngs=rngs
        )

    def behavior(self, params: Params, feats: Mapping) -> tuple[jax.Array, jax.Array]:
        return self.modules["beta"].apply({"params": params}, feats)

    def next_action_actor(self, state: AgentState) -> Params:
        return state.target_params["actor"]

    def _gripper_classifier_step(
        self, state: AgentState, feats: Mapping, labels: jax.Array, mask: jax.Array, rngs: dict
    ) -> tuple[AgentState, Metrics]:
        return self.step_network(
            state, "gripper", self.losses["gripper"], feats, labels, mask, rngs
        )

    def _full_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        cfg = self.config
        state, (k_feat, k_drop) = self.split_rng(state, 2)
        feats, next_feats = self.batch_features(state, batch, k_feat)
        state, metrics = self._critic_update(state, batch, feats, next_feats)
        rngs = self.dropout_rngs(k_drop)

        before = state
        # Actor: lambda (before its step) and mu_beta held fixed.
        lam = jax.lax.stop_gradient(self.lagrange_values(state.params["lagrange"], feats))
        mu_beta, sigma_beta = jax.lax.stop_gradient(self.behavior(state.params["beta"], feats))
        state, a_metrics = self.step_network(
            state, "actor", self.losses["actor"], state.params["critic"], lam, mu_beta, feats, rngs
        )

        # Lambda: constraint evaluated with the actor after its step.
        mu_new = self.modules["actor"].apply({"params": state.params["actor"]}, feats)
        d = action_distance(mu_new, mu_beta, cfg.distance)
        sigmabar = reduce_sigma(sigma_beta, cfg.sigma_reduction, cfg.uncertainty)
        violation = jax.lax.stop_gradient(d - cfg.kappa * sigmabar - cfg.constraint_c)
        if cfg.fixed_lagrange is None:
            # No lagrange_grad_norm: reporting it cost 15 % of the state learner's update
            # rate on the CPU (benchmarks/learner_throughput.py, 45 vs 38 groups/s), and
            # lambda_* and constraint_violation_frac already show what the step does.
            state, l_metrics = self.step_network(
                state, "lagrange", self.losses["lagrange"], violation, feats, rngs,
                grad_norm=False,
            )
            a_metrics.update(l_metrics)

        if self.has_gripper and self.grasp_loss is None:
            # cross-entropy on the human's gripper commands only [ref-code]
            state, gm = self._gripper_classifier_step(
                state, feats, batch["gripper_actions"], batch["is_intervention"], rngs
            )
            a_metrics.update(gm)

        if cfg.actor_warmup_updates > 0:
            # The first update groups train the critic only: the pre-trained actor (and
            # lambda) wait until the critic has seen online data instead of following the
            # gradient of a critic that knows nothing yet.
            state = keep_during_warmup(
                before, state, state.step < cfg.actor_warmup_updates, ("actor", "lagrange")
            )
        state = self.soft_update(state, self.target_names)
        a_metrics.update(
            {
                "lambda_mean": jnp.mean(lam),
                "lambda_p90": jnp.percentile(lam, 90.0),
                "lambda_max": jnp.max(lam),
                "constraint_violation_frac": jnp.mean((violation > 0).astype(jnp.float32)),
                "distance_mean": jnp.mean(d),
                "sigmabar_mean": jnp.mean(sigmabar),
            }
        )
        return state, {**metrics, **a_metrics}

    # ---- behaviour policy and pre-training ---------------------------------------------------
    def _beta_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, (k_feat, k_drop) = self.split_rng(state, 2)
        feats = self.features(state.frozen, batch["observations"], k_feat)
        state, metrics = self.step_network(
            state, "beta", self.losses["beta"], feats, batch["actions"], self.dropout_rngs(k_drop)
        )
        counters = {**state.counters, "beta_updates": state.counters["beta_updates"] + 1}
        return state.replace(counters=counters), metrics

    def _update_behavior(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, metrics = jax.lax.scan(self._beta_step, state, batch)
        return state, pmean(jax.tree.map(jnp.mean, metrics), self.axis_name)

    def update_behavior(
        self, state: AgentState, batch: Batch, decoder: ObservationDecoder | None = None
    ) -> tuple[AgentState, Metrics]:
        """``beta_steps`` NLL steps on D_I batches (leaves [steps, B, ...]); the learner
        calls it each time ``beta_every`` new intervention transitions have arrived.
        Images may be in ``decoder``'s stored form (see ``Agent.update``)."""
        return self.call_batch_fn("update_behavior", state, batch, decoder)

    def beta_schedule(self) -> BetaSchedule:
        return BetaSchedule(self.config.beta_every, self.config.beta_steps)

    def _pretrain_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, metrics = self._beta_step(state, batch)
        state, (k_feat, k_drop) = self.split_rng(state, 2)
        feats = self.features(state.frozen, batch["observations"], k_feat)
        rngs = self.dropout_rngs(k_drop)
        state, bc_metrics = self.step_network(
            state, "actor", self.losses["bc"], feats, batch["actions"], rngs
        )
        metrics.update(bc_metrics)
        if self.has_gripper and self.grasp_loss is None:
            state, gm = self._gripper_classifier_step(
                state, feats, batch["gripper_actions"], jnp.ones_like(batch["rewards"]), rngs
            )
            metrics.update(gm)
        # The target actor starts from the pre-trained actor.
        targets = {**state.target_params, "actor": state.params["actor"]}
        return state.replace(target_params=targets), metrics

    # ---- acting -------------------------------------------------------------------------------
    def _act_from_features(
        self, actor_params: Params, feats: Mapping, key: jax.Array, det: bool
    ) -> tuple[jax.Array, jax.Array | None]:
        mu = self.modules["actor"].apply({"params": actor_params["actor"]}, feats)
        if det:
            action = mu
        else:
            noise = self.config.exploration_noise * jax.random.normal(key, mu.shape)
            bound = 1.0 - 1e-6
            action = jnp.clip(mu + noise, -bound, bound)
        gripper = None
        if self.has_gripper:
            out = self.modules["gripper"].apply({"params": actor_params["gripper"]}, feats)
            gripper = jnp.argmax(out, -1).astype(jnp.int32)
        return action, gripper
