"""Default agent configs (ml_collections), one per algorithm.

Every field is documented where it is defined; values follow
``docs/algorithms.md``: [paper] where the SiLRI/HIL-SERL papers fix them, [ref-code]
where the reference implementations do, [choice] where this project decides.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import ml_collections
from ml_collections import config_dict


def _network() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        {
            # MLP trunk widths, Dense -> LayerNorm -> activation [ref-code]
            "hidden_dims": (256, 256),
            # trunk activation: tanh as in HIL-SERL [ref-code]; relu/gelu/swish/elu allowed
            "activation": "tanh",
            # LayerNorm after each Dense of the trunk [ref-code]
            "use_layer_norm": True,
            # width of each per-camera and proprio embedding [ref-code]
            "latent_dim": 256,
            # dropout after the spatial embeddings of each camera [ref-code]
            "dropout_rate": 0.1,
        }
    )


def _encoder() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        {
            # image backbone: "resnet10" (GroupNorm, HIL-SERL) or "small_conv" (CPU/tests)
            "backbone": "resnet10",
            # local file with pretrained backbone weights (.npz, see docs/networks.md);
            # empty: a seeded random init that learner and actor reproduce identically
            "pretrained_path": "",
            # seed of that random init
            "seed": 0,
            # random-shift augmentation padding in pixels; 0 disables [ref-code]
            "augment_pad": 4,
        }
    )


def _common(name: str) -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    # algorithm name (set by the algorithm's config; not an override)
    c.name = name
    c.network = _network()
    c.encoder = _encoder()
    # discount [ref-code]
    c.discount = 0.97
    # Polyak rate of every target network [ref-code]
    c.tau = 0.005
    # global-norm gradient clip; None disables (HIL-SERL uses none) [ref-code]
    c.grad_clip = config_dict.placeholder(float)
    # batch size of one update (half from D_R, half from D_I for mixed agents) [ref-code]
    c.batch_size = 256
    # update-to-data ratio: utd-1 critic-only updates then one full update [ref-code]
    c.utd = 2
    return c


def sac_config() -> ml_collections.ConfigDict:
    """HIL-SERL's SAC with a learned temperature and an optional grasp critic."""
    c = _common("sac")
    # Adam learning rate of the actor [ref-code]
    c.actor_lr = 3e-4
    # Adam learning rate of the critic ensemble [ref-code]
    c.critic_lr = 3e-4
    # Adam learning rate of the entropy temperature [ref-code]
    c.temperature_lr = 3e-4
    # initial temperature [ref-code]
    c.init_temperature = 0.01
    # target entropy as a multiple of the action dimension: -d/2 [ref-code]
    c.target_entropy_scale = -0.5
    # critic ensemble size K [ref-code]
    c.ensemble_size = 2
    # grasp critic (used when the action spec has a gripper) [ref-code]
    c.gripper_lr = 3e-4
    # reward added for each gripper state change, discouraging chattering [ref-code]
    c.grasp_penalty = -0.02
    return c


