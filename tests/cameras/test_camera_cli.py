"""``python -m silri_jax.cameras``: list (from a made-up sysfs) and crop (fake cameras),
headless; errors are one line with exit code 2."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest

from silri_jax.cameras.__main__ import centre_square, draw_rectangle, main
from silri_jax.cameras.png import encode_png


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # width, height


def _run(args, capsys):
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def test_crop_with_fake_cameras_writes_pngs_and_prints_config_lines(tmp_path, capsys):
    code, out, err = _run(["crop", "--camera", "front=fake", "--camera", "wrist=fake",
                           "--set", "wrist.width=320", "--set", "wrist.height=240",
                           "--set", "wrist.size=64", "--crop", "front=0,0,40,40",
                           "--out", str(tmp_path)], capsys)
    assert code == 0, err
    assert "--config.cameras.front.crop=0,0,40,40" in out.splitlines()
    assert "--config.cameras.wrist.crop=0,40,240,240" in out.splitlines()  # centred square
    assert _png_size(tmp_path / "front_full.png") == (640, 480)
    assert _png_size(tmp_path / "front_crop.png") == (128, 128)
    assert _png_size(tmp_path / "wrist_full.png") == (320, 240)
    assert _png_size(tmp_path / "wrist_crop.png") == (64, 64)


def test_crop_from_a_config_file(tmp_path, capsys):
    config = tmp_path / "robot.py"
    config.write_text(
        "import ml_collections\n"
        "from silri_jax.cameras import camera_config, cameras_section\n"
        "def get_config():\n"
        "    c = ml_collections.ConfigDict()\n"
        "    c.cameras = cameras_section(side=camera_config(backend='fake', width=96,\n"
        "                                height=64, crop=(4, 8, 48, 48)))\n"
        "    return c\n")
    code, out, err = _run(["crop", "--config", str(config), "--camera", "side",
                           "--out", str(tmp_path / "out")], capsys)
    assert code == 0, err
    assert out.splitlines()[-1] == "--config.cameras.side.crop=4,8,48,48"
    assert (tmp_path / "out" / "side_crop.png").exists()


@pytest.mark.parametrize("args, message", [
    (["crop", "--camera", "front=usb", "--out", "x"], "unknown backend 'usb'"),
    (["crop", "--camera", "front", "--out", "x"], "no camera 'front'"),
    (["crop", "--camera", "front=fake", "--crop", "front=1,2", "--out", "x"],
     "top, left, height, width"),
    (["crop", "--camera", "front=fake", "--crop", "front=0,0,900,900", "--out", "x"],
     "exceeds its 480x640 frame"),
    (["crop", "--camera", "front=fake", "--set", "front.fps=x", "--out", "x"],
     "is not a float"),
    (["crop", "--camera", "front=opencv:/dev/video99", "--out", "x"], ""),
    (["crop", "--out", "x"], "--camera"),
    (["nope"], "invalid choice"),
])
def test_errors_are_one_line_exit_2(args, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = _run(args, capsys)
    assert code == 2
    assert err.startswith("silri_jax.cameras: error: ") and err.count("\n") == 1
    assert message in err


def test_list_reads_sysfs(tmp_path, capsys):
    sysfs, dev = tmp_path / "sys", tmp_path / "dev"
    for n, name, index in ((0, "HD Webcam C920", 0), (1, "HD Webcam C920", 1)):
        node = sysfs / "class" / "video4linux" / f"video{n}"
        node.mkdir(parents=True)
        (node / "name").write_text(name + "\n")
        (node / "index").write_text(f"{index}\n")
    dev.mkdir()
    code, out, err = _run(["list", "--sysfs", str(sysfs), "--dev", str(dev)], capsys)
    assert code == 0, err
    assert f"{dev}/video0  'HD Webcam C920'  index 0" in out
    assert f"{dev}/video1  'HD Webcam C920'  index 1" in out
    assert "does not exist" in out
    assert "RealSense" in out


def test_list_without_video4linux(tmp_path, capsys):
    code, out, _ = _run(["list", "--sysfs", str(tmp_path)], capsys)
    assert code == 0 and "none (no USB camera plugged in" in out


def test_help_and_headless_run_as_a_module(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
    help_ = subprocess.run([sys.executable, "-m", "silri_jax.cameras", "crop", "--help"],
                           capture_output=True, text=True, env=env, timeout=120)
    assert help_.returncode == 0 and "NAME=BACKEND[:DEVICE]" in help_.stdout
    run = subprocess.run([sys.executable, "-m", "silri_jax.cameras", "crop", "--camera",
                          "front=fake", "--out", str(tmp_path)],
                         capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[-1] == "--config.cameras.front.crop=0,80,480,480"


def test_png_writer_without_opencv_round_trips():
    img = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    data = encode_png(img)
    assert struct.unpack(">II", data[16:24]) == (7, 5)
    idat_len = struct.unpack(">I", data[33:37])[0]
    raw = zlib.decompress(data[41: 41 + idat_len])
    rows = np.frombuffer(raw, np.uint8).reshape(5, 1 + 7 * 3)
    assert not rows[:, 0].any()
    np.testing.assert_array_equal(rows[:, 1:].reshape(5, 7, 3), img)


def test_crop_helpers():
    assert centre_square(480, 640) == (0, 80, 480, 480)
    assert centre_square(100, 50) == (25, 0, 50, 50)
    img = np.zeros((10, 10, 3), np.uint8)
    out = draw_rectangle(img, (2, 2, 6, 6), thickness=1)
    assert out[2, 2:8, 0].tolist() == [255] * 6 and out[5, 5, 0] == 0 and not img.any()
