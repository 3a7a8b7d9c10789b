"""Training the success classifier: labelled frames in, a checked model file out.

    python -m silri_jax.reward train --success=demos.npz --failures=demos_failures.npz \\
        --out=runs/reward

Steps: label every frame (``labels.py``), hold out whole episodes, train on balanced
batches (half positives; a share of the negatives from the near-miss pool) with random
crop and colour jitter, evaluate the class-balanced held-out loss every
``train.eval_every`` steps and stop when it has not improved for ``train.patience``
evaluations (the best parameters are kept), then fit a temperature on the held-out
logits and pick the threshold at ``threshold.target_fpr``. Writes ``classifier.npz``,
``pr_curve.png`` and ``report.json`` into ``--out``.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from silri_jax.data.demos import Episode
from silri_jax.reward import calibration
from silri_jax.reward.augment import AugmentConfig, augment
from silri_jax.reward.detector import (
    episode_outcomes,
    first_declaration,
    guarded_threshold,
)
from silri_jax.reward.labels import (
    BalancedSampler,
    FrameTable,
    LabelRules,
    build_table,
    gather,
    hardest_negatives,
    split_episodes,
)
from silri_jax.reward.model import (
    ModelSpec,
    Params,
    RewardModel,
    balanced_weights,
    bce_loss,
    classifier_loss,
)
from silri_jax.reward.model_file import Classifier, header_of, save_classifier
from silri_jax.reward.preprocessing import Predicate, Preprocessing, parse_crops
from silri_jax.specs import IMAGE_PREFIX, EnvSpec

EVAL_CHUNK = 256


def load_sets(success_path: str, failures_path: str
              ) -> tuple[EnvSpec, list[Episode], list[Episode]]:
    """Both datasets (any format ``silri_jax.datasets.load_episodes`` reads); their
    cameras must agree."""
    from silri_jax.datasets import load_episodes

    spec, success = load_episodes(success_path)
    fspec, failures = load_episodes(failures_path)
    a, b = spec.observation.entries, fspec.observation.entries
    diff = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
    if diff:
        raise ValueError(f"{success_path} and {failures_path} observe different things: "
                         f"{[(k, a.get(k), b.get(k)) for k in diff]}")
    return spec, success, failures


def preprocessing_for(spec: EnvSpec, mc: ml_collections.ConfigDict) -> Preprocessing:
    """The preprocessing of ``model`` config ``mc`` for data of ``spec``."""
    recorded = [k[len(IMAGE_PREFIX):] for k in spec.observation.image_keys]
    cams = [c.strip() for c in str(mc.cameras).split(",") if c.strip()] or recorded
    missing = [c for c in cams if c not in recorded]
    if missing:
        raise ValueError(f"model.cameras asks for {missing}; the data has cameras {recorded}")
    shapes = {c: tuple(spec.observation.entries[IMAGE_PREFIX + c].shape) for c in cams}
    return Preprocessing(tuple(cams), shapes, int(mc.image_size), parse_crops(str(mc.crops)))


@dataclasses.dataclass
class TrainOutput:
    classifier: Classifier
    params: Params
    report: dict[str, Any]
    heldout: FrameTable | None = None  # the held-out frames the threshold was chosen on


def false_positives(clf: Classifier, table: FrameTable) -> int:
    """Negative frames of ``table`` that ``clf`` (score and predicate) calls success at its
    own threshold. ``table`` must be preprocessed as ``clf`` preprocesses."""
    if not len(table):
        return 0
    logits = _batched_logits(clf._logits, clf.params, table.images)
    probs = np.where(clf.predicate.batch(table.vectors, len(table)),
                     clf.probs_from_logits(logits), 0.0)
    return int(np.sum((probs > clf.threshold) & (table.labels == 0)))


def _heldout_split(table: FrameTable, fraction: float, seed: int) -> np.ndarray:
    """bool [E]: held-out episodes, drawn among the base episodes only (corrections found
    online always train), so the split of the base sets does not depend on them."""
    base = ~np.asarray(getattr(table, "episode_correction",
                               np.zeros(len(table.episode_success), bool)), bool)
    held = np.zeros(len(table.episode_success), bool)
    held[np.flatnonzero(base)] = split_episodes(table.episode_success[base], fraction, seed)
    return held


def _batched_logits(fn: Callable[..., Any], params: Params,
                    images: Mapping[str, np.ndarray]) -> np.ndarray:
    """Logits of any number of frames, in chunks padded to ``EVAL_CHUNK`` (one compiled
    shape, whatever the episode lengths)."""
    n = len(next(iter(images.values())))
    out = []
    for i in range(0, n, EVAL_CHUNK):
        part = {k: v[i:i + EVAL_CHUNK] for k, v in images.items()}
        m = len(next(iter(part.values())))
        padded = {k: jnp.asarray(np.concatenate(
            [v, np.zeros((EVAL_CHUNK - m, *v.shape[1:]), v.dtype)])) for k, v in part.items()}
        out.append(np.asarray(fn(params, padded))[:m])
    return np.concatenate(out) if out else np.zeros(0, np.float32)


def make_train_step(model: RewardModel, optimizer: optax.GradientTransformation,
                    aug: AugmentConfig) -> Callable[..., Any]:
    """One jitted step: augment, class-balanced BCE, AdamW on the trainable part only."""

    def step(trainable: Params, opt_state: Any, frozen: Params,
             images: Mapping[str, jax.Array], labels: jax.Array, key: jax.Array
             ) -> tuple[Params, Any, dict[str, jax.Array]]:
        k_aug, k_drop = jax.random.split(key)
        augmented = {k: augment(jax.random.fold_in(k_aug, i), images[k], aug)
                     for i, k in enumerate(sorted(images))}

        def loss_fn(tr: Params) -> tuple[jax.Array, dict[str, jax.Array]]:
            return classifier_loss(model, {"trainable": tr, "frozen": frozen}, augmented,
                                   labels, k_drop)

        (_, metrics), grads = jax.value_and_grad(loss_fn, has_aux=True)(trainable)
        updates, opt_state = optimizer.update(grads, opt_state, trainable)
        metrics["grad_norm"] = optax.tree.norm(grads)
        return optax.apply_updates(trainable, updates), opt_state, metrics

    return jax.jit(step)


def heldout_loss(logits: np.ndarray, labels: np.ndarray) -> float:
    y = jnp.asarray(labels, jnp.float32)
    return float(bce_loss(jnp.asarray(logits), y, balanced_weights(y)))


def _episode_scores(clf: Classifier, episodes: Sequence[Episode]
                    ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per episode, every frame's calibrated probability and predicate flag."""
    out = []
    for ep in episodes:
        logits = _batched_logits(clf._logits, clf.params, clf.prep.apply(ep.observations))
        probs = clf.probs_from_logits(logits)
        ok = clf.predicate.batch(ep.observations, len(probs))
        out.append((probs, ok))
    return out


