"""Temperature calibration and the threshold, from held-out scores.

- :func:`fit_temperature`: the T > 0 minimising the held-out negative log-likelihood of
  ``sigmoid(logit / T)`` (one number: the ranking, hence the PR curve, is unchanged).
  Training on balanced batches makes raw scores overconfident about positives; T tames
  them before a probability threshold is read off.
- :func:`threshold_at_fpr`: the lowest threshold whose held-out frame false-positive rate
  (negatives with p > threshold) is at most the target: the highest recall the budget of
  false positives allows. A false positive ends an episode as a success on the robot,
  which trains the policy towards it: that is the error to bound, not the accuracy.
"""

from __future__ import annotations

import math

import numpy as np


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(x, -60.0, 60.0)))


def nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = np.asarray(logits, np.float64) / temperature
    y = np.asarray(labels, np.float64)
    # log(1 + exp(-|z|)) + max(z, 0) - y z: stable binary cross-entropy
    return float(np.mean(np.log1p(np.exp(-np.abs(z))) + np.maximum(z, 0.0) - y * z))


def fit_temperature(logits: np.ndarray, labels: np.ndarray, lo: float = 0.05,
                    hi: float = 50.0, iters: int = 80) -> float:
    """Golden-section search over log T in [log lo, log hi] (the NLL is unimodal in T)."""
    if len(logits) == 0 or np.all(labels == labels[0]):
        return 1.0  # one class only: nothing to calibrate against
    a, b = math.log(lo), math.log(hi)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = nll(logits, labels, math.exp(c)), nll(logits, labels, math.exp(d))
    for _ in range(iters):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = nll(logits, labels, math.exp(c))
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = nll(logits, labels, math.exp(d))
    return float(math.exp((a + b) / 2.0))


def threshold_at_fpr(probs: np.ndarray, labels: np.ndarray, target_fpr: float) -> float:
    """The lowest threshold with (negatives with p > threshold) / negatives <= target."""
    if not 0.0 <= target_fpr < 1.0:
        raise ValueError(f"target_fpr must be in [0, 1), got {target_fpr}")
    neg = np.sort(np.asarray(probs)[np.asarray(labels) == 0])[::-1]
    if len(neg) == 0:
        return 0.5
    allowed = math.floor(target_fpr * len(neg) + 1e-9)
    if allowed >= len(neg):
        return 0.0
    return float(neg[allowed])


def rates_at(probs: np.ndarray, labels: np.ndarray, threshold: float) -> dict[str, float]:
    """Frame-level figures of the decision ``p > threshold``."""
    probs, labels = np.asarray(probs), np.asarray(labels)
    pred = probs > threshold
    pos, neg = labels == 1, labels == 0
    tp, fp = int(np.sum(pred & pos)), int(np.sum(pred & neg))
    return {"threshold": float(threshold),
            "recall": tp / max(int(pos.sum()), 1),
            "fpr": fp / max(int(neg.sum()), 1),
            "precision": tp / max(tp + fp, 1),
            "accuracy": float(np.mean(pred == pos)),
            "balanced_accuracy": 0.5 * (tp / max(int(pos.sum()), 1)
                                        + 1.0 - fp / max(int(neg.sum()), 1)),
            "positives": int(pos.sum()), "negatives": int(neg.sum())}


def pr_curve(probs: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
    """Precision, recall and false-positive rate at every distinct score (descending)."""
    order = np.argsort(-np.asarray(probs), kind="stable")
    p, y = np.asarray(probs)[order], np.asarray(labels)[order]
    tp, fp = np.cumsum(y == 1), np.cumsum(y == 0)
    last = np.r_[p[1:] != p[:-1], True]  # one point per distinct score
    tp, fp, thr = tp[last], fp[last], p[last]
    return {"threshold": thr, "precision": tp / np.maximum(tp + fp, 1),
            "recall": tp / max(int(np.sum(y == 1)), 1),
            "fpr": fp / max(int(np.sum(y == 0)), 1)}


def average_precision(probs: np.ndarray, labels: np.ndarray) -> float:
    c = pr_curve(probs, labels)
    recall = np.r_[0.0, c["recall"]]
    return float(np.sum(np.diff(recall) * c["precision"]))
