"""HG-DAgger and BC: Gaussian behaviour cloning of the human's actions.

HG-DAgger trains on D_I (demonstrations plus every intervention); BC on the
demonstrations only, offline. The policy is ``N(tanh(m(s)), sigma(s)^2)`` fitted by
negative log-likelihood (the reference code's loss, corrected to a proper NLL); a gripper
head, when present, by cross-entropy. No critic.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp

from silri_jax.agents.base import Agent, AgentState, Metrics, Params, make_optimizer, register
from silri_jax.agents.losses import classifier_loss
from silri_jax.networks import DiscreteHead, GaussianPolicy
from silri_jax.networks.distributions import gaussian_log_prob
from silri_jax.specs import Batch


def make_losses(agent: Agent) -> dict[str, Any]:
    m = agent.modules

    def policy_loss(
        params: Params, feats: Mapping, actions: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        mean, std = m["policy"].apply({"params": params}, feats, True, rngs=rngs)
        nll = -jnp.mean(gaussian_log_prob(actions, mean, std))
        mse = jnp.mean(jnp.sum((mean - actions) ** 2, -1))
        return nll, {"policy_nll": nll, "policy_sigma": jnp.mean(std), "policy_mse": mse}

    def gripper_loss(
        params: Params, feats: Mapping, labels: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        logits = m["gripper"].apply({"params": params}, feats, True, rngs=rngs)
        loss = classifier_loss(logits, labels, jnp.ones(labels.shape, jnp.float32))
        return loss, {"gripper_loss": loss}

    return {"policy": policy_loss, "gripper": gripper_loss}


@register("hgdagger")
class HgDaggerAgent(Agent):
    """Behaviour cloning on D_I; every batch in a UTD group is one gradient step."""

    batch_source = "intervention"

    def _build(self) -> None:
        cfg, net = self.config, self.network_kwargs()
        self.modules = {"policy": GaussianPolicy(**net, action_dim=self.action_dim)}
        self.optimizers = {"policy": make_optimizer(cfg.lr, cfg.grad_clip)}
        self.actor_networks = ("policy",)
        if self.has_gripper:
            self.modules["gripper"] = DiscreteHead(**net)
            self.optimizers["gripper"] = make_optimizer(cfg.gripper_lr, cfg.grad_clip)
            self.actor_networks = ("policy", "gripper")
        self.target_names = ()
        self.losses = make_losses(self)

    def _step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, (k_feat, k_drop) = self.split_rng(state, 2)
        feats = self.features(state.frozen, batch["observations"], k_feat)
        rngs = self.dropout_rngs(k_drop)
        state, metrics = self.step_network(
            state, "policy", self.losses["policy"], feats, batch["actions"], rngs
        )
        if self.has_gripper:
            state, gm = self.step_network(
                state, "gripper", self.losses["gripper"], feats, batch["gripper_actions"], rngs
            )
            metrics.update(gm)
        return state, metrics

    def _update_group(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, metrics = jax.lax.scan(self._step, state, batch)
        return state, jax.tree.map(lambda x: x[-1], metrics)

    def _act_from_features(
        self, actor_params: Params, feats: Mapping, key: jax.Array, det: bool
    ) -> tuple[jax.Array, jax.Array | None]:
        mean, std = self.modules["policy"].apply({"params": actor_params["policy"]}, feats)
        if det:
            action = mean
        else:
            bound = 1.0 - 1e-6
            action = jnp.clip(mean + std * jax.random.normal(key, mean.shape), -bound, bound)
        gripper = None
        if self.has_gripper:
            logits = self.modules["gripper"].apply({"params": actor_params["gripper"]}, feats)
            gripper = jnp.argmax(logits, -1).astype(jnp.int32)
        return action, gripper


@register("bc")
class BcAgent(HgDaggerAgent):
    """Offline behaviour cloning on the demonstrations only."""

    batch_source = "demos"