def silri_config() -> ml_collections.ConfigDict:
    """SiLRI: deterministic actor, behaviour policy, state-wise Lagrange multiplier."""
    c = _common("silri")
    c.grad_clip = 40.0
    # Adam learning rate of the deterministic actor [paper]
    c.actor_lr = 3e-4
    # Adam learning rate of the critic ensemble [paper]
    c.critic_lr = 3e-4
    # Adam learning rate of the behaviour policy beta [paper]
    c.beta_lr = 3e-4
    # Adam learning rate of the Lagrange network: 0.01 x the critic's, which keeps lambda
    # stable [paper]
    c.lagrange_lr = 3e-6
    # Adam learning rate of the gripper head [ref-code]
    c.gripper_lr = 3e-4
    # critic ensemble size K [ref-code]
    c.ensemble_size = 2
    # exploration noise std when acting, clipped into (-1, 1) [ref-code]
    c.exploration_noise = 0.05
    # target-policy smoothing noise std in the critic target [ref-code]
    c.target_noise = 0.05
    # constraint D(s) <= kappa * sigmabar(s) + c: kappa [paper: 6]
    c.kappa = 6.0
    # constraint D(s) <= kappa * sigmabar(s) + c: c [paper: 0.1; ref-code 0.2]
    c.constraint_c = 0.1
    # "squared" ||mu_pi - mu_beta||^2 [paper] or "l2" ||.||_2 [ref-code]
    c.distance = "squared"
    # "mean" over action dims of sigma_beta [paper] or "sum" [ref-code]
    c.sigma_reduction = "mean"
    # beta's uncertainty in the bound: "std" (sigma_beta [ref-code]) or "variance"
    # (sigma_beta^2: ||mu_pi - mu_beta||^2 <= kappa * sigma_beta^2, the paper's bound as
    # summarised; docs/algorithms.md, "The constraint form") [choice]
    c.uncertainty = "std"
    # lambda in every state before learning; None: the zero-initialised last layer's
    # softplus(0) = log 2 [ref-code intent]. Larger starts trusting the human more [choice]
    c.lagrange_init = config_dict.placeholder(float)
    # divide Q in the actor loss by its batch mean |Q| (TD3+BC), so lambda * D weighs the
    # same against it at any reward scale; False: the paper's loss [choice]
    c.normalize_actor_q = False
    # a fixed lambda for every state (ablation / tests); None: the learned network
    c.fixed_lagrange = config_dict.placeholder(float)
    # behaviour policy schedule [paper, ref-code]: pre-train steps on the demos, then
    # `beta_steps` steps each time `beta_every` new intervention transitions entered D_I
    c.pretrain_steps = 500
    # new intervention transitions in D_I between two rounds of beta updates [ref-code]
    c.beta_every = 50
    # beta (behaviour policy) update steps per round [ref-code]
    c.beta_steps = 50
    # update groups at the start of online learning that train the critic only, keeping
    # the pre-trained actor and lambda fixed until the critic has seen online data [choice]
    c.actor_warmup_updates = 0
    # gripper: "classifier" (cross-entropy on interventions) [ref-code] or "grasp_critic"
    c.gripper_head = "classifier"
    # reward added for each gripper state change (grasp_critic head only) [ref-code]
    c.grasp_penalty = -0.02
    return c


def hgdagger_config() -> ml_collections.ConfigDict:
    """HG-DAgger: Gaussian behaviour cloning on D_I (demos + interventions)."""
    c = _common("hgdagger")
    # Adam learning rate of the Gaussian policy [choice]
    c.lr = 3e-4
    # Adam learning rate of the gripper classifier [choice]
    c.gripper_lr = 3e-4
    # acting noise: None samples the Gaussian; evaluation always uses its mean
    return c


def bc_config() -> ml_collections.ConfigDict:
    """BC: as HG-DAgger, trained offline on the demonstrations only."""
    c = hgdagger_config()
    c.name = "bc"
    return c


def sac_bc_config() -> ml_collections.ConfigDict:
    """SAC with a behaviour-cloned start: the actor is pre-trained on the demonstrations
    before online learning, as SiLRI's is, so a comparison gives both the same start."""
    c = sac_config()
    c.name = "sac_bc"
    # steps on the demonstrations before online learning, each a critic and grasp-critic
    # TD step and an actor behaviour-cloning step (the trainer's agent.pretrain_steps sets
    # it, as for SiLRI) [choice]
    c.pretrain_steps = 500
    return c


CONFIGS = {
    "sac": sac_config,
    "sac_bc": sac_bc_config,
    "silri": silri_config,
    "hgdagger": hgdagger_config,
    "bc": bc_config,
}


