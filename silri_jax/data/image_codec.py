"""Image codecs for the replay buffers: how a uint8 HxWx3 camera frame is stored.

Raw RGB costs 3 bytes a pixel; two 128x128 cameras are 96 KB a frame, which would put a
100k-transition buffer near 10 GB. ``"yuv420"`` keeps full-resolution luma and 2x2
subsampled chroma (BT.601 full range, as in JPEG), 1.5 bytes a pixel: half the memory for
an error the eye and a conv encoder hardly see. Luma carries the edges, so it is kept
exactly (the stored Y plane is the rounded BT.601 luma of the input).

Stored layout of one yuv420 frame: a uint8 array of shape ``(3H/2, W)``; rows ``[0, H)``
are the Y plane, rows ``[H, 3H/2)`` hold U in columns ``[0, W/2)`` and V in
``[W/2, W)``. One array per camera keeps the buffer's storage a plain dict of arrays.

Decoding uses integer fixed-point arithmetic (16 fractional bits, round half up) so the
numpy decoder and the ``jax.numpy`` decoder agree bit for bit: the learner may decode on
the accelerator inside its compiled update and see exactly what a host decode would give.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Protocol

import numpy as np

# BT.601 full-range inverse transform, scaled by 2**16 and rounded.
_FIX = 16
_HALF = 1 << (_FIX - 1)
_R_V = 91881  # 1.402
_G_U = 22554  # 0.344136
_G_V = 46802  # 0.714136
_B_U = 116130  # 1.772


class ImageCodec(Protocol):
    """How one camera's frames are stored: encode on the host, decode on host or device."""

    name: str

    def stored_shape(self, image_shape: tuple[int, ...]) -> tuple[int, ...]:
        """Shape of one stored frame for an ``(H, W, 3)`` image."""
        ...

    def encode(self, images: np.ndarray) -> np.ndarray:
        """``uint8[..., H, W, 3]`` -> stored ``uint8[..., *stored_shape]``."""
        ...

    def decode(self, stored: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
        """Stored frames -> ``uint8[..., H, W, 3]`` with numpy."""
        ...

    def decode_jax(self, stored: Any, image_shape: tuple[int, ...]) -> Any:
        """Stored frames -> ``uint8[..., H, W, 3]`` with ``jax.numpy`` (jit-able)."""
        ...


def _check_image(images: np.ndarray, name: str) -> None:
    if images.dtype != np.uint8 or images.ndim < 3 or images.shape[-1] != 3:
        raise ValueError(
            f"{name} codec expects uint8 [..., H, W, 3] images, got {images.dtype} "
            f"{images.shape}"
        )


@dataclasses.dataclass(frozen=True)
class RGBCodec:
    """Lossless: the raw uint8 frame, 3 bytes a pixel."""

    name: str = "rgb"

    def stored_shape(self, image_shape: tuple[int, ...]) -> tuple[int, ...]:
        return tuple(image_shape)

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        _check_image(images, self.name)
        return images

    def decode(self, stored: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
        return np.asarray(stored)

    def decode_jax(self, stored: Any, image_shape: tuple[int, ...]) -> Any:
        return stored


def _fixmul_table(coef: int) -> np.ndarray:
    """``round(coef * (c - 128) / 2**16)`` for every uint8 chroma value c, as int16."""
    c = np.arange(256, dtype=np.int64) - 128
    return ((coef * c + _HALF) >> _FIX).astype(np.int16)


_LUT_R_V, _LUT_G_U, _LUT_G_V, _LUT_B_U = (_fixmul_table(k) for k in (_R_V, _G_U, _G_V, _B_U))


@dataclasses.dataclass(frozen=True)
class YUV420Codec:
    """BT.601 full-range YUV with 4:2:0 chroma, 1.5 bytes a pixel (H and W must be even)."""

    name: str = "yuv420"

    def stored_shape(self, image_shape: tuple[int, ...]) -> tuple[int, ...]:
        h, w, c = image_shape
        if c != 3 or h % 2 or w % 2:
            raise ValueError(f"yuv420 needs an even-sized HxWx3 image, got {image_shape}")
        return (h + h // 2, w)

    def encode(self, images: np.ndarray) -> np.ndarray:
        images = np.asarray(images)
        _check_image(images, self.name)
        h, w = images.shape[-3:-1]
        self.stored_shape((h, w, 3))
        rgb = images.astype(np.float32)
        lead = images.shape[:-3]
        r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
        y = 0.299 * r + 0.587 * g + 0.114 * b
        # The transform is linear, so averaging each 2x2 block first and converting at
        # quarter resolution gives the same chroma for a quarter of the work.
        pooled = rgb.reshape((*lead, h // 2, 2, w // 2, 2, 3)).mean(axis=(-4, -2))
        pr, pg, pb = pooled[..., 0], pooled[..., 1], pooled[..., 2]
        u = -0.168736 * pr - 0.331264 * pg + 0.5 * pb + 128.0
        v = 0.5 * pr - 0.418688 * pg - 0.081312 * pb + 128.0

        def to_u8(p: np.ndarray) -> np.ndarray:
            return np.clip(np.rint(p), 0, 255).astype(np.uint8)

        chroma = np.concatenate([to_u8(u), to_u8(v)], axis=-1)
        return np.concatenate([to_u8(y), chroma], axis=-2)

    def decode(self, stored: np.ndarray, image_shape: tuple[int, ...]) -> np.ndarray:
        h, w, _ = image_shape
        stored = np.asarray(stored)
        if stored.shape[-2:] != self.stored_shape(image_shape):
            raise ValueError(f"yuv420 frame shape {stored.shape} does not fit {image_shape}")
        lead = stored.shape[:-2]
        # Chroma terms at quarter resolution through 256-entry tables (the same fixed-point
        # values the jax decoder computes), then one broadcast add per channel at full
        # resolution in int16: several times fewer full-size passes than the formula.
        u = stored[..., h:, : w // 2]
        v = stored[..., h:, w // 2 :]
        terms = (_LUT_R_V[v], -(_LUT_G_U[u] + _LUT_G_V[v]), _LUT_B_U[u])
        y = stored[..., :h, :].reshape((*lead, h // 2, 2, w // 2, 2)).astype(np.int16)
        out = np.empty((*lead, h // 2, 2, w // 2, 2, 3), np.uint8)
        for c, term in enumerate(terms):
            full = y + term[..., :, None, :, None]
            np.clip(full, 0, 255, out=full)
            out[..., c] = full
        return out.reshape((*lead, h, w, 3))

    def decode_jax(self, stored: Any, image_shape: tuple[int, ...]) -> Any:
        import jax.numpy as jnp

        h, w, _ = image_shape
        if tuple(stored.shape[-2:]) != self.stored_shape(image_shape):
            raise ValueError(f"yuv420 frame shape {stored.shape} does not fit {image_shape}")
        y = stored[..., :h, :].astype(jnp.int32)
        u = stored[..., h:, : w // 2].astype(jnp.int32) - 128
        v = stored[..., h:, w // 2 :].astype(jnp.int32) - 128
        u = jnp.repeat(jnp.repeat(u, 2, axis=-2), 2, axis=-1)
        v = jnp.repeat(jnp.repeat(v, 2, axis=-2), 2, axis=-1)

        def fixmul(coef: int, x: Any) -> Any:
            return jnp.right_shift(coef * x + _HALF, _FIX)

        r = y + fixmul(_R_V, v)
        g = y - fixmul(_G_U, u) - fixmul(_G_V, v)
        b = y + fixmul(_B_U, u)
        return jnp.clip(jnp.stack([r, g, b], axis=-1), 0, 255).astype(jnp.uint8)


CODECS: dict[str, ImageCodec] = {"rgb": RGBCodec(), "yuv420": YUV420Codec()}


def get_codec(codec: str | ImageCodec) -> ImageCodec:
    """A codec by name (``"rgb"``, ``"yuv420"``) or the codec object itself."""
    if isinstance(codec, str):
        if codec not in CODECS:
            raise ValueError(f"unknown image codec {codec!r}; choose from {sorted(CODECS)}")
        return CODECS[codec]
    return codec


@dataclasses.dataclass(frozen=True)
class ObservationDecoder:
    """Turns stored observation dicts back into the spec's arrays, on host or device.

    Hashable and static, so it can be closed over by (or passed as a static argument to)
    a jitted update that receives encoded batches.
    """

    codec_name: str
    image_shapes: tuple[tuple[str, tuple[int, ...]], ...]

    @property
    def codec(self) -> ImageCodec:
        return get_codec(self.codec_name)

    def _decode_obs(self, obs: dict[str, Any], use_jax: bool) -> dict[str, Any]:
        out = dict(obs)
        for key, shape in self.image_shapes:
            if key in out:
                dec = self.codec.decode_jax if use_jax else self.codec.decode
                out[key] = dec(out[key], shape)
        return out

    def _decode_batch(self, batch: dict[str, Any], use_jax: bool) -> dict[str, Any]:
        out = dict(batch)
        for field in ("observations", "next_observations"):
            if field in out:
                out[field] = self._decode_obs(out[field], use_jax)
        return out

    def numpy(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Decode a batch's images with numpy."""
        return self._decode_batch(batch, use_jax=False)

    def jax(self, batch: dict[str, Any]) -> dict[str, Any]:
        """Decode a batch's images with ``jax.numpy``; call inside jit on the accelerator."""
        return self._decode_batch(batch, use_jax=True)
