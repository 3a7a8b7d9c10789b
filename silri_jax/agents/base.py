"""What every agent shares: its state pytree, per-network optimizers, feature extraction,
per-example randomness that is independent of the device count, and the UTD scan.

An agent is a Python object holding static structure (modules, optimizers, config) and
pure jitted functions over an ``AgentState`` pytree:

    state = agent.init(rng)
    state, metrics = agent.update(state, batch)      # batch leaves: [utd, B, ...]
    state, metrics = agent.pretrain(state, batch)    # batch leaves: [steps, B, ...]
    actor_params = agent.actor_params(state)         # only what an actor needs
    action, gripper = agent.act(actor_params, obs, rng, deterministic)

``update``, ``pretrain`` and ``update_behavior`` donate the state passed in (no copy of
every network per step): use only the returned state afterwards, and take actor
parameters anew (``actor_params``, copied to the host if an actor thread keeps them).

Pixel batches may stay in the replay's stored form (``yuv420``: half the bytes of RGB to
move host->device, and no host decode): pass the buffer's decoder along,

    batch, decoder = replay.sample(rng, B, utd, decode=False)
    state, metrics = agent.update(state, batch, decoder)

and the compiled entry point decodes the frames first thing, on each device's shard. The
decode is integer arithmetic that matches the host decoder bit for bit, so the update is
the one a host-decoded batch would give. Without a decoder (or for state-only specs) the
entry point is exactly the plain one, with no decode op.
"""

from __future__ import annotations

import abc
import dataclasses
import functools
import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import chex
import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.networks.encoders import apply_backbone, make_backbone, random_shift
from silri_jax.parallel import (
    AXIS,
    data_parallel,
    data_parallel_sampled,
    example_keys,
    make_mesh,
    place_replicated,
)
from silri_jax.specs import GRIPPER_STAY, IMAGE_PREFIX, Batch, EnvSpec, example_batch

Params = Any
Metrics = dict[str, jax.Array]
BatchFn = Callable[[Any, Any], tuple[Any, Any]]


@flax.struct.dataclass
class AgentState:
    """The whole learner state of one agent; a pytree, so it jits, shards and checkpoints.

    ``params`` / ``opt_states`` are keyed by network name; ``target_params`` holds the
    Polyak-averaged copies; ``frozen`` the frozen image backbone (loaded once from a
    file or initialised from the config seed, never optimised); ``counters`` integer
    counters such as the number of behaviour-policy updates.
    """

    params: dict[str, Params]
    target_params: dict[str, Params]
    opt_states: dict[str, Any]
    frozen: dict[str, Params]
    rng: jax.Array
    step: jax.Array
    counters: dict[str, jax.Array]


class TDInputs(NamedTuple):
    """Everything a temporal-difference loss reads besides the parameters it
    differentiates and the targets it bootstraps from, named so that every agent's critic
    and grasp-critic loss takes the same arguments in the same order."""

    feats: Mapping
    """encoded observations of the batch (``batch_features``)"""
    next_feats: Mapping
    """encoded next observations"""
    batch: Batch
    """the batch itself (rewards, terminated, actions, gripper_actions, ...)"""
    noise: jax.Array
    """per-example standard normal [B, action_dim] for the next action (SAC's
    reparameterised sample, SiLRI's target smoothing)"""
    rngs: dict
    """dropout rngs of the step"""


def make_optimizer(lr: float, grad_clip: float | None) -> optax.GradientTransformation:
    """Adam, optionally preceded by a global-norm clip. One per network."""
    parts = []
    if grad_clip is not None and grad_clip > 0:
        parts.append(optax.clip_by_global_norm(grad_clip))
    parts.append(optax.adam(lr))
    return optax.chain(*parts)


def polyak(target: Params, online: Params, tau: float) -> Params:
    return jax.tree.map(lambda t, o: (1.0 - tau) * t + tau * o, target, online)


def example_normal(
    key: jax.Array, n_local: int, shape: tuple[int, ...], axis_name: str | None
) -> jax.Array:
    keys = example_keys(key, n_local, axis_name)
    return jax.vmap(lambda k: jax.random.normal(k, shape))(keys)


def pmean(tree: Any, axis_name: str | None) -> Any:
    return jax.lax.pmean(tree, axis_name) if axis_name else tree


