"""Retraining the success classifier in the background from the corrections found online.

After each episode that stored a correction (``CorrectionStore``), ``notify`` checks
whether at least ``min_new_frames`` labelled frames arrived since the last retraining;
if so, and no retraining is running, a thread trains a new classifier on the original
labelled sets plus every correction (``train_classifier(..., corrections=...)``, the
original model's training config from its ``report.json``). The new classifier replaces
the last stage of ``LearnedReward`` (at the next episode start) only if it makes no more
false positives than the current one on the same held-out frames (the original sets'
episode-level split, which corrections never enter): a retraining can fix misses but
must not add false alarms. Every attempt, swapped or not, is one line of
``<run_dir>/reward_models/retrain_log.jsonl`` and a point of ``reward/retrains`` and
``reward/swaps`` in TensorBoard; swapped models are kept as ``reward_models/v<n>``.

Retraining runs where the env runs (the actor's process, or ``sync_train``'s), because
that is where the corrections are made; on a robot PC short of CPU, leave
``reward.loop.retrain_success`` empty and retrain on the learner's machine with
``python -m silri_jax.reward train --corrections=<run_dir>/reward_corrections``.
A failed retraining is logged with its cause and leaves the current classifier in place:
the robot session never stops because of it.
"""

from __future__ import annotations

import json
import pathlib
import threading
import time
import traceback
from collections.abc import Sequence
from typing import Any

import ml_collections

from silri_jax.data.demos import Episode
from silri_jax.reward.corrections import CorrectionStore, load_corrections
from silri_jax.reward.model_file import resolve_path
from silri_jax.specs import EnvSpec


def training_config_of(model_path: str) -> ml_collections.ConfigDict:
    """The reward config a model was trained with (its ``report.json`` beside it), else
    the defaults."""
    from silri_jax.reward.config import reward_config

    config = reward_config()
    report = resolve_path(model_path).parent / "report.json"
    if report.exists():
        saved = json.loads(report.read_text()).get("config", {})
        for section, fields in saved.items():
            if section in config and isinstance(fields, dict):
                for k, v in fields.items():
                    if k in config[section]:
                        config[section][k] = tuple(v) if isinstance(v, list) else v
    return config


class BackgroundRetrainer:
    """See the module docstring. ``target`` is the ``LearnedReward`` whose last stage is
    replaced; ``success``/``failures`` the original labelled sets."""

    def __init__(self, target: Any, spec: EnvSpec, success: Sequence[Episode],
                 failures: Sequence[Episode], config: ml_collections.ConfigDict,
                 store: CorrectionStore, out_dir: str | pathlib.Path,
                 min_new_frames: int = 20) -> None:
        if min_new_frames < 1:
            raise ValueError(f"reward.loop.retrain_min_frames must be >= 1, got "
                             f"{min_new_frames}")
        self.target, self.spec = target, spec
        self.success, self.failures = list(success), list(failures)
        self.config, self.store = config, store
        self.out_dir = pathlib.Path(out_dir)
        self.min_new_frames = int(min_new_frames)
        self.used_frames = 0
        self.attempts = 0
        self.last: dict[str, Any] | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_loop(cls, target: Any, loop: Any, run_dir: pathlib.Path) -> BackgroundRetrainer:
        """From the ``reward.loop`` section: the original sets, the last stage's training
        config, ``retrain_min_frames``."""
        from silri_jax.reward.train import load_sets

        spec, success, failures = load_sets(str(loop.retrain_success),
                                            str(loop.retrain_failures))
        last_model = [p.strip() for p in str(loop.model).split(",") if p.strip()][-1]
        return cls(target, spec, success, failures, training_config_of(last_model),
                   target.corrections, run_dir / "reward_models",
                   int(loop.retrain_min_frames))

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def notify(self) -> bool:
        """After a correction was stored: starts a retraining when enough new labelled
        frames arrived and none is running; returns whether one started. Never blocks."""
        with self._lock:
            if self.running:
                return False
            frames = self.store.labelled_frames()
            if frames - self.used_frames < self.min_new_frames:
                return False
            self.used_frames = frames
            self._thread = threading.Thread(target=self._run, name="reward-retrain",
                                            daemon=True)
            self._thread.start()
            return True

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        from silri_jax.reward.train import false_positives, train_classifier

        start = time.monotonic()
        self.attempts += 1
        entry: dict[str, Any] = {"event": "reward_retrain", "attempt": self.attempts}
        try:
            corrections = load_corrections(self.store.folder)
            entry["corrections"] = len(corrections)
            out = train_classifier(self.spec, self.success, self.failures, self.config,
                                   corrections=corrections)
            current = self.target.stages[-1]
            assert out.heldout is not None
            if current.prep != out.classifier.prep:
                raise ValueError("the current classifier preprocesses frames differently "
                                 "from its training config; retrain it with "
                                 "python -m silri_jax.reward train")
            old_fp = false_positives(current, out.heldout)
            new_fp = false_positives(out.classifier, out.heldout)
            entry.update(heldout_false_positives_before=old_fp,
                         heldout_false_positives_after=new_fp,
                         heldout_negatives=int((out.heldout.labels == 0).sum()))
            swap = new_fp <= old_fp
            if swap:
                from silri_jax.reward.model_file import save_classifier

                folder = self.out_dir / f"v{self.attempts}"
                folder.mkdir(parents=True, exist_ok=True)
                entry["model"] = str(save_classifier(folder, out.params,
                                                     out.classifier.header))
                self.target.swap_last_stage(out.classifier)
            entry["swapped"] = swap
        except Exception as e:  # logged; the session goes on
            entry["swapped"] = False
            entry["error"] = f"{type(e).__name__}: {e}"
            entry["traceback"] = traceback.format_exc(limit=5)
        entry["wall_s"] = round(time.monotonic() - start, 2)
        self.last = entry
        monitor = getattr(self.target, "monitor", None)
        if monitor is not None:
            monitor.retrained(bool(entry["swapped"]))
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / "retrain_log.jsonl", "a") as f:
            f.write(json.dumps(entry) + "\n")
