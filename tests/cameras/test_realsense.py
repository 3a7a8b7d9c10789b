"""The RealSense backend against a stand-in ``pyrealsense2`` module: the colour sensor is
chosen by name (setting exposure on sensor 0 would change the depth sensor's), serials
are checked, timestamps keep their domain."""

from __future__ import annotations

import sys
import types
from enum import Enum

import numpy as np
import pytest

from silri_jax.cameras import CameraError, camera_config, make_camera
from silri_jax.cameras.base import DOMAIN_GLOBAL
from silri_jax.cameras.realsense import RealSenseCamera


class _Info(Enum):
    serial_number = 1
    name = 2
    firmware_version = 3
    usb_type_descriptor = 4


class _Option(Enum):
    enable_auto_exposure = 1
    exposure = 2


class _Domain(Enum):
    hardware_clock = 0
    system_time = 1
    global_time = 2


class _Range:
    min, max = 1.0, 10000.0


class _Sensor:
    def __init__(self, name):
        self.name, self.options = name, {}

    def get_info(self, field):
        assert field is _Info.name
        return self.name

    def set_option(self, option, value):
        self.options[option] = value

    def get_option_range(self, option):
        return _Range()


class _Device:
    def __init__(self, serial, sensors):
        self.serial, self.sensors = serial, sensors

    def supports(self, field):
        return True

    def get_info(self, field):
        return {_Info.serial_number: self.serial, _Info.name: "Intel RealSense D435",
                _Info.firmware_version: "5.16", _Info.usb_type_descriptor: "3.2"}[field]

    def query_sensors(self):
        return self.sensors


class _ColorFrame:
    def __init__(self, n, w, h):
        self.n, self.w, self.h = n, w, h

    def __bool__(self):
        return True

    def get_data(self):
        return np.full((self.h, self.w, 3), (10, 20, 30), np.uint8)

    def get_timestamp(self):
        return 1_700_000_000_000.0 + 33.0 * self.n  # ms

    def get_frame_timestamp_domain(self):
        return _Domain.global_time

    def get_frame_number(self):
        return 100 + self.n


def _fake_rs(devices):
    rs = types.ModuleType("pyrealsense2")
    rs.camera_info, rs.option, rs.timestamp_domain = _Info, _Option, _Domain
    rs.stream = types.SimpleNamespace(color="color")
    rs.format = types.SimpleNamespace(rgb8="rgb8")
    rs.started = []

    class Context:
        def query_devices(self):
            return devices

    class Config:
        def enable_device(self, serial):
            self.serial = serial

        def enable_stream(self, stream, w, h, fmt, fps):
            self.stream = (stream, w, h, fmt, fps)

    class Pipeline:
        def start(self, config):
            rs.started.append(config)
            self.n, self.config = 0, config
            device = next(d for d in devices if d.serial == config.serial)
            return types.SimpleNamespace(get_device=lambda: device)

        def try_wait_for_frames(self, timeout_ms):
            self.n += 1
            _, w, h, _, _ = self.config.stream
            frame = _ColorFrame(self.n, w, h)
            return True, types.SimpleNamespace(get_color_frame=lambda: frame)

        def stop(self):
            rs.stopped = True

    rs.context, rs.config, rs.pipeline = Context, Config, Pipeline
    return rs


def _d435(serial):
    return _Device(serial, [_Sensor("Stereo Module"), _Sensor("RGB Camera"),
                            _Sensor("Motion Module")])


def test_exposure_goes_to_the_sensor_named_rgb_camera(monkeypatch):
    dev = _d435("111")
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_rs([dev]))
    cfg = camera_config(backend="realsense", device="111", width=64, height=48, exposure=300)
    with make_camera("wrist", cfg) as cam:
        frame = cam.read(1.0)
    stereo, rgb, _ = dev.sensors
    assert rgb.options == {_Option.enable_auto_exposure: 0, _Option.exposure: 300.0}
    assert stereo.options == {}  # the depth sensor is left alone
    assert frame.image.shape == (48, 64, 3) and frame.domain == DOMAIN_GLOBAL
    assert frame.t_device == pytest.approx(1_700_000_000.0 + 0.033 * (frame.seq - 100))
    assert frame.seq >= 101


def test_auto_exposure_and_the_only_camera(monkeypatch):
    dev = _d435("222")
    rs = _fake_rs([dev])
    monkeypatch.setitem(sys.modules, "pyrealsense2", rs)
    with RealSenseCamera("front") as cam:
        assert cam.serial == "222"
        cam.read(1.0)
    assert dev.sensors[1].options == {_Option.enable_auto_exposure: 1}
    assert rs.started[0].stream == ("color", 640, 480, "rgb8", 30)


def test_unknown_serial_lists_the_connected_ones(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_rs([_d435("111"), _d435("333")]))
    with pytest.raises(CameraError) as e:
        RealSenseCamera("wrist", "999").start()
    text = str(e.value)
    assert "'wrist'" in text and "serial 999 is not connected" in text
    assert "'111'" in text and "'333'" in text and "rs-enumerate-devices" in text
    with pytest.raises(CameraError, match="no RealSense serial given and 2 connected"):
        RealSenseCamera("wrist").start()


def test_exposure_out_of_range_names_the_range(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_rs([_d435("111")]))
    with pytest.raises(CameraError, match=r"exposure 20000 is outside .*\[1, 10000\]"):
        RealSenseCamera("wrist", "111", exposure=20000).start()


def test_device_without_colour_sensor(monkeypatch):
    dev = _Device("444", [_Sensor("Stereo Module")])
    monkeypatch.setitem(sys.modules, "pyrealsense2", _fake_rs([dev]))
    with pytest.raises(CameraError, match=r"no sensor named 'RGB Camera'.*Stereo Module"):
        RealSenseCamera("wrist", "444").start()


def test_missing_pyrealsense2_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "pyrealsense2", None)
    with pytest.raises(CameraError, match="needs pyrealsense2: pip install pyrealsense2"):
        RealSenseCamera("wrist", "111").start()