def batch_size_of(batch: Batch) -> int:
    return batch["actions"].shape[0]


def grasp_penalty(batch: Batch, penalty: float) -> jax.Array:
    """Per-transition gripper penalty: the env's ``grasp_penalty`` field when present,
    otherwise ``penalty`` whenever the gripper command was not 'stay'."""
    if "grasp_penalty" in batch:
        return batch["grasp_penalty"]
    return jnp.where(batch["gripper_actions"] != GRIPPER_STAY, penalty, 0.0)


class Agent(abc.ABC):
    """The interface every algorithm implements (see the module docstring)."""

    name: str = "agent"
    #: which buffers the learner samples ``update`` batches from:
    #: "mixed" (half D_R, half D_I), "intervention" (D_I only) or "demos".
    batch_source: str = "mixed"

    def __init__(
        self,
        config: ml_collections.ConfigDict,
        spec: EnvSpec,
        devices: Sequence[jax.Device] | None = None,
    ) -> None:
        self.config = config
        self.spec = spec
        self.action_dim = spec.action.dim
        self.has_gripper = spec.action.has_gripper
        self.has_images = bool(spec.observation.image_keys)
        self.backbone = make_backbone(config.encoder.backbone) if self.has_images else None
        # Every update runs under shard_map over the local devices (N=1 included), so the
        # losses see a named axis for gradient averaging.
        self.mesh = make_mesh(devices)
        self.num_devices = int(self.mesh.devices.size)
        self.axis_name: str | None = AXIS
        # Every entry point that takes a batch, by name; ``_build`` may add its own.
        self._batch_fns: dict[str, BatchFn] = {"update": self._update, "pretrain": self._pretrain}
        # Set by a multi-process learner's process 0 (``runtime.follower.Leader``): called
        # with (entry point, batch, decoder) before each batch entry point runs, it hands
        # the batch to every process and returns it as the global array they all use.
        self.batch_hook: Callable[[str, Batch, ObservationDecoder | None], Batch] | None = None
        self._build()
        # Compiled per (entry point, decoder): None is the plain, already-decoded form.
        self._compiled: dict[tuple[str, ObservationDecoder | None], BatchFn] = {}
        self._jit_act = jax.jit(self._act, static_argnames=("deterministic",))

    # ---- to implement -------------------------------------------------------------------
    @abc.abstractmethod
    def _build(self) -> None:
        """Creates ``self.modules`` (name -> flax module, called on features) and
        ``self.optimizers`` (name -> optax transformation) and ``self.target_names``."""

    @abc.abstractmethod
    def _update_group(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        """One UTD group; ``batch`` leaves are [utd, B_local, ...]."""

    @abc.abstractmethod
    def _act_from_features(
        self, actor_params: Params, feats: Mapping[str, jax.Array], key: jax.Array, det: bool
    ) -> tuple[jax.Array, jax.Array | None]:
        """Continuous action [B, d] and gripper command [B] (or None)."""

    #: networks an actor needs (exported by ``actor_params``)
    actor_networks: tuple[str, ...] = ()

    def _pretrain_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        raise ValueError(f"agent {self.name!r} has no pre-training")

    def _init_args(self, name: str, feats: Any) -> tuple:
        if name == "critic":
            return (feats, jnp.zeros((1, self.action_dim)))
        if name == "temperature":
            return ()
        return (feats,)

    # ---- construction ---------------------------------------------------------------------
    def init(self, rng: jax.Array) -> AgentState:
        """Initialises every network, its optimizer state and the targets."""
        rng, *keys = jax.random.split(rng, len(self.modules) + 1)
        feats = self._dummy_features()
        params = {}
        for (name, module), key in zip(sorted(self.modules.items()), keys, strict=True):
            params[name] = self._init_module(name, module, key, feats)
        opt_states = {n: self.optimizers[n].init(params[n]) for n in params}
        targets = {n: jax.tree.map(jnp.copy, params[n]) for n in self.target_names}
        state = AgentState(
            params=params,
            target_params=targets,
            opt_states=opt_states,
            # A copy: the entry points donate the state, and the cached backbone must
            # outlive it (``act`` and every later ``init`` read the cache).
            frozen=jax.tree.map(jnp.copy, self._init_frozen()),
            rng=rng,
            step=jnp.zeros((), jnp.int32),
            counters={k: jnp.zeros((), jnp.int32) for k in self.counter_names},
        )
        # Replicated over the mesh from the start, as the update returns it: one compile.
        return place_replicated(state, self.mesh)

    counter_names: tuple[str, ...] = ()

    def _init_module(self, name: str, module: nn.Module, key: jax.Array, feats: Any) -> Params:
        args = self._init_args(name, feats)
        return module.init({"params": key, "dropout": key}, *args)["params"]

    def _dummy_features(self) -> dict[str, jax.Array]:
        obs = jax.tree.map(jnp.asarray, example_batch(self.spec, 1)["observations"])
        if not self.has_images:
            return obs
        frozen = self._init_frozen()
        return apply_backbone(self.backbone, frozen["backbone"], obs)

    def _init_frozen(self) -> dict[str, Params]:
        if not self.has_images:
            return {}
        cached = getattr(self, "_frozen_cache", None)
        if cached is not None:
            return cached
        path = self.config.encoder.get("pretrained_path", "")
        if path:
            from silri_jax.networks.pretrained import load_backbone_params

            params = load_backbone_params(pathlib.Path(path), self.backbone)
        else:
            # No file: a seeded init that the actor reproduces exactly from the same config.
            h, w, _ = next(
                s.shape
                for k, s in self.spec.observation.entries.items()
                if k.startswith(IMAGE_PREFIX)
            )
            params = self.backbone.init(
                jax.random.PRNGKey(self.config.encoder.seed), jnp.zeros((1, h, w, 3), jnp.uint8)
            )["params"]
        self._frozen_cache = {"backbone": params}
        return self._frozen_cache

    # ---- shared pieces ----------------------------------------------------------------------
    def features(
        self,
        state_frozen: Mapping,
        obs: Mapping[str, jax.Array],
        key: jax.Array | None,
        parts: int = 1,
    ) -> dict[str, jax.Array]:
        """Backbone features of ``obs`` (random-shift augmented when ``key`` is given).

        ``parts``: the leading axis is that many equal blocks, each one a batch split over
        the devices (``batch_features`` passes obs and next obs as two); each block's
        shifts are keyed by global position within the block, so they do not depend on
        how many devices share the batch.
        """
        if not self.has_images:
            return dict(obs)
        obs = dict(obs)
        if key is not None and self.config.encoder.augment_pad > 0:
            for i, k in enumerate(sorted(k for k in obs if k.startswith(IMAGE_PREFIX))):
                keys = self._block_keys(jax.random.fold_in(key, i), obs[k].shape[0], parts)
                obs[k] = jax.vmap(random_shift, in_axes=(0, 0, None))(
                    keys, obs[k], self.config.encoder.augment_pad
                )
        feats = apply_backbone(self.backbone, state_frozen["backbone"], obs)
        return jax.tree.map(jax.lax.stop_gradient, feats)

    def _block_keys(self, key: jax.Array, n_local: int, parts: int) -> jax.Array:
        if parts == 1:
            return example_keys(key, n_local, self.axis_name)
        if n_local % parts:
            raise ValueError(f"{n_local} rows do not split into {parts} equal blocks")
        per = n_local // parts
        return jnp.concatenate([example_keys(jax.random.fold_in(key, p), per, self.axis_name)
                                for p in range(parts)])

    def batch_features(
        self, state: AgentState, batch: Batch, key: jax.Array
    ) -> tuple[dict[str, jax.Array], dict[str, jax.Array]]:
        """Features of obs and next obs from ONE backbone pass over both."""
        n = batch_size_of(batch)
        both = jax.tree.map(
            lambda a, b: jnp.concatenate([a, b], 0),
            dict(batch["observations"]),
            dict(batch["next_observations"]),
        )
        feats = self.features(state.frozen, both, key if self.has_images else None, parts=2)
        return (
            jax.tree.map(lambda x: x[:n], feats),
            jax.tree.map(lambda x: x[n:], feats),
        )

    def dropout_rngs(self, key: jax.Array) -> dict[str, jax.Array]:
        """The same key on every device: the encoders fold in each example's global
        position (``network_kwargs``' ``dropout_axis``), so the masks do not depend on
        the device count."""
        return {"dropout": key}

    def network_kwargs(self) -> dict[str, Any]:
        """``config.network`` for the heads, plus the axis their dropout masks are keyed
        along."""
        return {**dict(self.config.network), "dropout_axis": self.axis_name}

    def apply_grads(
        self, state: AgentState, name: str, grads: Params
    ) -> tuple[AgentState, jax.Array]:
        """Averages grads over devices and steps ``name``'s own optimizer on them."""
        grads = pmean(grads, self.axis_name)
        updates, opt_state = self.optimizers[name].update(
            grads, state.opt_states[name], state.params[name]
        )
        params = optax.apply_updates(state.params[name], updates)
        state = state.replace(
            params={**state.params, name: params},
            opt_states={**state.opt_states, name: opt_state},
        )
        return state, optax.tree.norm(grads)

    def step_network(
        self, state: AgentState, name: str, loss_fn: Callable[..., Any], *args: Any,
        grad_norm: bool = True,
    ) -> tuple[AgentState, Metrics]:
        """One gradient step of network ``name`` on ``loss_fn(params[name], *args)``;
        returns the loss's metrics plus ``<name>_grad_norm`` unless ``grad_norm`` is off
        (the norm is not free: see SiLRI's multiplier step)."""
        grads, metrics = jax.grad(loss_fn, has_aux=True)(state.params[name], *args)
        state, norm = self.apply_grads(state, name, grads)
        if grad_norm:
            metrics[f"{name}_grad_norm"] = norm
        return state, metrics

    def soft_update(self, state: AgentState, names: tuple[str, ...]) -> AgentState:
        tau = self.config.tau
        targets = dict(state.target_params)
        for n in names:
            targets[n] = polyak(targets[n], state.params[n], tau)
        return state.replace(target_params=targets)

    def split_rng(self, state: AgentState, n: int) -> tuple[AgentState, list[jax.Array]]:
        rng, *keys = jax.random.split(state.rng, n + 1)
        return state.replace(rng=rng), keys

    # ---- public API ---------------------------------------------------------------------------
    def _update(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        chex.assert_rank(batch["actions"], 3)
        chex.assert_axis_dimension(batch["actions"], 2, self.action_dim)
        state, metrics = self._update_group(state, batch)
        return state.replace(step=state.step + 1), pmean(metrics, self.axis_name)

    def update(
        self, state: AgentState, batch: Batch, decoder: ObservationDecoder | None = None
    ) -> tuple[AgentState, Metrics]:
        """One UTD group (``batch`` leaves [utd, B, ...]) as one compiled call; with
        ``decoder`` the images are in its stored form and are decoded inside that call."""
        return self.call_batch_fn("update", state, batch, decoder)

    def _pretrain(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        chex.assert_rank(batch["actions"], 3)
        state, metrics = jax.lax.scan(self._pretrain_step, state, batch)
        return state, pmean(jax.tree.map(jnp.mean, metrics), self.axis_name)

    def pretrain(
        self, state: AgentState, batch: Batch, decoder: ObservationDecoder | None = None
    ) -> tuple[AgentState, Metrics]:
        """Pre-training steps on demonstrations (``batch`` leaves [steps, B, ...]); images
        stored as ``decoder`` stores them when it is given (see ``update``)."""
        return self.call_batch_fn("pretrain", state, batch, decoder)

    # ---- batch entry points: plain or decoding ----------------------------------------------
    def call_batch_fn(
        self,
        name: str,
        state: AgentState,
        batch: Batch,
        decoder: ObservationDecoder | None = None,
    ) -> tuple[AgentState, Metrics]:
        """Runs entry point ``name`` (``update``, ``pretrain``, ...) compiled for batches
        stored by ``decoder``; checks the image leaves' shapes first so a batch in the
        wrong form fails here, naming the camera, not deep inside a trace."""
        if name not in self._batch_fns:
            raise ValueError(f"agent {self.name!r} has no batch entry point {name!r}")
        if decoder is not None and not decoder.image_shapes:
            decoder = None  # nothing to decode: the plain compiled function, no decode op
        if decoder is not None:
            self._check_decoder(decoder)
        self._check_image_leaves(batch, decoder)
        if self.batch_hook is not None:
            batch = self.batch_hook(name, batch, decoder)
        key = (name, decoder)
        fn = self._compiled.get(key)
        if fn is None:
            body = self._batch_fns[name]
            if decoder is not None:
                body = functools.partial(_decode_then, body, decoder)
            fn = self._compiled[key] = data_parallel(body, self.mesh)
        return fn(state, batch)

    def sampled_entry(
        self,
        name: str,
        sample: Callable[[Any, jax.Array], Batch],
        decoder: ObservationDecoder | None = None,
    ) -> Callable[[AgentState, Any, jax.Array, Any], tuple[AgentState, Metrics]]:
        """Entry point ``name`` compiled together with the draw of its batch.

        Returns ``fn(state, storage, key, step) -> (state, metrics)``, where
        ``sample(storage, fold_in(key, step))`` gives the [utd, B, ...] batch inside the
        same compiled call (images in ``decoder``'s stored form when it is given). Used with
        replay kept on the accelerator (``silri_jax.data.DeviceMixedSampler``), so an
        update moves no batch across the host link; the result equals ``update`` on the
        same batch. Keep the returned function: each call of this method compiles anew.
        """
        if name not in self._batch_fns:
            raise ValueError(f"agent {self.name!r} has no batch entry point {name!r}")
        if self.batch_hook is not None:
            raise ValueError("a batch drawn inside the compiled call cannot be shared with "
                             "the other processes: keep the replay on the host")
        if decoder is not None and not decoder.image_shapes:
            decoder = None
        body = self._batch_fns[name]
        if decoder is not None:
            self._check_decoder(decoder)
            body = functools.partial(_decode_then, body, decoder)
        return data_parallel_sampled(body, sample, self.mesh)

    def _image_shapes(self) -> tuple[tuple[str, tuple[int, ...]], ...]:
        entries = self.spec.observation.entries
        return tuple((k, entries[k].shape) for k in self.spec.observation.image_keys)

    def _check_decoder(self, decoder: ObservationDecoder) -> None:
        if tuple(sorted(decoder.image_shapes)) != tuple(sorted(self._image_shapes())):
            raise ValueError(
                f"decoder cameras {dict(decoder.image_shapes)} differ from the agent's spec "
                f"{dict(self._image_shapes())}"
            )

    def _check_image_leaves(self, batch: Batch, decoder: ObservationDecoder | None) -> None:
        for field in ("observations", "next_observations"):
            obs = batch.get(field)
            if not isinstance(obs, Mapping):
                raise ValueError(f"batch lacks the {field!r} dict")
            for key, shape in self._image_shapes():
                if key not in obs:
                    raise ValueError(f"batch {field} lacks camera {key!r}")
                want = decoder.codec.stored_shape(shape) if decoder else tuple(shape)
                form = f"{decoder.codec_name}-stored" if decoder else "decoded"
                x = obs[key]
                if tuple(x.shape[-len(want) :]) != want or np.dtype(x.dtype) != np.uint8:
                    hint = "" if decoder else " (stored frames need the buffer's decoder)"
                    raise ValueError(
                        f"batch {field}[{key!r}] is {np.dtype(x.dtype)} {tuple(x.shape)}; the "
                        f"{form} form of {tuple(shape)} is uint8 [..., {want}]{hint}"
                    )

    @property
    def has_pretraining(self) -> bool:
        return type(self)._pretrain_step is not Agent._pretrain_step

    def beta_schedule(self) -> Any | None:
        """When behaviour-policy steps are due (``BetaSchedule``), for agents that have a
        behaviour policy trained online (SiLRI); None for the others."""
        return None

    def actor_params(self, state: AgentState) -> dict[str, Params]:
        """Only what an actor needs: no critics, no optimizer state, no frozen backbone."""
        return {n: state.params[n] for n in self.actor_networks}

    def _act(
        self,
        frozen: Mapping,
        actor_params: Mapping,
        obs: Mapping[str, jax.Array],
        key: jax.Array,
        deterministic: bool,
    ) -> tuple[jax.Array, jax.Array | None]:
        feats = self.features(frozen, obs, None)
        return self._act_from_features(actor_params, feats, key, deterministic)

    def act(
        self,
        actor_params: Mapping,
        obs: Mapping[str, Any],
        rng: jax.Array,
        deterministic: bool = False,
    ) -> tuple[np.ndarray, np.ndarray | None]:
        """Actions for a batch of observations (leaves [B, ...]); the frozen backbone comes
        from this agent object, loaded once, never over the wire."""
        frozen = self._init_frozen()
        return self._jit_act(frozen, actor_params, dict(obs), rng, deterministic=deterministic)


def _decode_then(
    fn: BatchFn, decoder: ObservationDecoder, state: AgentState, batch: Batch
) -> tuple[AgentState, Metrics]:
    """``fn`` on ``batch`` with its stored images decoded (traced inside the compiled,
    sharded entry point, so each device decodes only its own examples)."""
    for field in ("observations", "next_observations"):
        for key, shape in decoder.image_shapes:
            x = batch[field][key]
            chex.assert_type(x, jnp.uint8)
            chex.assert_shape(x, (..., *decoder.codec.stored_shape(shape)))
    batch = decoder.jax(batch)
    for field in ("observations", "next_observations"):
        for key, shape in decoder.image_shapes:
            chex.assert_shape(batch[field][key], (..., *shape))
    return fn(state, batch)


class ActorCriticAgent(Agent):
    """Agents whose UTD group is ``utd - 1`` critic-only updates, then one full update.

    ``critic_target_names`` are the targets Polyak-averaged after every critic update.
    """

    critic_target_names: tuple[str, ...] = ("critic",)
    grasp_loss: Callable[..., tuple[jax.Array, Metrics]] | None = None
    """the grasp critic's loss (``losses.make_grasp_critic_loss``) when the agent has one"""

    @abc.abstractmethod
    def next_action_actor(self, state: AgentState) -> Params:
        """The actor parameters that choose a' in the critic's target (SAC: the online
        actor; SiLRI, like TD3: the target actor)."""

    def _critic_update(
        self, state: AgentState, batch: Batch, feats: Mapping, next_feats: Mapping
    ) -> tuple[AgentState, Metrics]:
        """The critic's gradient step, then the grasp critic's, on precomputed features
        (no Polyak step). Every agent's ``losses["critic"]`` is
        ``(critic_params, target_critic, next_actor, TDInputs)``."""
        state, (k_noise, k_drop) = self.split_rng(state, 2)
        noise = example_normal(k_noise, batch_size_of(batch), (self.action_dim,), self.axis_name)
        td = TDInputs(feats, next_feats, batch, noise, self.dropout_rngs(k_drop))
        state, metrics = self.step_network(
            state, "critic", self.losses["critic"], state.target_params["critic"],
            self.next_action_actor(state), td)
        if self.grasp_loss is not None:
            state, grasp_metrics = self.step_network(
                state, "gripper", self.grasp_loss, state.target_params["gripper"], td)
            metrics.update(grasp_metrics)
        return state, metrics

    @abc.abstractmethod
    def _full_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        """Critic, then actor, then the rest, on one batch."""

    def _critic_step(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        state, (k_feat,) = self.split_rng(state, 1)
        feats, next_feats = self.batch_features(state, batch, k_feat)
        state, metrics = self._critic_update(state, batch, feats, next_feats)
        return self.soft_update(state, self.critic_target_names), metrics

    def _update_group(self, state: AgentState, batch: Batch) -> tuple[AgentState, Metrics]:
        if batch["actions"].shape[0] > 1:
            state, _ = jax.lax.scan(self._critic_step, state, jax.tree.map(lambda x: x[:-1], batch))
        return self._full_step(state, jax.tree.map(lambda x: x[-1], batch))


@dataclasses.dataclass
class Registry:
    factories: dict[str, Callable[..., Agent]] = dataclasses.field(default_factory=dict)


AGENTS = Registry()


def register(name: str) -> Callable[[type[Agent]], type[Agent]]:
    def deco(cls: type[Agent]) -> type[Agent]:
        AGENTS.factories[name] = cls
        cls.name = name
        return cls

    return deco


def make_agent(
    config: ml_collections.ConfigDict,
    spec: EnvSpec,
    devices: Sequence[jax.Device] | None = None,
) -> Agent:
    """Builds the agent named by ``config.name`` for the given specs and devices."""
    try:
        cls = AGENTS.factories[config.name]
    except KeyError:
        raise ValueError(
            f"unknown agent {config.name!r}; choose one of {sorted(AGENTS.factories)}"
        ) from None
    return cls(config, spec, devices)