def _episode_report(clf: Classifier, scores: Sequence[tuple[np.ndarray, np.ndarray]],
                    onsets: np.ndarray, successful: np.ndarray, warmup: int
                    ) -> dict[str, Any]:
    """The in-the-loop rule run offline over whole episodes."""
    declared = [first_declaration(p, ok, clf.threshold, clf.consecutive, warmup)
                for p, ok in scores]
    out = episode_outcomes(np.asarray(declared), onsets, successful, within=3)
    out["consecutive"], out["warmup_steps"] = clf.consecutive, warmup
    return out


def train_classifier(spec: EnvSpec, success: Sequence[Episode], failures: Sequence[Episode],
                     config: ml_collections.ConfigDict, out: str | pathlib.Path | None = None,
                     log: Callable[[str], None] | None = None,
                     corrections: Sequence[Episode] = ()) -> TrainOutput:
    """Trains, calibrates and thresholds a classifier; writes it (and the report and the
    PR curve) into ``out`` when given. ``corrections`` (episodes with frame labels, e.g.
    ``load_corrections``) add their labelled frames to training, never to the held-out
    set."""
    start = time.monotonic()
    mc, dc, tc, thc = config.model, config.data, config.train, config.threshold
    log = log or (lambda _msg: None)
    prep = preprocessing_for(spec, mc)
    predicate = Predicate.parse(str(mc.predicate))
    predicate.check_spec(spec)
    rules = LabelRules(str(dc.label_mode), float(dc.success_reward_min),
                       int(dc.pre_success_margin), int(dc.near_miss_frames))
    table = build_table(success, failures, prep, rules, corrections=corrections) \
        if corrections else build_table(success, failures, prep, rules)
    held_ep = _heldout_split(table, float(dc.holdout_fraction), int(dc.split_seed))
    held_mask = held_ep[table.episode]
    train_t, held_t = table.subset(~held_mask), table.subset(held_mask)
    log(f"frames: {len(train_t)} training, {len(held_t)} held out "
        f"({int(held_ep.sum())} of {len(held_ep)} episodes); {table.counts}")

    mspec = ModelSpec(str(mc.backbone), int(mc.num_spatial_features), int(mc.latent_dim),
                      tuple(mc.hidden_dims), float(mc.dropout_rate))
    model = RewardModel(mspec, prep)
    pretrained = model.load_pretrained(mc.pretrained_path) if mc.pretrained_path else None
    if pretrained is not None and not mspec.frozen_backbone:
        log("note: pretrained weights initialise a trainable small_conv")
    key = jax.random.PRNGKey(int(mc.seed))
    params = model.init(key, pretrained)
    optimizer = optax.adamw(float(tc.lr), weight_decay=float(tc.weight_decay))
    trainable, frozen = params["trainable"], params["frozen"]
    opt_state = optimizer.init(trainable)
    step_fn = make_train_step(model, optimizer, AugmentConfig(
        int(tc.augment_pad), float(tc.brightness), float(tc.contrast), float(tc.saturation)))
    eval_fn = jax.jit(model.logits)
    sampler = BalancedSampler(train_t, float(dc.near_miss_fraction), int(tc.seed),
                              float(dc.mined_fraction))
    train_neg = np.flatnonzero(train_t.labels == 0)
    rng = jax.random.PRNGKey(int(tc.seed) + 1)

    best = (float("inf"), 0, trainable)
    history: list[dict[str, float]] = []
    bad, step = 0, 0
    last: dict[str, Any] = {}
    for step in range(1, int(tc.steps) + 1):
        idx, labels = sampler.indices(int(tc.batch_size))
        rng, k = jax.random.split(rng)
        trainable, opt_state, last = step_fn(
            trainable, opt_state, frozen, {k_: jnp.asarray(v) for k_, v in
                                           gather(train_t, idx).items()},
            jnp.asarray(labels), k)
        if step % int(tc.eval_every) == 0 or step == int(tc.steps):
            logits = _batched_logits(eval_fn, {"trainable": trainable, "frozen": frozen},
                                     held_t.images)
            hl = heldout_loss(logits, held_t.labels)
            acc = float(np.mean((logits > 0) == (held_t.labels == 1)))
            history.append({"step": step, "train_loss": float(last["loss"]),
                            "heldout_loss": hl, "heldout_accuracy": acc})
            log(f"step {step}: train loss {float(last['loss']):.4f}, held-out loss {hl:.4f}, "
                f"held-out accuracy {acc:.3f}")
            if sampler.mined_fraction > 0:
                scores = np.full(len(train_t), -np.inf)
                scores[train_neg] = _batched_logits(
                    eval_fn, {"trainable": trainable, "frozen": frozen},
                    gather(train_t, train_neg))
                sampler.set_mined(hardest_negatives(scores, train_t.labels,
                                                    float(dc.mined_top)))
            if hl < best[0] - 1e-5:
                best, bad = (hl, step, trainable), 0
            else:
                bad += 1
                if bad >= int(tc.patience):
                    log(f"early stop at step {step}: best held-out loss {best[0]:.4f} at "
                        f"step {best[1]}")
                    break
    params = {"trainable": best[2], "frozen": frozen}

    logits = _batched_logits(eval_fn, params, held_t.images)
    temperature = calibration.fit_temperature(logits, held_t.labels)
    # the decision the loop makes: p > threshold AND the predicate; a frame the predicate
    # rules out can never be a (false) positive, whatever its score
    pred_ok = predicate.batch(held_t.vectors, len(held_t))
    probs = np.where(pred_ok, calibration.sigmoid(logits / temperature), 0.0)
    threshold = calibration.threshold_at_fpr(probs, held_t.labels, float(thc.target_fpr))
    chosen = calibration.rates_at(probs, held_t.labels, threshold)
    curve = calibration.pr_curve(probs, held_t.labels)
    metrics = {
        "heldout_frames": chosen, "average_precision": calibration.average_precision(
            probs, held_t.labels),
        "heldout_nll_raw": calibration.nll(logits, held_t.labels, 1.0),
        "heldout_nll_calibrated": calibration.nll(logits, held_t.labels, temperature),
        "best_step": best[1], "best_heldout_loss": best[0], "steps_run": step,
    }
    clf = Classifier(model, params, temperature=temperature, threshold=threshold,
                     consecutive=int(thc.consecutive), predicate=predicate)
    all_eps = list(success) + list(failures)
    held_ids = np.flatnonzero(held_ep)
    scores = _episode_scores(clf, [all_eps[i] for i in held_ids])
    warmup = int(config.loop.warmup_steps)
    metrics["threshold_at_target_fpr"] = threshold
    if bool(thc.episode_guard):
        threshold, met = guarded_threshold(
            scores, table.onsets[held_ids], table.episode_success[held_ids], threshold,
            clf.consecutive, warmup, int(dc.pre_success_margin))
        clf.threshold = threshold
        metrics["episode_guard_met"] = met
        metrics["heldout_frames"] = chosen = calibration.rates_at(probs, held_t.labels,
                                                                  threshold)
        log(f"threshold {metrics['threshold_at_target_fpr']:.4f} at the target FPR, "
            f"{threshold:.4f} after the episode guard"
            + ("" if met else " (NOT met: no held-out success is declared under it)"))
    metrics["heldout_episodes"] = _episode_report(
        clf, scores, table.onsets[held_ids], table.episode_success[held_ids], warmup)
    header = header_of(model, temperature=temperature, threshold=threshold,
                       consecutive=int(thc.consecutive), predicate=predicate,
                       pretrained_path=str(mc.pretrained_path), metrics=metrics)
    clf.header = header
    report = {"event": "reward_train", "metrics": metrics, "history": history,
              "counts": table.counts,
              "episodes": {"success": len(success), "failed": len(failures),
                           "corrections": len(corrections),
                           "heldout_success": int((held_ep & table.episode_success).sum()),
                           "heldout_failed": int((held_ep & ~table.episode_success).sum())},
              "frames": {"train": len(train_t), "heldout": len(held_t),
                         "train_positive": int(train_t.labels.sum()),
                         "heldout_positive": int(held_t.labels.sum())},
              "temperature": temperature, "threshold": threshold,
              "config": config.to_dict(), "wall_s": round(time.monotonic() - start, 2)}
    if out is not None:
        out = pathlib.Path(out)
        out.mkdir(parents=True, exist_ok=True)
        report["model"] = str(save_classifier(out, params, header))
        from silri_jax.reward.plot import plot_pr_curve

        report["pr_curve"] = str(plot_pr_curve(
            curve, chosen, out / "pr_curve.png",
            title=f"held-out frames: {chosen['positives']} positive, "
                  f"{chosen['negatives']} negative; T = {temperature:.2f}"))
        (out / "report.json").write_text(json.dumps(report, indent=1, default=_jsonable))
    return TrainOutput(clf, params, report, held_t)


def evaluate_classifier(clf: Classifier, success: Sequence[Episode],
                        failures: Sequence[Episode], config: ml_collections.ConfigDict
                        ) -> dict[str, Any]:
    """Frame- and episode-level figures of a trained classifier on episodes it never saw
    (labelled by the same rules as training), at its own threshold and rule."""
    dc = config.data
    rules = LabelRules(str(dc.label_mode), float(dc.success_reward_min),
                       int(dc.pre_success_margin), int(dc.near_miss_frames))
    table = build_table(success, failures, clf.prep, rules)
    logits = _batched_logits(clf._logits, clf.params, table.images)
    probs = np.where(clf.predicate.batch(table.vectors, len(table)),
                     clf.probs_from_logits(logits), 0.0)
    return {"frames": calibration.rates_at(probs, table.labels, clf.threshold),
            "average_precision": calibration.average_precision(probs, table.labels),
            "episodes": _episode_report(clf, _episode_scores(clf, list(success)
                                                             + list(failures)),
                                        table.onsets, table.episode_success,
                                        int(config.loop.warmup_steps))}


def _jsonable(x: Any) -> Any:
    if isinstance(x, np.generic):
        return x.item()
    if isinstance(x, np.ndarray):
        return x.tolist()
    return str(x)

