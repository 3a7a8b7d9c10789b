"""The OpenCV backend on a small video file written here, and its unreachable-device
messages (those need no OpenCV)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from silri_jax.cameras import CameraError, camera_config, make_camera
from silri_jax.cameras.base import DOMAIN_FILE
from silri_jax.cameras.opencv import OpenCVCamera, parse_device

# BGR colours written; the camera must hand back RGB
COLOURS_BGR = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255)]


@pytest.fixture
def video(tmp_path):
    cv2 = pytest.importorskip("cv2", reason="OpenCV is not installed (extra [cameras])")
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (32, 24))
    if not writer.isOpened():
        pytest.skip("this OpenCV build cannot write MJPG video")
    for bgr in COLOURS_BGR:
        writer.write(np.full((24, 32, 3), bgr, np.uint8))
    writer.release()
    return path


def _colour(image):
    return tuple(int(v) for v in image.reshape(-1, 3).mean(axis=0).round())


def test_file_frames_are_rgb_with_file_timestamps(video, waiter):
    cam = OpenCVCamera("front", str(video), fps=40.0)
    seen = {}
    with cam:
        waiter(lambda: seen.update({cam.latest().seq: cam.latest()}) or cam.error is not None)
    assert cam.is_file and 0 in seen
    first = seen[0]
    assert first.image.shape == (24, 32, 3) and first.image.dtype == np.uint8
    assert first.domain == DOMAIN_FILE
    np.testing.assert_allclose(_colour(first.image), (0, 0, 255), atol=12)  # blue
    frames = sorted(seen.values(), key=lambda f: f.seq)
    assert [f.t_device for f in frames] == sorted(f.t_device for f in frames)


def test_file_end_is_an_error_naming_the_file(video, waiter):
    with OpenCVCamera("front", str(video), fps=100.0) as cam:
        waiter(lambda: cam.error is not None)
        with pytest.raises(CameraError, match=r"'front'.*end of video file .*clip\.avi"):
            cam.read(10.0)


def test_looping_file_keeps_going(video, waiter):
    cfg = camera_config(device=str(video), fps=100.0, loop=True)
    with make_camera("front", cfg) as cam:
        waiter(lambda: cam.latest().seq >= 2 * len(COLOURS_BGR) + 1)
        frame = cam.read(1.0)
        assert cam.error is None
        # the timestamp continues across the loop instead of jumping back
        assert frame.t_device >= (len(COLOURS_BGR) + 1) / 20.0 - 1e-6


def test_missing_device_node_names_it_and_what_to_check():
    cam = OpenCVCamera("wrist", "/dev/video99")
    with pytest.raises(CameraError) as e:
        cam._check_node()
    text = str(e.value)
    assert "'wrist'" in text and "/dev/video99" in text
    assert "v4l2-ctl --list-devices" in text and "group video" in text


def test_missing_index_names_its_device_path():
    with pytest.raises(CameraError, match=r"no such device /dev/video97"):
        OpenCVCamera("front", 97)._check_node()


def test_unreachable_device_fails_start(monkeypatch):
    pytest.importorskip("cv2", reason="OpenCV is not installed (extra [cameras])")
    with pytest.raises(CameraError, match=r"'front'.*/dev/video99.*v4l2-ctl"):
        OpenCVCamera("front", "/dev/video99", start_timeout_s=1.0).start()


def test_missing_opencv_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(CameraError, match=r"needs OpenCV.*\[cameras\]"):
        OpenCVCamera("front", 0).start()


def test_device_forms():
    assert parse_device("0") == 0 and parse_device(3) == 3
    assert parse_device("/dev/video2") == "/dev/video2"
    with pytest.raises(ValueError, match="device is empty"):
        parse_device(" ")
