"""What happens to a frame before the classifier sees it, in one object saved WITH the model.

LeRobot's classifier trains on normalised images and is served unnormalised frames; here
the crop, the resize and the input shapes live in the model file's header, and training
and inference both call :meth:`Preprocessing.apply` (numpy, the project's own ``resize``
of ``silri_jax.envs.wrappers``). Pixel normalisation is the backbone's first operation
(``SmallConv``: x/255 - 0.5, ``ResNet10``: ImageNet statistics), so it cannot differ
between the two either; its name is stored in the header and checked on load.

The proprioceptive :class:`Predicate` ("gripper closed and the TCP above a height") is
parsed from a config string such as ``"state[15] < -0.5 and state[2] > 0.2"``.
"""

from __future__ import annotations

import dataclasses
import operator
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import chex
import jax
import jax.numpy as jnp
import numpy as np

from silri_jax.envs.wrappers import resize
from silri_jax.specs import IMAGE_PREFIX, EnvSpec

Crop = tuple[int, int, int, int]

NORMALIZATIONS = {"small_conv": "x/255-0.5", "resnet10": "imagenet_mean_std"}


def camera_key(name: str) -> str:
    return IMAGE_PREFIX + name


def parse_crops(text: str) -> dict[str, Crop]:
    """``"front:0,8,48,48;wrist:4,4,56,56"`` -> ``{"front": (0, 8, 48, 48), ...}``."""
    crops: dict[str, Crop] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        name, sep, nums = part.partition(":")
        try:
            values = tuple(int(v) for v in nums.split(","))
        except ValueError:
            values = ()
        if not sep or len(values) != 4:
            raise ValueError(f"crop {part!r}: expected name:top,left,height,width")
        crops[name.strip()] = values  # type: ignore[assignment]
    return crops


