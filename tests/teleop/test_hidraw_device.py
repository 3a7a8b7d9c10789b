"""The SpaceMouse device end to end without hardware: a FIFO stands in for /dev/hidraw*,
a fake source unplugs and comes back, and a fake sysfs tree is what discovery reads."""

from __future__ import annotations

import errno
import json
import os
import queue
import threading
import time
from collections.abc import Callable

import numpy as np
import pytest
from teleop_fakes import report

from silri_jax.teleop.base import DeviceError, Sample
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner
from silri_jax.teleop.replay import ReplayDevice, record
from silri_jax.teleop.spacemouse import SpaceMouseDevice, spacemouse_nodes

COMPACT = (0x256F, 0xC635)


def wait_for(device, pred: Callable[[Sample], bool], timeout: float = 5.0) -> Sample:
    deadline = time.monotonic() + timeout
    while True:
        s = device.poll()
        if pred(s):
            return s
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; last sample: {s}")
        time.sleep(0.005)


def identity() -> dict:
    return {"conditioner": Conditioner(), "bindings": Bindings.from_mapping(
        {"clutch": "button:left", "success": "button:right"})}


def test_discovery_finds_3d_mice_and_prefers_the_axis_interface(fake_sys):
    fake_sys.hidraw(0, 0x046D, 0xC077, "Logitech USB Optical Mouse")
    fake_sys.hidraw(1, *COMPACT, "3Dconnexion SpaceMouse Compact", interface=1,
                    multiaxis=False)
    fake_sys.hidraw(2, *COMPACT, "3Dconnexion SpaceMouse Compact", interface=0)
    fake_sys.hidraw(3, 0x256F, 0xC63A, "SpaceMouse Wireless BT", bus=5)
    found = spacemouse_nodes(fake_sys.sys, fake_sys.dev)
    assert [n.sysname for n, _ in found] == ["hidraw2", "hidraw3", "hidraw1"]
    assert found[0][1].key == "spacemouse_compact"
    assert found[1][0].bus_name == "bluetooth" and found[1][1].layout == "combined"
    dev = SpaceMouseDevice(sysfs_root=str(fake_sys.sys), dev_root=str(fake_sys.dev))
    assert dev.path.endswith("hidraw2") and dev.name == f"spacemouse:{dev.path}"


def test_no_spacemouse_is_a_clear_error(fake_sys):
    fake_sys.hidraw(0, 0x046D, 0xC077, "Logitech USB Optical Mouse")
    with pytest.raises(DeviceError, match=r"no SpaceMouse found.*doctor"):
        SpaceMouseDevice(sysfs_root=str(fake_sys.sys), dev_root=str(fake_sys.dev))
    with pytest.raises(DeviceError, match="not a known SpaceMouse"):
        SpaceMouseDevice(str(fake_sys.dev / "hidraw0"),
                         sysfs_root=str(fake_sys.sys), dev_root=str(fake_sys.dev))


def test_an_unopenable_device_names_itself_and_the_fix(tmp_path):
    dev = SpaceMouseDevice(str(tmp_path / "hidraw9"), entry="spacemouse_compact")
    with pytest.raises(DeviceError, match=r"cannot open spacemouse:.*hidraw9: ENOENT.*udev"):
        dev.start()


def test_reads_reports_from_the_device_file_through_its_reader_thread(fake_sys):
    path = fake_sys.hidraw(3, *COMPACT, "3Dconnexion SpaceMouse Compact", fifo=True)
    writer = os.open(path, os.O_RDWR)  # a FIFO is a stream: one report at a time
    skew = [0.0]  # moves the device's clock forward
    try:
        with SpaceMouseDevice(sysfs_root=str(fake_sys.sys), dev_root=str(fake_sys.dev),
                              clock=lambda: time.monotonic() + skew[0], **identity()) as dev:
            assert dev.poll().healthy
            os.write(writer, report(1, 350, 0, 0))
            wait_for(dev, lambda s: s.twist[0] == 1.0)
            os.write(writer, report(2, 0, 0, 175))
            s = wait_for(dev, lambda s: s.twist[5] != 0)
            np.testing.assert_allclose(s.twist, [1, 0, 0, 0, 0, -0.5])
            os.write(writer, bytes.fromhex("03 0200"))
            s = wait_for(dev, lambda s: s.events == ("success",))
            assert s.buttons["button:right"] and not s.buttons["clutch"]
            os.write(writer, bytes.fromhex("03 0100"))
            assert wait_for(dev, lambda s: s.buttons["clutch"]).healthy
            # deflected, then silent past stale_s: reports stopped, motion zeroed
            # (a caller's own time base does not matter: staleness is on the device clock)
            assert dev.poll(1e9).healthy
            skew[0] = 0.7
            late = dev.poll()
            assert not late.healthy and np.all(late.twist == 0)
            assert late.problem.startswith("no report for 0.7") and path in late.problem
            skew[0] = 0.0
            # end of file: the device is gone
            os.close(writer)
            writer = -1
            gone = wait_for(dev, lambda s: not s.healthy and "gone" in s.problem)
            assert "end of file" in gone.problem and np.all(gone.twist == 0)
    finally:
        if writer >= 0:
            os.close(writer)


