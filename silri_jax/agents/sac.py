"""SAC as in HIL-SERL: tanh-Gaussian actor, critic ensemble, learned temperature, and a
grasp critic (double DQN over {open, stay, close}) when the task has a gripper.

The losses are pure functions of the parameters they differentiate (``make_losses``);
the agent wires them into one UTD group: utd-1 critic-only updates, then a full update.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from silri_jax.agents.base import (
    ActorCriticAgent,
    AgentState,
    Metrics,
    Params,
    TDInputs,
    batch_size_of,
    example_normal,
    make_optimizer,
    pmean,
    register,
)
from silri_jax.agents.losses import make_grasp_critic_loss
from silri_jax.networks import CriticEnsemble, DiscreteHead, TanhGaussianActor
from silri_jax.networks.distributions import tanh_gaussian_log_prob_pre_tanh
from silri_jax.specs import Batch


class Temperature(nn.Module):
    """SAC's entropy temperature, parameterised by its log so it stays positive."""

    init_value: float = 0.01

    @nn.compact
    def __call__(self) -> jax.Array:
        log_t = self.param("log_temp", lambda _: jnp.log(jnp.asarray(self.init_value, jnp.float32)))
        return jnp.exp(log_t)


def sample_tanh_gaussian(
    mean: jax.Array, std: jax.Array, noise: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``tanh(mean + std * noise)`` and its log density (``noise`` drawn by the caller)."""
    u = mean + std * noise
    return jnp.tanh(u), tanh_gaussian_log_prob_pre_tanh(u, mean, std)


def make_losses(agent: SacAgent) -> dict[str, Any]:
    """Pure loss functions; each returns (loss, aux metrics)."""
    cfg = agent.config
    actor, critic, temp = (
        agent.modules["actor"],
        agent.modules["critic"],
        agent.modules["temperature"],
    )

    def critic_loss(
        critic_params: Params, target_critic: Params, next_actor: Params, td: TDInputs
    ) -> tuple[jax.Array, Metrics]:
        feats, next_feats, batch, rngs = td.feats, td.next_feats, td.batch, td.rngs
        mean, std = actor.apply({"params": next_actor}, next_feats, True, rngs=rngs)
        next_a, _ = sample_tanh_gaussian(mean, std, td.noise)
        next_q = critic.apply({"params": target_critic}, next_feats, next_a, True, rngs=rngs)
        y = batch["rewards"] + cfg.discount * (1.0 - batch["terminated"]) * jnp.min(next_q, 0)
        y = jax.lax.stop_gradient(y)
        q = critic.apply({"params": critic_params}, feats, batch["actions"], True, rngs=rngs)
        loss = jnp.mean((q - y[None]) ** 2)
        return loss, {"critic_loss": loss, "q_mean": jnp.mean(q), "target_q": jnp.mean(y)}

    def actor_loss(
        actor_params: Params,
        critic_params: Params,
        temperature: jax.Array,
        feats: Mapping,
        noise: jax.Array,
        rngs: dict,
    ) -> tuple[jax.Array, Metrics]:
        mean, std = actor.apply({"params": actor_params}, feats, True, rngs=rngs)
        a, log_prob = sample_tanh_gaussian(mean, std, noise)
        q = jnp.mean(critic.apply({"params": critic_params}, feats, a, True, rngs=rngs), 0)
        loss = jnp.mean(temperature * log_prob - q)
        return loss, {"actor_loss": loss, "entropy": -jnp.mean(log_prob), "actor_q": jnp.mean(q)}

    def temperature_loss(temp_params: Params, entropy: jax.Array) -> tuple[jax.Array, Metrics]:
        t = temp.apply({"params": temp_params})
        target = cfg.target_entropy_scale * agent.action_dim
        loss = t * (entropy - target)
        return loss, {"temperature": t, "temperature_loss": loss}

    def bc_loss(
        actor_params: Params, feats: Mapping, actions: jax.Array, rngs: dict
    ) -> tuple[jax.Array, Metrics]:
        # the squared error of the policy's mode, tanh(mean), as SiLRI's actor BC; the
        # standard deviation is left to the online entropy term
        mean, _ = actor.apply({"params": actor_params}, feats, True, rngs=rngs)
        loss = jnp.mean(jnp.sum((jnp.tanh(mean) - actions) ** 2, -1))
        return loss, {"actor_bc_loss": loss}

    return {"critic": critic_loss, "actor": actor_loss, "temperature": temperature_loss,
            "bc": bc_loss}


@register("sac")
class SacAgent(ActorCriticAgent):
    """HIL-SERL's SAC baseline."""

    batch_source = "mixed"
    actor_networks = ("actor",)

    def _build(self) -> None:
        cfg, net = self.config, self.network_kwargs()
        self.modules = {
            "actor": TanhGaussianActor(**net, action_dim=self.action_dim),
            "critic": CriticEnsemble(cfg.ensemble_size, **net),
            "temperature": Temperature(cfg.init_temperature),
        }
        self.optimizers = {
            "actor": make_optimizer(cfg.actor_lr, cfg.grad_clip),
            "critic": make_optimizer(cfg.critic_lr, cfg.grad_clip),
            "temperature": make_optimizer(cfg.temperature_lr, cfg.grad_clip),
        }
        self.target_names = ("critic",)
        if self.has_gripper:
            self.modules["gripper"] = DiscreteHead(**net)
            self.optimizers["gripper"] = make_optimizer(cfg.gripper_lr, cfg.grad_clip)
            self.target_names = ("critic", "gripper")
            self.actor_networks = ("actor", "gripper")
        self.critic_target_names = self.target_names
        self.losses = make_losses(self)
        self.grasp_loss = make_grasp_critic_loss(self) if self.has_gripper else None

    def next_action_actor(self, state: AgentState) -> Params:
        return state.params["actor"]

    def _full_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, (k_feat,) = self.split_rng(state, 1)
        feats, next_feats = self.batch_features(state, batch, k_feat)
        state, metrics = self._critic_update(state, batch, feats, next_feats)
        state = self.soft_update(state, self.critic_target_names)
        state, (k_noise, k_drop) = self.split_rng(state, 2)
        noise = example_normal(k_noise, batch_size_of(batch), (self.action_dim,), self.axis_name)
        temperature = self.modules["temperature"].apply({"params": state.params["temperature"]})
        state, a_metrics = self.step_network(
            state,
            "actor",
            self.losses["actor"],
            state.params["critic"],
            temperature,
            feats,
            noise,
            self.dropout_rngs(k_drop),
        )
        entropy = pmean(a_metrics["entropy"], self.axis_name)
        state, t_metrics = self.step_network(
            state, "temperature", self.losses["temperature"], jax.lax.stop_gradient(entropy)
        )
        return state, {**metrics, **a_metrics, **t_metrics}

    def _act_from_features(
        self, actor_params: Params, feats: Mapping, key: jax.Array, det: bool
    ) -> tuple[jax.Array, jax.Array | None]:
        mean, std = self.modules["actor"].apply({"params": actor_params["actor"]}, feats)
        if det:
            action = jnp.tanh(mean)
        else:
            action, _ = sample_tanh_gaussian(mean, std, jax.random.normal(key, mean.shape))
        gripper = None
        if self.has_gripper:
            q = self.modules["gripper"].apply({"params": actor_params["gripper"]}, feats)
            gripper = jnp.argmax(q, -1).astype(jnp.int32)
        return action, gripper


@register("sac_bc")
class SacBcAgent(SacAgent):
    """SAC started from the demonstrations, the fair baseline for SiLRI's pre-trained
    start: ``pretrain_steps`` steps on demo batches, each a critic (and grasp-critic) TD
    step with its Polyak step, then a behaviour-cloning step of the actor (without the
    grasp critic learning from the demos, a cloned arm could not close its gripper).
    Online it is plain SAC."""

    def _pretrain_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, metrics = self._critic_step(state, batch)
        state, (k_feat, k_drop) = self.split_rng(state, 2)
        feats = self.features(state.frozen, batch["observations"], k_feat)
        state, bc_metrics = self.step_network(state, "actor", self.losses["bc"], feats,
                                              batch["actions"], self.dropout_rngs(k_drop))
        return state, {**metrics, **bc_metrics}