@dataclasses.dataclass(frozen=True)
class Preprocessing:
    """Per-camera crop then resize to ``image_size`` x ``image_size``.

    ``input_shapes`` are the recorded frame shapes: the model is refused on an env whose
    cameras differ, rather than silently resizing frames it was never trained on.
    """

    cameras: tuple[str, ...]
    input_shapes: Mapping[str, tuple[int, int, int]]
    image_size: int
    crops: Mapping[str, Crop] = dataclasses.field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.cameras:
            raise ValueError("the classifier needs at least one camera")
        if self.image_size <= 0:
            raise ValueError(f"image_size must be positive, got {self.image_size}")
        for cam in self.cameras:
            if "/" in cam or not cam:
                raise ValueError(f"camera name {cam!r}: a non-empty name without '/'")
            if cam not in self.input_shapes:
                raise ValueError(f"camera {cam!r} has no input shape")
        for cam, crop in self.crops.items():
            if cam not in self.cameras:
                raise ValueError(f"crop for camera {cam!r}, which the classifier does not use "
                                 f"(cameras: {list(self.cameras)})")
            h, w = self.input_shapes[cam][:2]
            t, l, ch, cw = crop
            if min(crop) < 0 or ch <= 0 or cw <= 0 or t + ch > h or l + cw > w:
                raise ValueError(f"crop {tuple(crop)} of camera {cam!r} does not fit its "
                                 f"{h}x{w} frames (top, left, height, width)")

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(camera_key(c) for c in self.cameras)

    def apply_frames(self, cam: str, frames: np.ndarray) -> np.ndarray:
        """uint8 [..., H, W, 3] of camera ``cam`` -> uint8 [..., S, S, 3]."""
        frames = np.asarray(frames)
        shape = tuple(self.input_shapes[cam])
        if frames.shape[-3:] != shape or frames.dtype != np.uint8:
            raise ValueError(f"camera {cam!r}: frames of shape {frames.shape[-3:]} "
                             f"{frames.dtype}, the classifier was trained on {shape} uint8")
        crop = self.crops.get(cam)
        if crop is not None:
            t, l, h, w = crop
            frames = frames[..., t : t + h, l : l + w, :]
        lead = frames.shape[:-3]
        flat = frames.reshape((-1, *frames.shape[-3:]))
        out = np.stack([resize(np.ascontiguousarray(f), self.image_size) for f in flat])
        return out.reshape((*lead, self.image_size, self.image_size, 3))

    def apply_jax(self, images: Mapping[str, jax.Array]) -> dict[str, jax.Array]:
        """The same crop and resize as :meth:`apply`, traced (for a jitted inference that
        fuses preprocessing and the network); bit-identical to it (a test checks)."""
        out = {}
        for cam in self.cameras:
            x = images[camera_key(cam)]
            chex.assert_type(x, jnp.uint8)
            chex.assert_shape(x, (..., *self.input_shapes[cam]))
            crop = self.crops.get(cam)
            if crop is not None:
                t, l, h, w = crop
                x = x[..., t : t + h, l : l + w, :]
            out[camera_key(cam)] = resize_jax(x, self.image_size)
        return out

    def check_frames(self, obs: Mapping[str, np.ndarray]) -> None:
        """Raises naming the camera whose frame is absent or not of the trained shape."""
        for cam in self.cameras:
            key = camera_key(cam)
            if key not in obs:
                raise ValueError(f"observation lacks the classifier's camera {cam!r}")
            frame = obs[key]
            if frame.shape[-3:] != tuple(self.input_shapes[cam]) or frame.dtype != np.uint8:
                raise ValueError(f"camera {cam!r}: frames of shape {frame.shape[-3:]} "
                                 f"{frame.dtype}, the classifier was trained on "
                                 f"{tuple(self.input_shapes[cam])} uint8")

    def apply(self, obs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """An observation (or a batch of them) -> ``{camera key: preprocessed frames}``."""
        missing = [k for k in self.keys if k not in obs]
        if missing:
            raise ValueError(f"observation lacks the classifier's cameras {missing}")
        return {camera_key(c): self.apply_frames(c, obs[camera_key(c)]) for c in self.cameras}

    def check_spec(self, spec: EnvSpec) -> None:
        """Raises naming the camera when ``spec``'s frames differ from the trained ones."""
        entries = spec.observation.entries
        for cam in self.cameras:
            key = camera_key(cam)
            if key not in entries:
                raise ValueError(f"the classifier needs camera {cam!r}, which the env does not "
                                 f"observe (it has {list(spec.observation.image_keys)})")
            got = tuple(entries[key].shape)
            if got != tuple(self.input_shapes[cam]):
                raise ValueError(f"camera {cam!r}: the env gives {got} frames, the classifier "
                                 f"was trained on {tuple(self.input_shapes[cam])}")

    def to_json(self) -> dict[str, Any]:
        return {"cameras": list(self.cameras),
                "input_shapes": {c: list(self.input_shapes[c]) for c in self.cameras},
                "image_size": int(self.image_size),
                "crops": {c: list(v) for c, v in self.crops.items()}}

    @classmethod
    def from_json(cls, d: Mapping[str, Any]) -> Preprocessing:
        return cls(cameras=tuple(d["cameras"]),
                   input_shapes={c: tuple(int(x) for x in s)
                                 for c, s in d["input_shapes"].items()},
                   image_size=int(d["image_size"]),
                   crops={c: tuple(int(x) for x in v)  # type: ignore[misc]
                          for c, v in d.get("crops", {}).items()})


def resize_jax(img: jax.Array, size: int) -> jax.Array:
    """``silri_jax.envs.wrappers.resize`` in JAX over any leading axes: area averaging
    (rounded to nearest, in integers: exact) for integer factors, else nearest-neighbour
    with the same indices."""
    h, w = img.shape[-3], img.shape[-2]
    if (h, w) == (size, size):
        return img
    lead = img.shape[:-3]
    if h % size == 0 and w % size == 0:
        fh, fw = h // size, w // size
        blocks = img.reshape((*lead, size, fh, size, fw, img.shape[-1])).astype(jnp.int32)
        total = blocks.sum(axis=(-4, -2))
        n = fh * fw
        return ((total + n // 2) // n).astype(jnp.uint8)
    rows = (np.arange(size) * h / size + 0.5 * h / size).astype(int).clip(0, h - 1)
    cols = (np.arange(size) * w / size + 0.5 * w / size).astype(int).clip(0, w - 1)
    return jnp.take(jnp.take(img, rows, axis=-3), cols, axis=-2)


# ------------------------------------------------------------------------------ predicate
_OPS: dict[str, Callable[[Any, Any], Any]] = {
    "<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}
_TERM = re.compile(r"^\s*([A-Za-z_][\w/]*)\[(\d+)\]\s*(<=|>=|<|>)\s*([-+0-9.eE]+)\s*$")


@dataclasses.dataclass(frozen=True)
class Condition:
    """``obs[key][index] op value``."""

    key: str
    index: int
    op: str
    value: float

    def __call__(self, obs: Mapping[str, np.ndarray]) -> bool:
        return bool(_OPS[self.op](float(np.asarray(obs[self.key]).reshape(-1)[self.index]),
                                  self.value))

    def __str__(self) -> str:
        return f"{self.key}[{self.index}] {self.op} {self.value:g}"


@dataclasses.dataclass(frozen=True)
class Predicate:
    """A conjunction of conditions on observation vectors; empty: always true."""

    conditions: tuple[Condition, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Predicate:
        conds = []
        for term in filter(None, (t.strip() for t in re.split(r"\band\b", text or ""))):
            m = _TERM.match(term)
            if m is None:
                raise ValueError(f"predicate term {term!r}: expected KEY[INDEX] OP VALUE with "
                                 "OP one of <, <=, >, >= (e.g. state[2] > 0.2)")
            try:
                value = float(m.group(4))
            except ValueError:
                raise ValueError(f"predicate term {term!r}: {m.group(4)!r} is not a number"
                                 ) from None
            conds.append(Condition(m.group(1), int(m.group(2)), m.group(3), value))
        return cls(tuple(conds))

    def __call__(self, obs: Mapping[str, np.ndarray]) -> bool:
        return all(c(obs) for c in self.conditions)

    def __str__(self) -> str:
        return " and ".join(str(c) for c in self.conditions)

    def batch(self, vectors: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """bool [n]: the predicate over ``n`` rows of vector observations ([n, d] each)."""
        ok = np.ones(n, bool)
        for c in self.conditions:
            column = np.asarray(vectors[c.key]).reshape(n, -1)[:, c.index]
            ok &= _OPS[c.op](column, c.value)
        return ok

    def check_spec(self, spec: EnvSpec) -> None:
        """Raises naming the term when ``spec`` has no such observation entry."""
        for c in self.conditions:
            entry = spec.observation.entries.get(c.key)
            if entry is None or c.key.startswith(IMAGE_PREFIX):
                raise ValueError(f"predicate term '{c}': the env has no vector observation "
                                 f"{c.key!r} (it has {list(spec.observation.vector_keys)})")
            size = int(np.prod(entry.shape))
            if c.index >= size:
                raise ValueError(f"predicate term '{c}': {c.key!r} has only {size} entries")

    def to_json(self) -> list[dict[str, Any]]:
        return [dataclasses.asdict(c) for c in self.conditions]

    @classmethod
    def from_json(cls, items: Sequence[Mapping[str, Any]]) -> Predicate:
        conds = []
        for it in items:
            if it["op"] not in _OPS:
                raise ValueError(f"predicate operator {it['op']!r} is not one of {list(_OPS)}")
            conds.append(Condition(str(it["key"]), int(it["index"]), str(it["op"]),
                                   float(it["value"])))
        return cls(tuple(conds))
