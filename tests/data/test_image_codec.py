"""Image codecs: yuv420 error bound, exact luma, numpy and jax decoders bit-identical."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.data.image_codec import RGBCodec, YUV420Codec, get_codec

SHAPE = (128, 128, 3)


def natural_images(rng: np.random.Generator, n: int = 4, size: int = 128) -> np.ndarray:
    """Smooth colour fields, soft blobs and sensor-like noise: what a camera sees."""
    yy, xx = np.mgrid[0:size, 0:size] / size
    out = []
    for _ in range(n):
        img = np.zeros((size, size, 3))
        for ch in range(3):
            f, p = rng.uniform(1, 6, 2), rng.uniform(0, 6, 2)
            img[..., ch] = 128 + 60 * np.sin(3 * f[0] * xx + p[0]) * np.cos(3 * f[1] * yy + p[1])
        for _ in range(3):
            cx, cy, r = rng.uniform(0, 1, 3)
            colour = rng.uniform(-80, 80, 3)
            img += colour * np.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (0.02 + 0.05 * r))[
                ..., None
            ]
        img += rng.normal(0, 2, img.shape)
        out.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(out)


def test_yuv420_error_bound_on_natural_images():
    codec = YUV420Codec()
    x = natural_images(np.random.default_rng(0))
    stored = codec.encode(x)
    assert stored.shape == (4, 192, 128) and stored.dtype == np.uint8
    assert stored[0].nbytes == 128 * 128 * 3 // 2
    err = np.abs(codec.decode(stored, SHAPE).astype(np.int64) - x)
    psnr = 20 * np.log10(255 / np.sqrt(np.mean(err.astype(np.float64) ** 2)))
    assert psnr >= 36.0, psnr
    assert err.mean() <= 3.0
    assert err.max() <= 24


def test_yuv420_luma_plane_is_the_exact_bt601_luma():
    codec = YUV420Codec()
    x = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    ref = x.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    y = codec.encode(x)[:, :16, :].astype(np.float64)
    # Rounded to the nearest integer (float32 arithmetic may tie-break within 1e-4).
    assert np.all(np.abs(y - ref) <= 0.5 + 1e-4)


def test_yuv420_grey_and_flat_colour_blocks():
    codec = YUV420Codec()
    rng = np.random.default_rng(2)
    grey = np.repeat(rng.integers(0, 256, (5, 8, 8, 1), dtype=np.uint8), 3, axis=-1)
    np.testing.assert_array_equal(codec.decode(codec.encode(grey), (8, 8, 3)), grey)
    # Colour constant on each 2x2 block loses only the rounding of the transform.
    blocks = rng.integers(0, 256, (5, 4, 4, 3), dtype=np.uint8)
    flat = np.repeat(np.repeat(blocks, 2, axis=1), 2, axis=2)
    err = np.abs(codec.decode(codec.encode(flat), (8, 8, 3)).astype(int) - flat)
    assert err.max() <= 3


def test_numpy_and_jax_decoders_agree_bit_for_bit():
    jax = pytest.importorskip("jax")
    codec = YUV420Codec()
    rng = np.random.default_rng(3)
    x = np.concatenate([natural_images(rng, 2, 32),
                        rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)])
    stored = codec.encode(x)
    host = codec.decode(stored, (32, 32, 3))
    device = jax.jit(lambda s: codec.decode_jax(s, (32, 32, 3)))(stored)
    assert device.dtype == np.uint8
    np.testing.assert_array_equal(np.asarray(device), host)


def test_rgb_codec_is_lossless():
    codec = get_codec("rgb")
    assert isinstance(codec, RGBCodec)
    x = np.random.default_rng(4).integers(0, 256, (2, 6, 6, 3), dtype=np.uint8)
    np.testing.assert_array_equal(codec.decode(codec.encode(x), (6, 6, 3)), x)
    assert codec.stored_shape((6, 6, 3)) == (6, 6, 3)


def test_codec_errors_name_the_problem():
    with pytest.raises(ValueError, match="even-sized"):
        YUV420Codec().stored_shape((7, 8, 3))
    with pytest.raises(ValueError, match="uint8"):
        YUV420Codec().encode(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="unknown image codec 'jpeg'"):
        get_codec("jpeg")
