"""The classifier file: every parameter plus a JSON header, in one ``.npz``.

Layout (``np.savez``, read with ``allow_pickle=False``):

- ``header_json``: 0-d string, the header below;
- ``params/trainable/...`` and ``params/frozen/...``: every parameter, '/'-joined paths.
  A frozen ResNet-10 is stored too, so the file alone reproduces the training-time
  scores (the pretrained file it came from is named, with its SHA-256, for provenance).

Header: ``format`` ("silri_jax.reward_classifier"), ``version``, ``model`` (backbone
and head sizes), ``preprocessing`` (cameras, recorded frame shapes, crops, image size),
``normalization`` (what the backbone does to pixels), ``temperature``, ``threshold``
(on the calibrated probability), ``consecutive``, ``predicate``, ``pretrained`` and
``metrics`` (the held-out figures it was chosen with).

:func:`load_classifier` refuses a file it cannot trust with a ``ClassifierFileError``
that names what is wrong: unreadable, no header, another format or version, a header
field missing or out of range, a parameter missing, unexpected, of the wrong shape or
not finite; :meth:`Classifier.check_spec` refuses an env whose cameras or vectors differ.
"""

from __future__ import annotations

import hashlib
import json
import pathlib
from collections.abc import Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from flax.traverse_util import flatten_dict, unflatten_dict

from silri_jax.reward.model import ModelSpec, Params, RewardModel
from silri_jax.reward.preprocessing import NORMALIZATIONS, Predicate, Preprocessing
from silri_jax.specs import EnvSpec

FORMAT = "silri_jax.reward_classifier"
VERSION = 1
FILE_NAME = "classifier.npz"


class ClassifierFileError(ValueError):
    """A classifier file that cannot be used; the message names the file and the problem."""


def file_sha256(path: str | pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def resolve_path(path: str | pathlib.Path) -> pathlib.Path:
    """A model directory (the trainer's ``--out``) or the ``.npz`` itself."""
    p = pathlib.Path(path).expanduser()
    return p / FILE_NAME if p.is_dir() else p


class Classifier:
    """A loaded classifier: ``prob(obs)`` for one observation, with the training-time
    preprocessing, the calibrated temperature and the chosen threshold."""

    def __init__(self, model: RewardModel, params: Params, *, temperature: float,
                 threshold: float, consecutive: int, predicate: Predicate,
                 header: Mapping[str, Any] | None = None) -> None:
        self.model, self.params = model, params
        self.temperature, self.threshold = float(temperature), float(threshold)
        self.consecutive, self.predicate = int(consecutive), predicate
        self.header = dict(header or {})
        self._logits = jax.jit(model.logits)
        # preprocessing and network in one compiled call: one dispatch per step
        self._logits_raw = jax.jit(
            lambda params, raw: model.logits(params, model.prep.apply_jax(raw)))

    @property
    def prep(self) -> Preprocessing:
        return self.model.prep

    def check_spec(self, spec: EnvSpec) -> None:
        """Raises ``ClassifierFileError`` naming the camera or predicate term that the env's
        spec does not match."""
        try:
            self.prep.check_spec(spec)
            self.predicate.check_spec(spec)
        except ValueError as e:
            raise ClassifierFileError(f"classifier does not fit this env: {e}") from None

    def logits_of(self, images: Mapping[str, np.ndarray]) -> np.ndarray:
        """Logits of already preprocessed frames (camera key -> [B, S, S, 3])."""
        return np.asarray(self._logits(self.params, {k: jnp.asarray(v)
                                                     for k, v in images.items()}))

    def prob(self, obs: Mapping[str, np.ndarray]) -> float:
        """Calibrated probability that one raw observation shows success (batch of one)."""
        self.prep.check_frames(obs)
        raw = {k: np.asarray(obs[k])[None] for k in self.prep.keys}
        logit = float(self._logits_raw(self.params, raw)[0])
        return float(1.0 / (1.0 + np.exp(-logit / self.temperature)))

    def probs_from_logits(self, logits: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-np.asarray(logits, np.float64) / self.temperature))


def header_of(model: RewardModel, *, temperature: float, threshold: float, consecutive: int,
              predicate: Predicate, pretrained_path: str = "",
              metrics: Mapping[str, Any] | None = None) -> dict[str, Any]:
    pre = None
    if pretrained_path:
        pre = {"path": str(pretrained_path), "sha256": file_sha256(pretrained_path)}
    return {"format": FORMAT, "version": VERSION, "model": model.spec.to_json(),
            "preprocessing": model.prep.to_json(),
            "normalization": NORMALIZATIONS[model.spec.backbone],
            "temperature": float(temperature), "threshold": float(threshold),
            "consecutive": int(consecutive), "predicate": predicate.to_json(),
            "pretrained": pre, "metrics": dict(metrics or {})}


