"""Config of the learned reward (``python -m silri_jax.reward``, ``LearnedReward``).

The trainer takes this section on its own (``--set model.backbone=resnet10``); the main
config holds it as ``config.reward`` (``configs/train.py``), where ``reward.loop`` puts a
trained classifier in the loop of every entry point (``--config.reward.loop.model=...``).
Every field is documented by the comment line above it, as in ``configs/train.py``.
"""

from __future__ import annotations

import ml_collections


def _model() -> ml_collections.ConfigDict:
    m = ml_collections.ConfigDict()
    # image backbone: "small_conv" (trained with the head; CPU) or "resnet10" (frozen:
    # stop_gradient and outside the optimizer; GPU)
    m.backbone = "small_conv"
    # pretrained ResNet-10 weights (.npz of silri_jax.networks.pretrained; the same file as
    # agent.overrides.encoder.pretrained_path); empty: a seeded random init
    m.pretrained_path = ""
    # seed of the parameter init (head, pooling, small conv, random ResNet-10)
    m.seed = 0
    # cameras the classifier looks at, comma-separated names ("front,wrist"); empty: every
    # camera of the training data
    m.cameras = ""
    # per-camera crop applied before the resize, "name:top,left,height,width;name:..."
    # in pixels of the recorded frames; empty: the whole frame
    m.crops = ""
    # square size every (cropped) camera frame is resized to before the backbone
    m.image_size = 64
    # spatial learned embeddings per camera (the trainable pooling)
    m.num_spatial_features = 8
    # width of each camera's projection after the pooling
    m.latent_dim = 64
    # MLP widths of the head over the concatenated camera projections
    m.hidden_dims = (64,)
    # dropout after each camera's pooling during training
    m.dropout_rate = 0.1
    # proprioceptive predicate ANDed with the image score, e.g.
    # "state[15] < -0.5 and state[2] > 0.2" (entries of an observation vector, in the
    # units the env reports: pick_cube scales its state to about [-1, 1]); empty: none
    m.predicate = ""
    return m


def _data() -> ml_collections.ConfigDict:
    d = ml_collections.ConfigDict()
    # "auto": "recorded" for each episode that carries a labelled frame (labels given at
    # the teleop device while recording, docs/reward.md Labelling), "from_first_success"
    # for the others; "recorded": a labelled frame takes its label, the unlabelled frames
    # of a success episode are positive from its first positive label onward (negative
    # before it), those of a failed episode negative (every success episode must carry a
    # label); "from_first_success": every frame after the first step whose reward says
    # success (or, when none does, after the last step of a terminated episode) is
    # positive; "per_step": a frame is positive when the step that produced it said
    # success
    d.label_mode = "auto"
    # a step "says success" when its reward is at least this (pick_cube: -0.05 + 10)
    d.success_reward_min = 1.0
    # frames just before a success episode's first positive, left out of training and
    # evaluation: the cube 9.9 cm up looks like 10.1 cm (ambiguous labels)
    d.pre_success_margin = 1
    # the near-miss pool of negatives: the last frames of each failed episode, and the
    # frames of each success episode just before its margin (the cube almost up)
    d.near_miss_frames = 4
    # fraction of each batch's negatives drawn from the near-miss pool (the rest: every
    # other negative frame, early success frames and failed frames alike)
    d.near_miss_fraction = 0.25
    # hard-negative mining: at every held-out evaluation the training negatives are
    # scored, and this fraction of each batch's negatives is drawn from ...
    d.mined_fraction = 0.25
    # ... the top this fraction of them by score (the frames the classifier confuses)
    d.mined_top = 0.05
    # fraction of the success episodes and of the failed episodes held out (whole
    # episodes: frames of one episode never sit on both sides)
    d.holdout_fraction = 0.25
    # seed of the episode split
    d.split_seed = 0
    return d


