"""Per-frame success labels in the project's demo file: written when any episode has
them, read back exactly, optional (older files and unlabelled sets load unchanged)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from silri_jax import specs
from silri_jax.data import frame_labels as fl
from silri_jax.data.demos import Episode, load_demos, save_demos
from silri_jax.datasets.episodes import DatasetEpisode

SPEC = specs.EnvSpec(specs.ObservationSpec({"state": specs.ArraySpec((3,), "float32")}),
                     specs.ActionSpec(2, False))


def _episode(t: int, labelled: bool = False) -> Episode:
    rng = np.random.default_rng(t)
    labels = sources = None
    if labelled:
        labels, sources = fl.empty_labels(t + 1)
        labels[2:] = fl.POSITIVE
        sources[2:] = fl.SOURCE_HUMAN
        labels[1], sources[1] = fl.NEGATIVE, fl.SOURCE_VETO
    return Episode(observations={"state": rng.standard_normal((t + 1, 3)).astype(np.float32)},
                   actions=np.zeros((t, 2), np.float32), rewards=np.zeros(t, np.float32),
                   terminated=np.eye(1, t, t - 1, dtype=np.uint8)[0],
                   truncated=np.zeros(t, np.uint8), frame_labels=labels,
                   label_sources=sources)


def test_labels_round_trip_and_unlabelled_episodes_are_stored_unlabelled(tmp_path) -> None:
    eps = [_episode(4, True), _episode(3), _episode(5, True)]
    save_demos(tmp_path / "d.npz", SPEC, eps)
    with np.load(tmp_path / "d.npz") as z:
        assert z["frame_labels"].shape == (4 + 3 + 5 + 3,)
        assert z["frame_labels"].dtype == np.int8
    _, back = load_demos(tmp_path / "d.npz")
    for a, b in zip(eps, back, strict=True):
        want = a.labels_or_empty()
        np.testing.assert_array_equal(b.frame_labels, want[0])
        np.testing.assert_array_equal(b.label_sources, want[1])
    assert (back[1].frame_labels == fl.UNLABELLED).all()
    assert (back[1].label_sources == fl.SOURCE_NONE).all()


def test_files_without_labels_load_with_none(tmp_path) -> None:
    save_demos(tmp_path / "d.npz", SPEC, [_episode(3), _episode(4)])
    with np.load(tmp_path / "d.npz") as z:
        assert "frame_labels" not in z.files
    _, back = load_demos(tmp_path / "d.npz")
    assert all(ep.frame_labels is None and ep.label_sources is None for ep in back)


def test_validate_refuses_bad_labels() -> None:
    ep = _episode(3, True)
    with pytest.raises(ValueError, match="both or neither"):
        dataclasses.replace(ep, label_sources=None).validate(SPEC)
    with pytest.raises(ValueError, match=r"frame_labels has shape \(3,\)"):
        dataclasses.replace(ep, frame_labels=ep.frame_labels[:3]).validate(SPEC)
    bad = ep.frame_labels.copy()
    bad[0] = 7
    with pytest.raises(ValueError, match="holds"):
        dataclasses.replace(ep, frame_labels=bad).validate(SPEC)


def test_the_dataset_episode_still_takes_its_own_fields() -> None:
    ep = _episode(3, True)
    d = DatasetEpisode(**{f.name: getattr(ep, f.name) for f in dataclasses.fields(ep)},
                       is_intervention=np.ones(3, np.uint8), task="t")
    d.validate(SPEC)
    assert d.frame_labels is ep.frame_labels and d.task == "t"
