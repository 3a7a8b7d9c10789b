"""Writes RGB pictures as PNG files on a headless robot computer.

OpenCV writes them when it is installed (the ``[cameras]`` extra); otherwise a minimal
writer (8-bit RGB, zlib, no filtering) does, so ``python -m silri_jax.cameras crop``
works with nothing but numpy.
"""

from __future__ import annotations

import pathlib
import struct
import zlib

import numpy as np


def _chunk(kind: bytes, payload: bytes) -> bytes:
    return (struct.pack(">I", len(payload)) + kind + payload
            + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF))


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of a uint8 HxWx3 RGB image (no imaging library needed)."""
    img = np.ascontiguousarray(image, np.uint8)
    if img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"PNG writer takes uint8 HxWx3 RGB, got shape {img.shape}")
    h, w = img.shape[:2]
    rows = np.concatenate([np.zeros((h, 1), np.uint8), img.reshape(h, w * 3)], axis=1)
    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit truecolour
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header)
            + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _chunk(b"IEND", b""))


def write_png(path: str | pathlib.Path, image: np.ndarray) -> pathlib.Path:
    """Writes ``image`` (uint8 HxWx3 RGB) to ``path``; OpenCV if present, else zlib."""
    path = pathlib.Path(path)
    try:
        import cv2
    except ImportError:
        path.write_bytes(encode_png(image))
        return path
    if not cv2.imwrite(str(path), np.ascontiguousarray(image[:, :, ::-1])):
        raise OSError(f"cannot write {path} (OpenCV imwrite failed)")
    return path
