"""Config of the actor-learner runtime (``silri_jax.learner``, ``.actor``, ``.launch``).

Pick a named variant after a colon and override any field with absl flags:

    python -m silri_jax.launch --config=configs/train.py:silri_pick_cube_state \\
        --config.agent.batch_size=64 --num_actors=2

A key that does not exist (``--config.agent.batchsize=64``) is an error naming the key.
The learner and every actor must load the same ``agent`` and ``task`` sections: their
digest is the config hash checked at the handshake. ``runtime`` may differ per process.

Variants: silri_pick_cube_state (default), silri_pick_cube_pixels, sac_pick_cube_state,
hgdagger_pick_cube_state, silri_insert_peg_state, silri_open_drawer_state.
"""

from __future__ import annotations

import ml_collections
from ml_collections import config_dict

from silri_jax.agents.config import override_section
from silri_jax.reward.config import reward_config
from silri_jax.teleop.config import teleop_config

VARIANTS = (
    "silri_pick_cube_state",
    "silri_pick_cube_pixels",
    "sac_pick_cube_state",
    "hgdagger_pick_cube_state",
    "silri_insert_peg_state",
    "silri_open_drawer_state",
)


def _agent() -> ml_collections.ConfigDict:
    a = ml_collections.ConfigDict()
    # algorithm: silri, sac, sac_bc (SAC from a behaviour-cloned start), hgdagger or bc
    # (defaults in silri_jax/agents/config.py)
    a.algo = "silri"
    # MLP widths of every network; smaller than the agents' (256, 256) so a CPU keeps up
    a.hidden_dims = (128, 128)
    # transitions per update batch (half D_R, half D_I for mixed agents)
    a.batch_size = 128
    # update-to-data ratio inside one update call: utd-1 critic-only steps + one full step
    a.utd = 2
    # pre-training steps on the demonstrations (SiLRI: beta and a BC actor); -1 keeps the
    # agent's default
    a.pretrain_steps = 1000
    # every other field of the algorithm's agent config (silri_jax/agents/config.py),
    # filled with its defaults: set one with --config.agent.overrides.<field>=<value>
    a.overrides = ml_collections.ConfigDict()
    return a


def _task() -> ml_collections.ConfigDict:
    t = ml_collections.ConfigDict()
    # simulated task (pick_cube, insert_peg, open_drawer) or "gym:<module>:<gymnasium id>"
    t.name = "pick_cube"
    # "state" (proprioception + object state) or "pixels" (state + front and wrist cameras)
    t.obs_mode = "state"
    # camera image size for obs_mode="pixels"
    t.image_size = 64
    # extra SimConfig fields (e.g. {"max_episode_steps": 80}) or, for gym: tasks, kwargs
    t.sim = ml_collections.ConfigDict()
    # let the operator intervene in the actors (off: pure RL after the demos)
    t.intervention = True
    # "simulated" (silri_jax.operators.SimulatedOperator) or "<module>:<factory>" called
    # as factory(profile=..., seed=...) for tasks without a simulated operator (it also
    # records demos.num demonstrations, with always=True when the factory takes it)
    t.operator = "simulated"
    # gym: tasks: the step info entry that says success; empty: the first present of
    # is_success, success, succeed
    t.success_key = ""
    # gym: tasks: "<module>:<function>" given the unwrapped env, returning what the
    # operator sees before each step; empty: the latest observation
    t.privileged_state = ""
    # operator skill profile for interventions: expert, skilled, novice or unskilled
    # (silri_jax/operators/profiles.py). The novice alone succeeds in about half of the
    # pick_cube episodes: the learned policy is measured against it
    t.operator_profile = "novice"
    return t


def _demos() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    # demonstration file (silri_jax.data.save_demos format) loaded into D_I; empty: record
    d.path = ""
    # demonstrations recorded by the simulated operator when no file is given (0: none)
    d.num = 20
    # operator profile that records them (only its successful episodes are kept): the
    # same imperfect operator that intervenes
    d.profile = "novice"
    return d


def _teleop() -> ml_collections.ConfigDict:
    # every device setting of silri_jax/teleop/config.py (mounting, deadband, gains,
    # intervention mode, event bindings), plus how the actors and the recorder use it
    t = teleop_config()
    # who takes over: "" (the task's operator, in Python: the default simulated runs),
    # "operator" (the task's simulated operator as a device, through the bridge's mixer),
    # or a device backend (spacemouse, spacenav, evdev, gamepad, keyboard, terminal,
    # replay, scripted, none) whose human drives through the bridge's mixer
    t.device = ""
    # speed of the arm's target at full deflection (m/s); -1: the task's position action
    # scale times its control rate (a full deflection moves as far as a full action)
    t.max_linear_speed_m_s = -1.0
    # angular speed at full deflection (rad/s); -1: rotation action scale x control rate
    t.max_angular_speed_rad_s = -1.0
    return t


