"""Replay for the learner: ``D_R`` / ``D_I`` buffers, mixed batches, image codecs, demos."""

from silri_jax.data.demos import Episode, insert_demos, load_demos, save_demos
from silri_jax.data.device_mixed import DeviceMixedSampler, DeviceUpdater
from silri_jax.data.device_replay import DeviceReplay
from silri_jax.data.image_codec import (
    CODECS,
    ImageCodec,
    ObservationDecoder,
    RGBCodec,
    YUV420Codec,
    get_codec,
)
from silri_jax.data.mixed import MixedSampler
from silri_jax.data.replay import ReplayBuffer

__all__ = [
    "CODECS",
    "DeviceMixedSampler",
    "DeviceReplay",
    "DeviceUpdater",
    "Episode",
    "ImageCodec",
    "MixedSampler",
    "ObservationDecoder",
    "RGBCodec",
    "ReplayBuffer",
    "YUV420Codec",
    "get_codec",
    "insert_demos",
    "load_demos",
    "save_demos",
]
