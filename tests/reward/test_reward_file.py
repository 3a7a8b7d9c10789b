"""The classifier file: a round trip keeps every score; a corrupt or mismatched file, or an
env the model does not fit, is refused with an error naming the problem."""

from __future__ import annotations

import json

import jax
import numpy as np
import pytest
from reward_helpers import SIZE, prep, spec

from silri_jax.reward.model import ModelSpec, RewardModel
from silri_jax.reward.model_file import (
    ClassifierFileError,
    header_of,
    load_classifier,
    save_classifier,
)
from silri_jax.reward.preprocessing import Predicate


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    model = RewardModel(ModelSpec(latent_dim=8, hidden_dims=(8,)), prep())
    params = model.init(jax.random.PRNGKey(0))
    header = header_of(model, temperature=2.0, threshold=0.7, consecutive=3,
                       predicate=Predicate.parse("state[1] > 0.0"))
    path = save_classifier(tmp_path_factory.mktemp("clf") / "model", params, header)
    return path, model, params, header


def _rewrite(src, dst, header=None, drop=(), change=None):
    with np.load(src) as f:
        arrays = {k: f[k] for k in f.files}
    if header is not None:
        arrays["header_json"] = np.str_(json.dumps(header))
    for k in drop:
        arrays.pop(k)
    for k, v in (change or {}).items():
        arrays[k] = v
    np.savez(dst, **arrays)
    return dst


def test_round_trip_gives_the_same_probabilities(saved) -> None:
    path, model, params, _ = saved
    clf = load_classifier(path.parent, spec())  # the directory works too
    assert (clf.temperature, clf.threshold, clf.consecutive) == (2.0, 0.7, 3)
    obs = {"images/front": np.full((SIZE, SIZE, 3), 90, np.uint8),
           "images/wrist": np.full((SIZE, SIZE, 3), 30, np.uint8), "state": np.zeros(4)}
    images = {k: v[None] for k, v in model.prep.apply(obs).items()}
    logit = float(np.asarray(model.logits(params, images))[0])
    assert clf.prob(obs) == pytest.approx(1 / (1 + np.exp(-logit / 2.0)), rel=1e-5)
    assert str(clf.predicate) == "state[1] > 0"


def test_corrupt_files_are_refused_naming_the_problem(saved, tmp_path) -> None:
    path, _, _params, header = saved
    bad = tmp_path / "truncated.npz"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ClassifierFileError, match="not a readable classifier"):
        load_classifier(bad)
    with pytest.raises(ClassifierFileError, match="no classifier file"):
        load_classifier(tmp_path / "absent.npz")
    with pytest.raises(ClassifierFileError, match="no header_json"):
        load_classifier(_rewrite(path, tmp_path / "a.npz", drop=["header_json"]))
    with pytest.raises(ClassifierFileError, match="version 7"):
        load_classifier(_rewrite(path, tmp_path / "b.npz", header={**header, "version": 7}))
    with pytest.raises(ClassifierFileError, match="format is 'other'"):
        load_classifier(_rewrite(path, tmp_path / "c.npz", header={**header, "format": "other"}))
    key = "params/trainable/head/logit/kernel"
    with pytest.raises(ClassifierFileError, match=r"wrong shapes.*logit/kernel"):
        load_classifier(_rewrite(path, tmp_path / "d.npz", change={key: np.zeros((3, 1))}))
    with pytest.raises(ClassifierFileError, match=r"missing.*logit/kernel"):
        load_classifier(_rewrite(path, tmp_path / "e.npz", drop=[key]))
    with np.load(path) as f:
        nan = f[key].copy()
    nan[0] = np.nan
    with pytest.raises(ClassifierFileError, match=r"NaN.*logit/kernel"):
        load_classifier(_rewrite(path, tmp_path / "f.npz", change={key: nan}))
    with pytest.raises(ClassifierFileError, match=r"threshold 1\.5"):
        load_classifier(_rewrite(path, tmp_path / "g.npz", header={**header, "threshold": 1.5}))
    other_arch = {**header, "model": {**header["model"], "latent_dim": 16}}
    with pytest.raises(ClassifierFileError, match="wrong shapes"):
        load_classifier(_rewrite(path, tmp_path / "h.npz", header=other_arch))
    wrong_norm = {**header, "normalization": "imagenet_mean_std"}
    with pytest.raises(ClassifierFileError, match="normalization"):
        load_classifier(_rewrite(path, tmp_path / "i.npz", header=wrong_norm))


def test_an_env_the_model_does_not_fit_is_refused(saved) -> None:
    path = saved[0]
    with pytest.raises(ClassifierFileError, match=r"camera 'wrist'.*does not observe"):
        load_classifier(path, spec(cameras=("front",)))
    shapes = r"camera 'front'.*\(32, 32, 3\).*\(16, 16, 3\)"
    with pytest.raises(ClassifierFileError, match=shapes):
        load_classifier(path, spec(size=32))
    with pytest.raises(ClassifierFileError, match=r"state.*only 1 entries"):
        load_classifier(path, spec(state_dim=1))
