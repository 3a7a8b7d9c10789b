"""Losses more than one algorithm uses, in one place: algorithms share code through this
module, never through each other.

- ``make_grasp_critic_loss``: the grasp critic's double-DQN loss over {open, stay, close}
  (SAC's gripper; SiLRI with ``gripper_head="grasp_critic"``).
- ``classifier_loss``: masked cross-entropy of the gripper classifier (SiLRI on
  interventions, HG-DAgger and BC on every row).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from silri_jax.agents.base import Agent, Metrics, Params, TDInputs, grasp_penalty
from silri_jax.parallel import bound_axis


def make_grasp_critic_loss(agent: Agent, module_name: str = "gripper"):
    """Double-DQN loss of the grasp critic over {open, stay, close} [ref-code]."""
    head = agent.modules[module_name]
    cfg = agent.config

    def loss_fn(params: Params, target_params: Params, td: TDInputs
                ) -> tuple[jax.Array, Metrics]:
        feats, next_feats, batch, rngs = td.feats, td.next_feats, td.batch, td.rngs
        next_online = head.apply({"params": params}, next_feats, True, rngs=rngs)
        next_a = jnp.argmax(jax.lax.stop_gradient(next_online), -1)
        next_target = head.apply({"params": target_params}, next_feats, True, rngs=rngs)
        next_q = jnp.take_along_axis(next_target, next_a[:, None], -1)[:, 0]
        r = batch["rewards"] + grasp_penalty(batch, cfg.grasp_penalty)
        y = jax.lax.stop_gradient(r + cfg.discount * (1.0 - batch["terminated"]) * next_q)
        q_all = head.apply({"params": params}, feats, True, rngs=rngs)
        q = jnp.take_along_axis(q_all, batch["gripper_actions"][:, None], -1)[:, 0]
        loss = jnp.mean((q - y) ** 2)
        return loss, {"grasp_critic_loss": loss, "grasp_q_mean": jnp.mean(q)}

    return loss_fn


def classifier_loss(logits: jax.Array, labels: jax.Array, mask: jax.Array,
                    axis_name: str | None = None) -> jax.Array:
    """Cross-entropy averaged over the masked examples of the whole batch (0 when none).

    With ``axis_name`` bound, the batch is split over devices whose gradients are averaged:
    each device scales its masked sum by devices / global count, so the average is the
    global masked mean even when the devices hold different numbers of masked examples
    (a mixed batch puts the D_R rows on the first devices, the D_I rows on the last)."""
    ce = optax.softmax_cross_entropy_with_integer_labels(logits, labels)
    axis = bound_axis(axis_name)
    count = jax.lax.psum(jnp.sum(mask), axis) if axis else jnp.sum(mask)
    devices = jax.lax.psum(1, axis) if axis else 1
    return devices * jnp.sum(ce * mask) / jnp.maximum(count, 1.0)