class FakeHid:
    """A hidraw source whose device can be unplugged (reads then fail with ENODEV)."""

    def __init__(self) -> None:
        self.reports: queue.Queue[bytes] = queue.Queue()
        self.unplugged = False
        self.closed = False

    def read(self, timeout: float) -> list[bytes]:
        if self.unplugged:
            raise OSError(errno.ENODEV, "No such device")
        try:
            return [self.reports.get(timeout=timeout)]
        except queue.Empty:
            return []

    def close(self) -> None:
        self.closed = True


class Socket:
    """Opens FakeHid devices while plugged in."""

    def __init__(self) -> None:
        self.present = True
        self.opened: list[FakeHid] = []

    def __call__(self, path: str) -> FakeHid:
        if not self.present:
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", path)
        self.opened.append(FakeHid())
        return self.opened[-1]


def test_unplug_mid_episode_is_unhealthy_with_zero_twist_then_reopens():
    plug = Socket()
    dev = SpaceMouseDevice("/dev/hidraw7", entry="spacemouse_wireless", opener=plug,
                           reopen_s=0.02, **identity())
    with dev:
        plug.opened[0].reports.put(report(1, 175, 0, 0, 0, 0, 0))
        assert wait_for(dev, lambda s: s.twist[0] == 0.5).healthy
        plug.present = False
        plug.opened[0].unplugged = True
        s = wait_for(dev, lambda s: not s.healthy)
        assert s.problem.startswith("spacemouse:/dev/hidraw7 is gone: read failed with "
                                    "ENODEV (No such device) - unplugged?")
        assert np.all(s.twist == 0) and plug.opened[0].closed
        time.sleep(0.1)  # reopen attempts fail while unplugged
        assert not dev.poll().healthy and dev.reopen_attempts >= 2
        plug.present = True
        wait_for(dev, lambda s: s.healthy)
        assert len(plug.opened) == 2
        plug.opened[1].reports.put(report(1, -350, 0, 0, 0, 0, 0))
        assert wait_for(dev, lambda s: s.twist[0] == -1.0).healthy


def test_a_reader_exception_marks_the_device_gone_instead_of_dying_silently():
    class Broken(FakeHid):
        def read(self, timeout):
            raise RuntimeError("decoder bug")

    dev = SpaceMouseDevice("/dev/hidraw7", entry="spacemouse_pro",
                           opener=lambda p: Broken(), reopen_s=10, **identity())
    with dev:
        s = wait_for(dev, lambda s: not s.healthy)
        assert "reader failed with RuntimeError: decoder bug" in s.problem


def test_replugged_device_is_found_under_a_new_hidraw_number(fake_sys):
    old = fake_sys.hidraw(3, *COMPACT, "3Dconnexion SpaceMouse Compact", fifo=True)
    w_old = os.open(old, os.O_RDWR)
    dev = SpaceMouseDevice(sysfs_root=str(fake_sys.sys), dev_root=str(fake_sys.dev),
                           reopen_s=0.02, **identity())
    with dev:
        os.write(w_old, report(1, 350, 0, 0))
        wait_for(dev, lambda s: s.twist[0] == 1.0)
        new = fake_sys.hidraw(4, *COMPACT, "3Dconnexion SpaceMouse Compact", fifo=True)
        w_new = os.open(new, os.O_RDWR)
        try:
            fake_sys.remove_hidraw(3)
            os.close(w_old)
            wait_for(dev, lambda s: dev.path == new and s.healthy)
            os.write(w_new, report(1, 0, 350, 0))
            s = wait_for(dev, lambda s: s.twist[1] != 0)
            np.testing.assert_allclose(s.twist[:3], [0, -1, 0])  # HID y is toward you
        finally:
            os.close(w_new)


def test_raw_listener_sees_every_report():
    plug = Socket()
    seen = []
    dev = SpaceMouseDevice("/dev/hidraw7", entry="spacemouse_compact", opener=plug,
                           **identity())
    dev.add_raw_listener(lambda r, t: seen.append(r))
    with dev:
        for r in (report(1, 1, 2, 3), report(2, 4, 5, 6), bytes.fromhex("030100")):
            plug.opened[0].reports.put(r)
        wait_for(dev, lambda s: s.buttons["clutch"])
    assert seen == [report(1, 1, 2, 3), report(2, 4, 5, 6), bytes.fromhex("030100")]


def test_raw_recording_replays_through_the_decoder_to_the_same_twist(tmp_path):
    plug = Socket()
    dev = SpaceMouseDevice("/dev/hidraw7", entry="spacemouse_compact", opener=plug,
                           **identity())
    out = tmp_path / "raw.jsonl"
    reports = (report(1, 350, 0, 0), report(2, 0, 0, 175), bytes.fromhex("030200"))

    def feed():
        time.sleep(0.05)
        for r in reports:
            plug.opened[-1].reports.put(r)

    with dev:
        feeder = threading.Thread(target=feed)
        feeder.start()
        n = record(dev, out, 0.3, raw=True)
        feeder.join()
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert n == 3 and [x["report"] for x in lines[1:]] == [r.hex() for r in reports]
    assert {x["device"] for x in lines[1:]} == {"spacemouse_compact"}
    replay = ReplayDevice(out, t0=0.0, **identity())
    s = replay.poll(lines[-1]["t"])
    np.testing.assert_allclose(s.twist, [1, 0, 0, 0, 0, -0.5])
    assert s.events == ("success",) and s.healthy
