"""Camera streams of a LeRobot v3 dataset: encoding with PyAV, random-access decoding.

Encoding. One :class:`VideoFileEncoder` per open ``file-XXX.mp4``: the encoder stays open
while episodes are appended, so a file of many episodes is encoded once, with no
per-episode temporary video, PNG round trip or re-muxing (LeRobot encodes each episode to
its own file and concatenates). Frame ``k`` of the file carries the presentation time
``k / fps`` exactly (pts ``k`` in time base ``1/fps``; the muxer rescales it losslessly),
so an episode's ``from_timestamp`` is the stamped time of its first frame, not a running
sum of float durations. ``g`` (frames between keyframes) is small, 2 by default as in
LeRobot, so a random frame costs at most a keyframe and one more frame to decode. The
moov atom is moved to the front when the file is closed (``faststart``), as in LeRobot's
concatenated files, so readers can stream it.

Codec. LeRobot 0.4 records AV1 with SVT-AV1 (``libsvtav1``, preset 12, crf 30) and decodes
AV1, H.264 and MPEG-4 Part 2 through FFmpeg. :func:`default_codec` picks the first of
``libsvtav1``, ``libx264``, ``mpeg4`` that this PyAV build can encode.

Decoding. :class:`VideoDecoder` keeps the container open; a lookup seeks to the keyframe at
or before the wanted time and decodes forward until a frame lies within half a frame
period of it. A range (a whole episode) is decoded in one pass.
"""

from __future__ import annotations

import fractions
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import av
import numpy as np

from silri_jax.datasets.errors import DatasetError, where

# SVT-AV1 prints its whole configuration to stderr at every encoder start unless told not
# to; level 1 keeps its errors. Set before the first encoder opens (it reads it then).
os.environ.setdefault("SVT_LOG", "1")

CODEC_PREFERENCE = ("libsvtav1", "libx264", "mpeg4")
PIX_FMT = "yuv420p"
DEFAULT_GOP = 2
DEFAULT_CRF = 30
DEFAULT_SVT_PRESET = 12

_log = logging.getLogger(__name__)


def can_encode(name: str) -> bool:
    """Whether this PyAV build has an encoder called ``name``."""
    try:
        av.codec.Codec(name, "w")
    except Exception:  # PyAV raises several types
        return False
    return True


def encodable_codecs() -> list[str]:
    """The preferred codecs this PyAV build can encode, best first."""
    return [name for name in CODEC_PREFERENCE if can_encode(name)]


def default_codec() -> str:
    """``libsvtav1`` when PyAV's FFmpeg has it, else ``libx264``, else ``mpeg4``."""
    codecs = encodable_codecs()
    if not codecs:
        raise RuntimeError(f"PyAV {av.__version__} can encode none of {CODEC_PREFERENCE}")
    return codecs[0]


def canonical_name(codec: str) -> str:
    """The codec name readers report (``libsvtav1`` -> ``av1``), as ``info.json`` holds it."""
    return av.codec.Codec(codec, "w").canonical_name


