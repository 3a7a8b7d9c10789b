"""Default agent configs (ml_collections), one per algorithm.

Every field is documented where it is defined; values follow
``docs/algorithms.md``: [paper] where the SiLRI/HIL-SERL papers fix them, [ref-code]
where the reference implementations do, [choice] where this project decides.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict


def _network() -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(
        {
            # MLP trunk widths, Dense -> LayerNorm -> activation [ref-code]
            "hidden_dims": (256, 256),
            # trunk activation: tanh as in HIL-SERL [ref-code]; relu/gelu/swish/elu allowed
            "activation": "tanh",
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
    c.actor_lr = 3e-4
    c.critic_lr = 3e-4
    c.temperature_lr = 3e-4
    # initial temperature [ref-code]
    c.init_temperature = 0.01
    # target entropy as a multiple of the action dimension: -d/2 [ref-code]
    c.target_entropy_scale = -0.5
    # critic ensemble size K [ref-code]
    c.ensemble_size = 2
    # grasp critic (used when the action spec has a gripper) [ref-code]
    c.gripper_lr = 3e-4
    c.grasp_penalty = -0.02
    return c


def silri_config() -> ml_collections.ConfigDict:
    """SiLRI: deterministic actor, behaviour policy, state-wise Lagrange multiplier."""
    c = _common("silri")
    c.grad_clip = 40.0
    # learning rates [paper]: lambda is 0.01 x the critic rate, which keeps it stable
    c.actor_lr = 3e-4
    c.critic_lr = 3e-4
    c.beta_lr = 3e-4
    c.lagrange_lr = 3e-6
    c.gripper_lr = 3e-4
    c.ensemble_size = 2
    # exploration noise std when acting, clipped into (-1, 1) [ref-code]
    c.exploration_noise = 0.05
    # target-policy smoothing noise std in the critic target [ref-code]
    c.target_noise = 0.05
    # constraint D(s) <= kappa * sigmabar(s) + c [paper: kappa 6, c 0.1; ref-code c 0.2]
    c.kappa = 6.0
    c.constraint_c = 0.1
    # "squared" ||mu_pi - mu_beta||^2 [paper] or "l2" ||.||_2 [ref-code]
    c.distance = "squared"
    # "mean" over action dims of sigma_beta [paper] or "sum" [ref-code]
    c.sigma_reduction = "mean"
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
    c.beta_every = 50
    c.beta_steps = 50
    # update groups at the start of online learning that train the critic only, keeping
    # the pre-trained actor and lambda fixed until the critic has seen online data [choice]
    c.actor_warmup_updates = 0
    # gripper: "classifier" (cross-entropy on interventions) [ref-code] or "grasp_critic"
    c.gripper_head = "classifier"
    c.grasp_penalty = -0.02
    return c


def hgdagger_config() -> ml_collections.ConfigDict:
    """HG-DAgger: Gaussian behaviour cloning on D_I (demos + interventions)."""
    c = _common("hgdagger")
    c.lr = 3e-4
    c.gripper_lr = 3e-4
    # acting noise: None samples the Gaussian; evaluation always uses its mean
    return c


def bc_config() -> ml_collections.ConfigDict:
    """BC: as HG-DAgger, trained offline on the demonstrations only."""
    c = hgdagger_config()
    c.name = "bc"
    return c


CONFIGS = {
    "sac": sac_config,
    "silri": silri_config,
    "hgdagger": hgdagger_config,
    "bc": bc_config,
}


def get_config(name: str) -> ml_collections.ConfigDict:
    try:
        return CONFIGS[name]()
    except KeyError:
        raise ValueError(f"unknown algorithm {name!r}; choose one of {sorted(CONFIGS)}") from None