def get_config(name: str) -> ml_collections.ConfigDict:
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {sorted(CONFIGS)}") from None


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def validate(cfg: ml_collections.ConfigDict, where: str = "") -> None:
    """Refuses agent settings no update can run with, naming the field (``where`` + its
    path), the value and what is allowed: a non-finite or non-positive learning rate would
    otherwise surface as NaN losses minutes later, or as a checkpoint that cannot be
    written."""

    def bad(path: str, value: object, allowed: str) -> ValueError:
        return ValueError(f"{where}{path}={value!r}: must be {allowed}")

    def walk(node: ml_collections.ConfigDict, prefix: str) -> None:
        for key in node:
            value, path = node[key], prefix + key
            if isinstance(value, ml_collections.ConfigDict):
                walk(value, path + ".")
                continue
            if key == "lr" or key.endswith("_lr"):
                if not _is_number(value) or not math.isfinite(value) or value <= 0:
                    raise bad(path, value, "a finite learning rate > 0")
            elif _is_number(value) and not math.isfinite(value):
                raise bad(path, value, "a finite number")

    walk(cfg, "")
    rules: dict[str, tuple[Callable[[float], bool], str]] = {
        "batch_size": (lambda v: v >= 1, "an integer >= 1"),
        "utd": (lambda v: v >= 1, "an integer >= 1"),
        "discount": (lambda v: 0.0 < v <= 1.0, "in (0, 1]"),
        "tau": (lambda v: 0.0 < v <= 1.0, "in (0, 1]"),
        "ensemble_size": (lambda v: v >= 1, "an integer >= 1"),
        "pretrain_steps": (lambda v: v >= 0, ">= 0"),
        "beta_every": (lambda v: v >= 1, "an integer >= 1"),
        "beta_steps": (lambda v: v >= 0, ">= 0"),
        "kappa": (lambda v: v >= 0, ">= 0"),
        "constraint_c": (lambda v: v >= 0, ">= 0"),
        "exploration_noise": (lambda v: v >= 0, ">= 0"),
        "target_noise": (lambda v: v >= 0, ">= 0"),
        "grad_clip": (lambda v: v > 0, "> 0 (or None for no clipping)"),
        "lagrange_init": (lambda v: v > 0, "> 0 (or None for the network's default)"),
        "actor_warmup_updates": (lambda v: v >= 0, ">= 0"),
    }
    for key, (ok, allowed) in rules.items():
        value = cfg.get(key)
        if value is None:
            continue
        if not _is_number(value) or not ok(value):
            raise bad(key, value, allowed)
    choices = {"distance": ("squared", "l2"), "sigma_reduction": ("mean", "sum"),
               "uncertainty": ("std", "variance"),
               "gripper_head": ("classifier", "grasp_critic")}
    for key, allowed_values in choices.items():
        if key in cfg and cfg[key] not in allowed_values:
            raise bad(key, cfg[key], f"one of {list(allowed_values)}")
    dims = tuple(cfg.network.hidden_dims)
    if not dims or any(not isinstance(d, int) or d < 1 for d in dims):
        raise bad("network.hidden_dims", dims, "a non-empty tuple of integers >= 1")
    rate = cfg.network.dropout_rate
    if not _is_number(rate) or not 0.0 <= rate < 1.0:
        raise bad("network.dropout_rate", rate, "in [0, 1)")


# Agent fields a trainer config sets in its own section (``agent.batch_size``, ...), left
# out of the override section so each setting has one place.
TRAINER_FIELDS = ("batch_size", "utd", "pretrain_steps", "network.hidden_dims")


def override_section(algo: str) -> ml_collections.ConfigDict:
    """``algo``'s defaults as a trainer config's agent override section, so every agent
    field is listed by ``--help`` and settable as ``--config.agent.overrides.<field>``.
    ``name`` records which algorithm these defaults are for (see ``apply_overrides``)."""
    cfg = get_config(algo)
    for path in TRAINER_FIELDS:
        *parents, leaf = path.split(".")
        node = cfg
        for p in parents:
            node = node[p]
        if leaf in node:
            del node[leaf]
    return cfg


def _changed(values: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        ref = base.get(key, _MISSING) if isinstance(base, Mapping) else _MISSING
        if isinstance(value, Mapping) and isinstance(ref, Mapping):
            sub = _changed(value, ref)
            if sub:
                out[key] = sub
        elif ref is _MISSING or _as_plain(value) != _as_plain(ref):
            out[key] = value
    return out


_MISSING = object()


def _as_plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple) else value


def apply_overrides(cfg: ml_collections.ConfigDict, overrides: Mapping[str, Any],
                    where: str = "") -> ml_collections.ConfigDict:
    """Applies the fields of ``overrides`` that differ from the defaults of the algorithm
    named by ``overrides["name"]`` (``cfg``'s own when absent): an override section filled
    with one algorithm's defaults carries only the user's changes to another algorithm.
    A changed field ``cfg`` lacks is an error naming it."""
    overrides = overrides.to_dict() if hasattr(overrides, "to_dict") else dict(overrides)
    source = overrides.pop("name", cfg.name)
    if source not in CONFIGS:
        raise ValueError(f"{where}name={source!r}: must be one of {sorted(CONFIGS)}")
    changes = _changed(overrides, get_config(source).to_dict())
    _merge_strict(cfg, changes, where)
    return cfg


def _merge_strict(target: ml_collections.ConfigDict, overrides: Mapping[str, Any],
                  where: str) -> None:
    for key, value in overrides.items():
        if key not in target:
            raise ValueError(f"{where}{key}: the {target.get('name', 'agent')} agent config "
                             f"has no field {key!r}")
        if isinstance(value, Mapping) and isinstance(target[key], ml_collections.ConfigDict):
            _merge_strict(target[key], value, f"{where}{key}.")
        else:
            target[key] = tuple(value) if isinstance(value, list) else value
