"""The Camera contract, on the fake backend: newest frame only, stale frames refused with
the camera's name, reader errors kept for the next read, unreachable cameras named."""

from __future__ import annotations

import threading
import time
import tracemalloc

import numpy as np
import pytest

from silri_jax.cameras import CameraError, FakeCamera, FakeClock, StaleFrameError
from silri_jax.cameras.base import DOMAIN_DEVICE
from silri_jax.cameras.fake import decode_seq


def test_slow_reader_gets_the_newest_frame(waiter):
    clock = FakeClock()
    with FakeCamera("front", fps=30, clock=clock) as cam:
        assert cam.latest().seq == 0
        clock.advance(1.0)  # 30 sensor periods pass while nobody reads
        waiter(lambda: cam.latest().seq == 30)
        frame = cam.read(0.1)
        assert frame.seq == 30 and decode_seq(frame.image) == 30
        assert frame.t_device == pytest.approx(1.0) and frame.domain == DOMAIN_DEVICE
        assert frame.t_host == pytest.approx(1.0)
        clock.advance(10.0)
        waiter(lambda: cam.latest().seq == 330)
        assert cam.read(0.1).seq == 330
        # the periods nobody read were never produced, let alone queued
        assert cam.frames_received == 3


def test_memory_stays_bounded_when_nobody_reads(waiter):
    clock = FakeClock()
    cam = FakeCamera("front", width=64, height=64, fps=30, clock=clock).start()
    frame_bytes = 64 * 64 * 3
    try:
        tracemalloc.start()
        for i in range(1, 201):
            clock.advance(1 / 30)
            waiter(lambda i=i: cam.latest().seq == i)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        cam.close()
    assert cam.frames_received == 201
    # a queue would hold 200 frames (2.4 MB); only the newest is kept
    assert peak < 20 * frame_bytes, peak


def test_real_time_frames_keep_coming():
    with FakeCamera("front", fps=100) as cam:
        time.sleep(0.2)
        first = cam.read(1.0)  # generous: the test machine may be busy
        time.sleep(0.1)
        second = cam.read(1.0)
    assert second.seq > first.seq and second.t_host > first.t_host


def test_stale_frame_is_refused_with_the_camera_name_age_and_limit(waiter):
    clock = FakeClock()
    with FakeCamera("wrist", fps=20, clock=clock) as cam:
        clock.advance(0.05)
        waiter(lambda: cam.latest().seq == 1)
        assert cam.read(0.1).seq == 1
        with pytest.raises(StaleFrameError) as e:
            cam.read(0.1, now=0.3)  # a given time on the camera's clock
        assert "'wrist'" in str(e.value) and "250 ms old" in str(e.value)
        assert "limit 100 ms" in str(e.value)
        assert e.value.cameras == ["wrist"]
        assert e.value.stale[0][1] == pytest.approx(0.25)


def test_stalled_camera_reports_stale(waiter):
    clock = FakeClock()
    with FakeCamera("front", fps=30, clock=clock) as cam:
        cam.stall()
        clock.advance(1.0)
        time.sleep(0.05)  # the reader had time to deliver, were it delivering
        with pytest.raises(StaleFrameError, match="'front' frame is 1000 ms old"):
            cam.read(0.2)
        cam.resume()
        clock.advance(1 / 30)
        waiter(lambda: cam.latest().seq == 31)
        assert cam.read(0.2).seq == 31


def test_latency_counts_towards_the_age(waiter):
    clock = FakeClock()
    with FakeCamera("front", fps=30, clock=clock, latency_s=0.08) as cam:
        frame = cam.read(0.1)
        assert cam.age(frame) == pytest.approx(0.08)
        with pytest.raises(StaleFrameError, match="'front' frame is 110 ms old"):
            cam.read(0.1, now=0.03)


def test_reader_error_surfaces_on_every_read(waiter):
    clock = FakeClock()
    with FakeCamera("front", fps=30, clock=clock) as cam:
        cam.fail(OSError(19, "No such device"))
        waiter(lambda: cam.error is not None)
        for _ in range(2):  # never lost: the camera stays failed
            with pytest.raises(CameraError, match=r"'front'.*No such device") as e:
                cam.read(10.0)
            assert isinstance(e.value.__cause__, OSError)
            assert not isinstance(e.value, StaleFrameError)


def test_reader_camera_error_is_reported_once(waiter):
    with FakeCamera("front", fps=30) as cam:
        cam.fail(CameraError("camera 'front' (/dev/video0): read failed; check the cable"))
        waiter(lambda: cam.error is not None)
        with pytest.raises(CameraError) as e:
            cam.read(10.0)
    assert str(e.value).count("'front'") == 1 and "check the cable" in str(e.value)


def test_restart_after_close_waits_for_a_new_frame():
    clock = FakeClock()
    cam = FakeCamera("front", fps=30, clock=clock)
    with cam:
        old = cam.read(1.0)
    clock.advance(5.0)
    with cam:
        new = cam.read(1.0)
    assert new.t_host == pytest.approx(5.0) and old.t_host == 0.0


def test_reader_thread_ends_with_the_error_and_close_still_works(waiter):
    cam = FakeCamera("front", fps=30).start()
    cam.fail()
    waiter(lambda: cam.error is not None)
    assert not any(t.name == "camera front" for t in threading.enumerate())
    cam.close()
    cam.close()  # idempotent


def test_unreachable_camera_fails_start_naming_it():
    cam = FakeCamera("front", device="usb-3", reachable=False)
    with pytest.raises(CameraError, match=r"'front'.*usb-3.*cannot open"):
        cam.start()


def test_silent_camera_fails_start_within_the_timeout():
    cam = FakeCamera("wrist", stalled=True, start_timeout_s=0.3)
    t0 = time.monotonic()
    with pytest.raises(CameraError, match=r"'wrist'.*no frame within 0.3 s"):
        cam.start()
    assert time.monotonic() - t0 < 2.0
    assert not any(t.name == "camera wrist" for t in threading.enumerate())


def test_read_before_start_says_so():
    with pytest.raises(CameraError, match=r"'front'.*not started"):
        FakeCamera("front").read(1.0)


def test_fake_frames_move_and_carry_their_counter():
    cam = FakeCamera("front", width=40, height=30, seed=1)
    a, b = cam.render(0), cam.render(5)
    assert a.shape == (30, 40, 3) and a.dtype == np.uint8
    assert decode_seq(a) == 0 and decode_seq(b) == 5
    assert not np.array_equal(a[1:], b[1:])
