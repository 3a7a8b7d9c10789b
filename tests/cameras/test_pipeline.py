"""CameraRig: crops and resizes like the simulated pixel tasks, refuses stale frames
naming every stale camera, records ages; configs build rigs."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.cameras import (
    CameraError,
    CameraRig,
    FakeCamera,
    FakeClock,
    StaleFrameError,
    camera_config,
    cameras_section,
    crop_resize,
    make_camera,
    parse_crop,
)
from silri_jax.cameras.fake import decode_seq
from silri_jax.envs.wrappers import resize


def test_crop_resize_shapes_and_values():
    img = np.arange(8 * 12 * 3, dtype=np.uint8).reshape(8, 12, 3)
    out = crop_resize(img, (2, 4, 4, 4), 2)
    assert out.shape == (2, 2, 3) and out.dtype == np.uint8
    block = img[2:4, 4:6].astype(np.float64).mean(axis=(0, 1))
    np.testing.assert_array_equal(out[0, 0], (block + 0.5).astype(np.uint8))
    np.testing.assert_array_equal(crop_resize(img, None, 4), resize(img, 4))
    np.testing.assert_array_equal(crop_resize(img, (0, 0, 8, 8), 8), img[:, :8])


def test_parse_crop_forms():
    assert parse_crop("") is None and parse_crop(()) is None and parse_crop(None) is None
    assert parse_crop("1,2,3,4") == (1, 2, 3, 4)
    assert parse_crop("(1, 2, 3, 4)") == (1, 2, 3, 4)
    assert parse_crop([0, 0, 5, 6]) == (0, 0, 5, 6)
    for bad in ("1,2,3", "1,2,0,4", "a,b,c,d", (-1, 0, 2, 2)):
        with pytest.raises(ValueError, match=r"'front'.*top, left, height, width"):
            parse_crop(bad, "front")


def test_rig_observes_cropped_resized_images(waiter):
    clock = FakeClock()
    cams = {"front": FakeCamera("front", width=64, height=48, clock=clock),
            "wrist": FakeCamera("wrist", width=32, height=32, clock=clock, seed=2)}
    rig = CameraRig(cams, crops={"front": (0, 8, 48, 48)}, size=16, max_age_s=0.1)
    assert set(rig.observation_spec) == {"images/front", "images/wrist"}
    with rig:
        obs = rig.observe()
        assert set(obs) == {"images/front", "images/wrist"}
        for img in obs.values():
            assert img.shape == (16, 16, 3) and img.dtype == np.uint8
        full = rig.last_frames["front"].image
        np.testing.assert_array_equal(obs["images/front"], resize(full[:, 8:56], 16))
        np.testing.assert_array_equal(obs["images/wrist"],
                                      resize(rig.last_frames["wrist"].image, 16))
        assert decode_seq(rig.last_frames["front"].image) == 0
        clock.advance(0.05)
        waiter(lambda: all(c.latest().seq == 1 for c in cams.values()))
        rig.observe()
        ages = rig.ages()
    assert [len(a) for a in ages.values()] == [2, 2]
    np.testing.assert_allclose(ages["front"], [0.0, 0.0])


def test_rig_lists_every_stale_camera(waiter):
    clock = FakeClock()
    cams = {n: FakeCamera(n, clock=clock) for n in ("front", "wrist", "side")}
    with CameraRig(cams, size=8, max_age_s={"front": 0.1, "wrist": 0.1, "side": 5.0}) as rig:
        cams["front"].stall()
        cams["wrist"].stall()
        clock.advance(0.5)
        with pytest.raises(StaleFrameError) as e:
            rig.observe()
        assert e.value.cameras == ["front", "wrist"]
        assert "'front' frame is 500 ms old" in str(e.value)
        assert "'wrist' frame is 500 ms old" in str(e.value)
        assert rig.stale_count == {"front": 1, "wrist": 1, "side": 0}
        assert all(len(a) == 0 for a in rig.ages().values())


def test_rig_reports_a_crop_that_does_not_fit():
    with CameraRig({"front": FakeCamera("front", width=32, height=24)},
                   crops={"front": "0,0,30,30"}, size=8) as rig:
        with pytest.raises(CameraError, match=r"crop \(0, 0, 30, 30\).*'front'.*24x32"):
            rig.observe()


def test_rig_rejects_crops_for_unknown_cameras():
    with pytest.raises(ValueError, match="not in the rig"):
        CameraRig({"front": FakeCamera("front")}, crops={"back": (0, 0, 1, 1)})


def test_rig_start_failure_closes_the_started_cameras():
    ok = FakeCamera("front")
    bad = FakeCamera("wrist", reachable=False)
    with pytest.raises(CameraError, match="'wrist'"):
        CameraRig({"front": ok, "wrist": bad}).start()
    assert ok._thread is None


def test_rig_from_config_section():
    section = cameras_section(
        front=camera_config(backend="fake", width=64, height=48, crop=(0, 8, 48, 48), size=24),
        wrist=camera_config(backend="fake", width=32, height=32, size=24, max_age_s=0.5))
    with CameraRig.from_config(section) as rig:
        obs = rig.observe()
    assert {k: v.shape for k, v in obs.items()} == {"images/front": (24, 24, 3),
                                                     "images/wrist": (24, 24, 3)}
    assert rig.crops == {"front": (0, 8, 48, 48), "wrist": None}
    assert rig.max_age_s == {"front": 0.2, "wrist": 0.5}


def test_make_camera_names_the_bad_field():
    with pytest.raises(ValueError, match=r"cameras\.front\.backend='usb'"):
        make_camera("front", camera_config(backend="usb"))
    with pytest.raises(ValueError, match=r"cameras\.front\.fps"):
        make_camera("front", camera_config(backend="fake", fps=0.0))
    with pytest.raises(KeyError, match="no field 'exposure_us'"):
        camera_config(exposure_us=10)
    with pytest.raises(CameraError, match="needs the simulation's model and data"):
        make_camera("front", camera_config(backend="mujoco"))