def _record() -> ml_collections.ConfigDict:
    r = ml_collections.ConfigDict()
    # python -m silri_jax.record: where episodes go: a .npz (the project's demo file, for
    # config.demos.path) or a directory (LeRobotDataset v3.0)
    r.out = "demos/recorded.npz"
    # successful episodes to record
    r.episodes = 10
    # also keep failed episodes, in <out>_failures (negatives for a reward classifier)
    r.keep_failures = True
    # most episodes attempted (0: three times record.episodes)
    r.max_attempts = 0
    # seed of the first episode (episode i: seed + i); apart from training and evaluation
    r.seed = 3_000_000
    # task description stored with every episode (LeRobotDataset); empty: the task name
    r.task_text = ""
    return r


def _runtime() -> ml_collections.ConfigDict:
    r = ml_collections.ConfigDict()
    # learner address; loopback by default. Another host needs runtime.token.
    r.address = "127.0.0.1:50551"
    # shared secret (any non-loopback address requires one, or actor_tokens_file); empty:
    # none
    r.token = ""
    # per-actor tokens: a JSON file {"actor-0": "<secret>", ...}; an actor id listed there
    # is accepted only with its own token (one actor's token cannot act as another). The
    # learner reads all of it, each actor its own entry. Empty: the shared token only
    r.actor_tokens_file = ""
    # TLS: the learner's certificate (PEM); empty: plain TCP
    r.tls_cert = ""
    # TLS: the learner's private key (PEM), with tls_cert
    r.tls_key = ""
    # TLS: the certificate authority the actors trust (PEM); empty: plain TCP
    r.tls_root_cert = ""
    # largest gRPC message (bytes); larger params are chunked, larger batches split
    r.max_message_bytes = 16 * 1024 * 1024
    # learner ingest queue bound in batches (back-pressure beyond it)
    r.max_queue = 64
    # most sequence numbers an actor's batch may skip past what the learner stored for
    # its id; more is refused as a client writing under another's id (a learner resumed
    # without its write-ahead log can lose at most this many acknowledged transitions)
    r.max_seq_gap = 100_000
    # all output of a run: checkpoints/, wal/ (write-ahead log), tb/ (TensorBoard)
    r.run_dir = "runs/train"
    # capacity of D_R and of D_I (transitions)
    r.replay_capacity = 200_000
    # also keep D_R and D_I on the accelerator and draw each update's batch there, inside
    # the compiled update (DeviceReplay; the host buffers stay for checkpoints, beta and
    # pre-training). For pixel learners on a GPU, where gathering and copying a batch on
    # the host costs more than the update; off: batches are gathered on the host
    r.replay_on_device = False
    # transitions in D_R before the first update
    r.start_training_after = 200
    # cap on update calls per second (0: as fast as possible); leaves CPU to the actors
    r.max_updates_per_s = 0.0
    # replay ratio: update calls (one UTD group each) per env step, summed over actors, that
    # the actors keep by waiting for the learner once training has started (the first
    # start_training_after steps are free). 1 matches sync_train. 0: no pacing, actors never
    # wait (what a real robot at 10 Hz needs: it must not pause mid-motion)
    r.updates_per_env_step = 1.0
    # pacing: env steps the actors may run ahead of that ratio (absorbs the push period and
    # the compile of the first update; a blocked actor resumes once half of it is free).
    # Must satisfy updates_per_env_step * (2 * slack - 1) >= 1, else actors and learner
    # would wait for each other: a smaller value is refused with the minimum named
    r.pacing_slack_steps = 64
    # pacing: seconds a waiting actor keeps retrying an unreachable learner before it fails
    r.pacing_timeout_s = 600.0
    # parameter push period of the learner (seconds)
    r.push_period_s = 1.0
    # checkpoint every N update calls (also on SIGTERM/SIGINT); 0: only on exit
    r.checkpoint_every_updates = 2000
    # checkpoints kept
    r.keep_checkpoints = 2
    # fsync the write-ahead log per batch (survives power loss, not only process kills)
    r.wal_fsync = False
    # TensorBoard and terminal status period (seconds)
    r.log_every_s = 2.0
    # total online env steps over all actors (0: run until stopped); each actor id takes
    # ceil(env_steps / num_actors), counting what a killed predecessor with its id produced
    r.env_steps = 0
    # actors the launcher starts (and the budget is split over)
    r.num_actors = 1
    # actor: unacknowledged transitions kept at most before send blocks
    r.max_outbox = 4096
    # actor: transitions per streamed batch at most
    r.max_batch = 32
    # actor: seconds a partly filled batch may wait before it is sent
    r.linger_s = 0.05
    # actor: uniformly random actions for its first steps (0: the policy acts at once)
    r.random_steps = 0
    # actor: seconds to wait for the first parameters (the learner pre-trains first)
    r.first_params_timeout_s = 900.0
    # actor: sleep to this control rate (Hz); 0: as fast as possible (simulation)
    r.control_hz = 0.0
    # actor: durable spool of unacknowledged transitions. Each actor writes every
    # transition to <this>/<actor id>/ before sending it and deletes it once acked; a
    # restarted actor with the same id re-sends what the dead one had not delivered.
    # "{run_dir}" is replaced by runtime.run_dir; empty: off (memory-only outbox: an
    # actor's death loses its unacknowledged transitions)
    r.actor_spool_dir = "{run_dir}/spool"
    # actor: fsync the spool per transition (survives power loss, not only process death)
    r.actor_spool_fsync = False
    # final evaluation (launcher's final line, actor --eval, sync_train's end): episodes
    r.eval_episodes = 20
    # evaluation: seed of the first episode (seeds never used in training)
    r.eval_seed = 2_000_000
    # sync_train: a deterministic evaluation without interventions every N env steps
    # (0: only the final one)
    r.eval_every_steps = 2000
    # sync_train: episodes of each evaluation during training (the same fixed seeds)
    r.eval_episodes_during = 10
    # sync_train: status line and TensorBoard training scalars every N env steps
    r.log_every_steps = 200
    # sync_train: a full learner-state checkpoint (Orbax) in <run_dir>/checkpoints at the
    # end (the runtime learner checkpoints every checkpoint_every_updates anyway)
    r.checkpoint_at_end = False
    return r