def codec_options(codec: str, gop: int, crf: int | None, preset: int | None) -> dict[str, str]:
    """FFmpeg options for ``codec`` with LeRobot's meaning of ``g``, ``crf`` and ``preset``."""
    opts = {"g": str(int(gop))}
    if crf is not None and codec in ("libsvtav1", "libx264", "h264", "libx265", "hevc"):
        opts["crf"] = str(int(crf))
    if codec == "libsvtav1":
        opts["preset"] = str(DEFAULT_SVT_PRESET if preset is None else int(preset))
    if codec in ("libx264", "h264"):
        # No B-frames: the decode order is the presentation order, so a seek never needs a
        # frame after the wanted one and the first frame's time is exactly 0.
        opts["bf"] = "0"
        if preset is not None:
            opts["preset"] = str(preset)
    if codec == "mpeg4":
        # A fixed quantiser (FFmpeg's -q:v): crf 30 maps to 3 of MPEG-4's 1 (best) .. 31.
        qscale = max(1, min(31, int(crf if crf is not None else DEFAULT_CRF) // 10))
        opts.update({"flags": "+qscale", "global_quality": str(qscale * 118)})
    return opts


class VideoFileEncoder:
    """One camera's mp4 file being written; episodes are appended to the open stream."""

    def __init__(
        self,
        path: Path,
        fps: int,
        height: int,
        width: int,
        codec: str,
        options: dict[str, str],
    ) -> None:
        if height % 2 or width % 2:
            raise ValueError(f"{path}: frames of {height}x{width} cannot be stored as {PIX_FMT} "
                             "(height and width must be even)")
        self.path = path
        self.fps = int(fps)
        self.height, self.width = int(height), int(width)
        self.frames_written = 0
        self.bytes_written = 0
        self.packets_written = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._time_base = fractions.Fraction(1, self.fps)
        self._container: Any = av.open(str(path), "w", format="mp4",
                                       options={"movflags": "faststart"})
        try:
            stream = self._container.add_stream(codec, rate=self.fps, options=options)
            stream.width, stream.height, stream.pix_fmt = self.width, self.height, PIX_FMT
            stream.codec_context.time_base = self._time_base
        except BaseException:
            self._container.close()
            raise
        self._stream = stream

    def append(self, frames: np.ndarray) -> tuple[float, float]:
        """Encodes ``[T, H, W, 3]`` uint8 frames after those already in the file.

        Returns the episode's ``(from_timestamp, to_timestamp)`` in the file: the stamped
        time of its first frame and the end of its last frame.
        """
        if frames.ndim != 4 or frames.shape[1:] != (self.height, self.width, 3):
            raise ValueError(f"{self.path}: frames of shape {frames.shape[1:]}, this file "
                             f"holds {(self.height, self.width, 3)}")
        first = self.frames_written
        frames = np.ascontiguousarray(frames, dtype=np.uint8)
        for i in range(len(frames)):
            frame = av.VideoFrame.from_ndarray(frames[i], format="rgb24")
            frame.pts = first + i
            frame.time_base = self._time_base
            self._mux(self._stream.encode(frame))
        self.frames_written = first + len(frames)
        return float(first * self._time_base), float(self.frames_written * self._time_base)

    def _mux(self, packets: Sequence[Any]) -> None:
        for packet in packets:
            self.bytes_written += packet.size
            self.packets_written += 1
            self._container.mux(packet)

    def estimated_size(self, more_frames: int) -> float:
        """Bytes the file would hold after ``more_frames`` more frames.

        Encoders hold frames back (SVT-AV1 about 24), so the frames not yet output are
        counted at the mean size of those that were; 0 while nothing was output yet.
        """
        if not self.packets_written:
            return 0.0
        per_frame = self.bytes_written / self.packets_written
        pending = self.frames_written - self.packets_written + more_frames
        return self.bytes_written + per_frame * pending

    def close(self) -> None:
        """Flushes the encoder and writes the index; the file is complete afterwards."""
        if self._container is None:
            return
        try:
            self._mux(self._stream.encode(None))
        finally:
            container, self._container = self._container, None
            container.close()

    @property
    def closed(self) -> bool:
        return self._container is None


def _open(path: Path) -> Any:
    if not path.is_file():
        raise where(path, "missing video file")
    try:
        container = av.open(str(path), "r")
    except (av.FFmpegError, OSError, ValueError) as e:
        raise where(path, f"unreadable video ({e}); the file is truncated or corrupt, or the "
                          "writer was not finalized") from None
    if not container.streams.video:
        container.close()
        raise where(path, "holds no video stream")
    return container


class VideoDecoder:
    """Decodes frames of one mp4 by presentation time; keeps the file open."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._container = _open(path)
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        self._tb = self._stream.time_base

    @property
    def size(self) -> tuple[int, int]:
        """(height, width) of the stream."""
        return int(self._stream.height), int(self._stream.width)

    def frames_at(self, times: Sequence[float], tolerance: float) -> np.ndarray:
        """``[len(times), H, W, 3]`` uint8 frames nearest to ascending ``times`` (seconds).

        Raises :class:`DatasetError` when a frame is farther than ``tolerance`` from its
        time (a frame missing from the file, or timestamps that do not match it).
        """
        want = np.asarray(times, np.float64)
        if want.size == 0:
            h, w = self.size
            return np.zeros((0, h, w, 3), np.uint8)
        if np.any(np.diff(want) < 0):
            raise ValueError("frames_at needs ascending times")
        out: list[np.ndarray | None] = [None] * len(want)
        best = np.full(len(want), np.inf)
        last = want[-1]
        try:
            self._container.seek(max(0, round(want[0] / self._tb)), stream=self._stream,
                                 backward=True, any_frame=False)
            j = 0
            for frame in self._container.decode(self._stream):
                if frame.pts is None:
                    continue
                t = float(frame.pts * self._tb)
                while j < len(want) and want[j] < t - tolerance:
                    j += 1  # passed: keep whatever was nearest
                k = j
                image = None
                while k < len(want) and abs(want[k] - t) <= tolerance:
                    if abs(want[k] - t) < best[k]:
                        image = frame.to_ndarray(format="rgb24") if image is None else image
                        out[k], best[k] = image, abs(want[k] - t)
                    k += 1
                if t > last + tolerance:
                    break
        except av.FFmpegError as e:
            raise where(self.path, f"decoding failed near t={want[0]:.4f}s ({e}); the file is "
                                   "truncated or corrupt") from None
        missing = [float(want[i]) for i in range(len(want)) if out[i] is None]
        if missing:
            raise where(self.path, f"{len(missing)} frame(s) missing: no frame within "
                                   f"{tolerance * 1000:.1f} ms of t={missing[:3]}s (truncated "
                                   "file, or timestamps that do not match it)")
        return np.stack(out)  # type: ignore[arg-type]

    def close(self) -> None:
        self._container.close()


class DecoderCache:
    """Open decoders by path, so random access does not reopen files (bounded LRU)."""

    def __init__(self, max_open: int = 16) -> None:
        self._open: dict[Path, VideoDecoder] = {}
        self._max_open = max_open

    def get(self, path: Path) -> VideoDecoder:
        dec = self._open.pop(path, None)
        if dec is None:
            dec = VideoDecoder(path)
            if len(self._open) >= self._max_open:
                oldest = next(iter(self._open))
                self._open.pop(oldest).close()
        self._open[path] = dec
        return dec

    def close(self) -> None:
        for dec in self._open.values():
            dec.close()
        self._open.clear()


def probe(path: Path) -> dict[str, Any]:
    """Stream facts without decoding: packet presentation times (sorted), duration, size.

    Reads every packet header, so a truncated file shows up as missing packets or an error.
    """
    container = _open(path)
    try:
        stream = container.streams.video[0]
        tb = stream.time_base
        times = []
        for packet in container.demux(stream):
            if packet.pts is not None:
                times.append(float(packet.pts * tb))
        duration = (float(stream.duration * tb) if stream.duration is not None
                    else float(container.duration or 0) / av.time_base)
        return {
            "times": np.sort(np.asarray(times, np.float64)),
            "duration": duration,
            "height": int(stream.height),
            "width": int(stream.width),
            "codec": stream.codec_context.name,
            "fps": float(stream.average_rate) if stream.average_rate else None,
        }
    except av.FFmpegError as e:
        raise where(path, f"unreadable video stream ({e}); the file is truncated or corrupt"
                    ) from None
    finally:
        container.close()


def video_info(codec: str, height: int, width: int, fps: int) -> dict[str, Any]:
    """The ``info`` block LeRobot stores under a video feature in ``info.json``."""
    return {
        "video.height": int(height),
        "video.width": int(width),
        "video.codec": canonical_name(codec),
        "video.pix_fmt": PIX_FMT,
        "video.is_depth_map": False,
        "video.fps": int(fps),
        "video.channels": 3,
        "has_audio": False,
    }


__all__ = [
    "DatasetError",
    "DecoderCache",
    "VideoDecoder",
    "VideoFileEncoder",
    "can_encode",
    "codec_options",
    "default_codec",
    "encodable_codecs",
    "probe",
    "video_info",
]