def save_classifier(path: str | pathlib.Path, params: Params, header: Mapping[str, Any]
                    ) -> pathlib.Path:
    """Writes params and header atomically (temp file, then rename)."""
    path = pathlib.Path(path)
    if path.suffix != ".npz":
        path.mkdir(parents=True, exist_ok=True)
        path = path / FILE_NAME
    arrays: dict[str, Any] = {"header_json": np.str_(json.dumps(dict(header)))}
    for k, v in flatten_dict(jax.device_get(params)).items():
        arrays["params/" + "/".join(k)] = np.asarray(v)
    tmp = path.with_suffix(".tmp.npz")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    tmp.replace(path)
    return path


def _field(header: Mapping[str, Any], name: str, src: str) -> Any:
    if name not in header:
        raise ClassifierFileError(f"{src}: header has no {name!r}")
    return header[name]


def load_classifier(path: str | pathlib.Path, spec: EnvSpec | None = None) -> Classifier:
    """Reads and checks a classifier file (and, given ``spec``, that it fits the env)."""
    p = resolve_path(path)
    src = str(p)
    if not p.is_file():
        raise ClassifierFileError(f"{src}: no classifier file there")
    try:
        with np.load(p, allow_pickle=False) as f:
            arrays = {k: np.asarray(f[k]) for k in f.files}
    except Exception as e:  # zipfile, OSError, ValueError: all mean unreadable
        raise ClassifierFileError(f"{src}: not a readable classifier .npz ({e})") from None
    if "header_json" not in arrays:
        raise ClassifierFileError(f"{src}: no header_json entry (not a classifier file)")
    try:
        header = json.loads(str(arrays.pop("header_json")))
    except json.JSONDecodeError as e:
        raise ClassifierFileError(f"{src}: header is not valid JSON ({e})") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        fmt = header.get("format") if isinstance(header, dict) else None
        raise ClassifierFileError(f"{src}: header format is {fmt!r}, expected {FORMAT!r}")
    if header.get("version") != VERSION:
        raise ClassifierFileError(f"{src}: version {header.get('version')!r}; this code "
                                  f"reads version {VERSION}")
    try:
        mspec = ModelSpec.from_json(_field(header, "model", src))
        prep = Preprocessing.from_json(_field(header, "preprocessing", src))
        predicate = Predicate.from_json(_field(header, "predicate", src))
    except (KeyError, TypeError, ValueError) as e:
        raise ClassifierFileError(f"{src}: bad header: {e}") from None
    norm = _field(header, "normalization", src)
    if norm != NORMALIZATIONS[mspec.backbone]:
        raise ClassifierFileError(f"{src}: normalization {norm!r} is not what the "
                                  f"{mspec.backbone} backbone does "
                                  f"({NORMALIZATIONS[mspec.backbone]!r})")
    temperature = float(_field(header, "temperature", src))
    threshold = float(_field(header, "threshold", src))
    consecutive = int(_field(header, "consecutive", src))
    if not (np.isfinite(temperature) and temperature > 0):
        raise ClassifierFileError(f"{src}: temperature {temperature} must be > 0")
    if not 0.0 <= threshold <= 1.0:
        raise ClassifierFileError(f"{src}: threshold {threshold} must be in [0, 1]")
    if consecutive < 1:
        raise ClassifierFileError(f"{src}: consecutive {consecutive} must be >= 1")
    model = RewardModel(mspec, prep)
    params = _check_params(arrays, model, src)
    clf = Classifier(model, params, temperature=temperature, threshold=threshold,
                     consecutive=consecutive, predicate=predicate, header=header)
    if spec is not None:
        clf.check_spec(spec)
    return clf


def _check_params(arrays: Mapping[str, np.ndarray], model: RewardModel, src: str) -> Params:
    template = jax.eval_shape(model.init, jax.random.PRNGKey(0))
    expected = {"params/" + "/".join(k): v for k, v in flatten_dict(template).items()}
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    wrong = sorted(f"{k}: file {tuple(arrays[k].shape)}, model {tuple(expected[k].shape)}"
                   for k in set(arrays) & set(expected)
                   if tuple(arrays[k].shape) != tuple(expected[k].shape))
    if missing or extra or wrong:
        def few(xs: list[str]) -> str:
            return f"{xs[:4]}{'...' if len(xs) > 4 else ''}"
        raise ClassifierFileError(
            f"{src}: parameters do not match the {model.spec.backbone} classifier of its "
            f"header: missing {few(missing)}, unexpected {few(extra)}, wrong shapes {few(wrong)}")
    bad = sorted(k for k, v in arrays.items() if not np.all(np.isfinite(v)))
    if bad:
        raise ClassifierFileError(f"{src}: parameters hold NaN or infinite values: {bad[:4]}")
    flat = {tuple(k.split("/")[1:]): jnp.asarray(v, expected[k].dtype) for k, v in arrays.items()}
    params = unflatten_dict(flat)
    params.setdefault("trainable", {})
    params.setdefault("frozen", {})
    return params