def get_config(variant: str = "silri_pick_cube_state") -> ml_collections.ConfigDict:
    """The config of ``variant`` (see ``VARIANTS``)."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown config variant {variant!r}; known: {list(VARIANTS)}")
    c = ml_collections.ConfigDict()
    # the variant this config was built from (for logs)
    c.variant = variant
    # run seed: network init, demos, episode seeds (per actor offset), sampling
    c.seed = 0
    c.agent = _agent()
    c.task = _task()
    c.demos = _demos()
    c.runtime = _runtime()
    c.teleop = _teleop()
    c.record = _record()
    # the learned reward (silri_jax/reward/config.py): training a success classifier, and
    # reward.loop.model, which puts it in place of the env's own success (empty: not used)
    c.reward = reward_config()
    # a real arm, or its rehearsal in simulation: configs/robots/<name>.py (sim_franka,
    # sim_ur, franka_fr3, franka_panda, ur5e, ur_cb3) or the path of such a file; the env
    # is then the robot env of silri_jax/robots (docs/robots.md). Empty (the default):
    # the simulated task env of task.name
    c.robot = ""
    # with robot: the work cell's task file, configs/tasks/<name>.py or a path (workspace,
    # resets, action scales, cameras, reward); empty (the default): task.name's
    c.cell = ""
    # with robot: the arm's address, replacing the robot file's (and its gripper's when
    # on the same host); empty (the default): the file's
    c.robot_ip = ""
    # placeholder so a resumed run can be pointed at an explicit step (None: latest)
    c.resume_step = config_dict.placeholder(int)

    algo, task, obs = variant.split("_", 1)[0], variant.split("_", 1)[1], "state"
    if task.endswith("_pixels"):
        task, obs = task[: -len("_pixels")], "pixels"
    elif task.endswith("_state"):
        task = task[: -len("_state")]
    c.agent.algo = algo
    c.agent.overrides = override_section(algo)
    c.task.name = task
    c.task.obs_mode = obs
    c.runtime.run_dir = f"runs/{variant}"
    if obs == "pixels":
        # a CPU cannot run ResNet-10 on two cameras at a useful rate: small conv encoder
        c.agent.overrides.encoder.backbone = "small_conv"
        c.agent.batch_size = 64
        c.runtime.replay_capacity = 50_000
    return c
