"""Background retraining: enough new corrections start one thread (never more than one,
never blocking the caller); the new classifier is swapped in only if it makes no more
held-out false positives than the current one; every attempt is logged; a failure is
logged and leaves the current classifier in place."""

from __future__ import annotations

import json

import numpy as np
from reward_helpers import SIZE, episode, spec

from silri_jax.data import frame_labels as fl
from silri_jax.reward.config import reward_config
from silri_jax.reward.corrections import CorrectionStore
from silri_jax.reward.monitor import RewardMonitor
from silri_jax.reward.retrain import BackgroundRetrainer, training_config_of
from silri_jax.reward.train import false_positives, train_classifier


def tiny_config():
    c = reward_config()
    c.model.image_size, c.model.latent_dim, c.model.hidden_dims = SIZE, 8, (8,)
    c.model.num_spatial_features = 4
    c.train.steps, c.train.eval_every, c.train.batch_size = 30, 10, 16
    c.data.pre_success_margin, c.data.near_miss_frames = 0, 2
    c.loop.warmup_steps = 0
    return c


def sets():
    ok = [episode([-0.05] * 5 + [10.0] + [-0.05] * 3, bright_from=6, seed=i) for i in range(4)]
    bad = [episode([-0.05] * 9, terminated_last=False, seed=10 + i) for i in range(4)]
    return ok, bad


class Target:
    """The part of LearnedReward the retrainer talks to."""

    def __init__(self, clf, store, monitor) -> None:
        self.stages, self.corrections, self.monitor = [clf], store, monitor
        self.swapped = []

    def swap_last_stage(self, clf) -> None:
        self.swapped.append(clf)


def store_veto(store: CorrectionStore, seed: int) -> None:
    """A vetoed declaration: bright frames (what the classifier takes for success) that a
    person said were not."""
    ep = episode([-0.05] * 9, bright_from=3, seed=seed)
    labels, sources = fl.empty_labels(10)
    labels[3:], sources[3:] = fl.NEGATIVE, fl.SOURCE_VETO
    store.add(ep.observations, labels, sources)


def _retrainer(tmp_path, current_threshold=None):
    ok, bad = sets()
    first = train_classifier(spec(), ok, bad, tiny_config(), tmp_path / "model")
    if current_threshold is not None:
        first.classifier.threshold = current_threshold
    store = CorrectionStore(tmp_path / "corrections")
    monitor = RewardMonitor()
    target = Target(first.classifier, store, monitor)
    rt = BackgroundRetrainer(target, spec(), ok, bad, training_config_of(
        str(tmp_path / "model")), store, tmp_path / "models", min_new_frames=10)
    return rt, target, monitor, (ok, bad)


def _last_entry(tmp_path):
    lines = (tmp_path / "models" / "retrain_log.jsonl").read_text().splitlines()
    return json.loads(lines[-1])


def test_a_retrained_classifier_with_fewer_false_positives_is_swapped_in(tmp_path) -> None:
    # the current classifier calls every frame a success: any retraining does no worse
    rt, target, monitor, (ok, bad) = _retrainer(tmp_path, current_threshold=0.0)
    store_veto(rt.store, 100)  # 7 labelled frames: below the trigger
    assert not rt.notify() and not rt.running
    store_veto(rt.store, 101)
    assert rt.notify()  # returns at once; the training runs on its own thread
    assert not rt.notify()  # one at a time
    rt.join(600)
    entry = _last_entry(tmp_path)
    assert "error" not in entry, entry
    assert entry["corrections"] == 2
    assert entry["heldout_false_positives_before"] == entry["heldout_negatives"] > 0
    assert entry["swapped"] and entry["heldout_false_positives_after"] < \
        entry["heldout_false_positives_before"]
    assert len(target.swapped) == 1 and (tmp_path / "models" / "v1").is_dir()
    held = train_classifier(spec(), ok, bad, tiny_config()).heldout
    assert false_positives(target.swapped[0], held) == entry["heldout_false_positives_after"]
    assert monitor.totals["retrains"] == 1 and monitor.totals["swaps"] == 1


def test_a_retrained_classifier_with_more_false_positives_is_refused(tmp_path,
                                                                     monkeypatch) -> None:
    from silri_jax.reward import train

    rt, target, monitor, _ = _retrainer(tmp_path)
    counts = iter([0, 3])  # the current classifier, then the new one
    monkeypatch.setattr(train, "false_positives", lambda clf, table: next(counts))
    store_veto(rt.store, 100)
    store_veto(rt.store, 101)
    assert rt.notify()
    rt.join(600)
    entry = _last_entry(tmp_path)
    assert entry["swapped"] is False and entry["heldout_false_positives_after"] == 3
    assert target.swapped == [] and not (tmp_path / "models" / "v1").exists()
    assert monitor.totals["retrains"] == 1 and monitor.totals["swaps"] == 0


def test_a_failed_retraining_is_logged_and_changes_nothing(tmp_path) -> None:
    ok, bad = sets()
    config = tiny_config()
    first = train_classifier(spec(), ok, bad, config)
    store = CorrectionStore(tmp_path / "corrections")
    labels, sources = fl.empty_labels(4)
    labels[1:] = fl.NEGATIVE
    sources[1:] = fl.SOURCE_VETO
    # frames of another camera size than the classifier's: training must refuse them
    store.add({"state": np.zeros((4, 4), np.float32),
               "images/front": np.zeros((4, SIZE * 2, SIZE * 2, 3), np.uint8),
               "images/wrist": np.zeros((4, SIZE * 2, SIZE * 2, 3), np.uint8)},
              labels, sources)
    target = Target(first.classifier, store, None)
    rt = BackgroundRetrainer(target, spec(), ok, bad, config, store, tmp_path / "m",
                             min_new_frames=1)
    assert rt.notify()
    rt.join(600)
    assert rt.last is not None and rt.last["swapped"] is False
    assert "camera 'front'" in rt.last["error"]  # the problem, named
    assert target.swapped == []