def _train() -> ml_collections.ConfigDict:
    t = ml_collections.ConfigDict()
    # gradient steps at most
    t.steps = 2000
    # frames per batch: half positives, half negatives
    t.batch_size = 64
    # AdamW learning rate
    t.lr = 3e-4
    # AdamW weight decay
    t.weight_decay = 1e-4
    # held-out loss evaluated every this many steps
    t.eval_every = 50
    # early stopping: evaluations without a lower held-out loss before training stops
    t.patience = 6
    # random-crop augmentation: pad by this many pixels and crop back (0: off)
    t.augment_pad = 3
    # colour jitter: brightness offset up to this fraction of full scale
    t.brightness = 0.1
    # colour jitter: contrast factor in [1 - c, 1 + c]
    t.contrast = 0.15
    # colour jitter: saturation factor in [1 - s, 1 + s]
    t.saturation = 0.15
    # seed of batch sampling, dropout and augmentation
    t.seed = 0
    return t


def _threshold() -> ml_collections.ConfigDict:
    th = ml_collections.ConfigDict()
    # the threshold is the lowest held-out score whose frame false-positive rate is at
    # most this (the highest recall the false-positive budget allows)
    th.target_fpr = 0.01
    # then raise it, if needed, to the lowest threshold under which the in-the-loop rule
    # declares no held-out failed episode and no held-out success episode more than
    # data.pre_success_margin frames before its onset (a held-out set of mostly easy
    # negatives lets a frame-level budget through where it matters: near the onset)
    th.episode_guard = True
    # consecutive frames above the threshold before success is declared (also the
    # default of the in-the-loop wrapper), used in the episode-level held-out report
    th.consecutive = 2
    return th


def _loop() -> ml_collections.ConfigDict:
    lp = ml_collections.ConfigDict()
    # classifier model directory (or .npz) that judges success in the loop; several,
    # comma-separated, are the stages of a multi-stage task, in order; empty: the env's
    # own reward
    lp.model = ""
    # consecutive frames with p > threshold (and the predicate) before success;
    # -1: the model file's own (threshold.consecutive at training)
    lp.consecutive = -1
    # no success is declared during the first steps of an episode (warm-up suppression)
    lp.warmup_steps = 3
    # reward of the step that declares success
    lp.success_reward = 10.0
    # reward of every other step
    lp.step_reward = -0.05
    # end the episode (terminated) when success is declared
    lp.terminate_on_success = True
    # without termination: once declared, success stays declared for the episode
    lp.latch = True
    # steps the arm holds its pose after a declaration, waiting for a veto (the
    # declaration stands when nobody answers); 0: success at once
    lp.confirm_window = 0
    # who may veto or confirm a declaration and report a missed success: "" nobody,
    # "device" (the teleop device's failure = veto, success = confirm / missed success),
    # "simulated" (the simulated operator, from the simulator's verdict)
    lp.judge = ""
    # simulated judge: probability of a wrong answer (letting a false success stand,
    # vetoing a true one, not reporting a miss)
    lp.judge_error_rate = 0.0
    # simulated judge: steps before it answers (kept below confirm_window)
    lp.judge_reaction_steps = 1
    # a reported missed success labels its frame and this many frames before it positive
    lp.missed_lookback = 2
    # background retraining from the corrections: the labelled success and failure sets
    # the model was trained on (any format the trainer reads); empty: no retraining
    # (corrections are still kept in <run_dir>/reward_corrections)
    lp.retrain_success = ""
    # the failure set of that training (negatives); both are needed to retrain
    lp.retrain_failures = ""
    # labelled frames of new corrections that start a retraining
    lp.retrain_min_frames = 20
    return lp


def reward_config() -> ml_collections.ConfigDict:
    """The learned-reward section: model, data labelling, training, threshold, loop."""
    c = ml_collections.ConfigDict()
    c.model = _model()
    c.data = _data()
    c.train = _train()
    c.threshold = _threshold()
    c.loop = _loop()
    return c
