"""Replay files (sample lines and raw report lines) and the recorder that writes them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from teleop_fakes import report

from silri_jax import specs
from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.conditioning import Conditioner
from silri_jax.teleop.replay import Recorder, ReplayDevice, record
from silri_jax.teleop.scripted import ScriptedDevice


def write_lines(path, lines):
    path.write_text("".join(json.dumps(x) + "\n" for x in lines))
    return path


def test_replay_of_samples_is_deterministic_in_now_and_loses_no_events(tmp_path):
    f = write_lines(tmp_path / "s.jsonl", [
        {"header": {"format": "silri_jax.teleop.replay"}},
        {"t": 0.0, "twist": [0, 0, 0, 0, 0, 0], "gripper": 1, "buttons": {}},
        {"t": 0.1, "twist": [0.5, 0, 0, 0, 0, 0], "buttons": {"clutch": True},
         "events": ["continue"]},
        {"t": 0.2, "twist": [0.5, 0, 0, 0, 0, 0], "gripper": 2, "events": ["success"]},
        {"t": 0.3, "twist": [0, 0, 0, 0, 0, 0], "events": ["quit"]},
    ])
    dev = ReplayDevice(f, t0=100.0)
    s0 = dev.poll(100.05)
    assert s0.twist[0] == 0 and s0.events == () and s0.healthy
    s1 = dev.poll(100.15)
    assert s1.twist[0] == 0.5 and s1.buttons["clutch"] and s1.events == ("continue",)
    assert (s1.t_host, s1.t_device) == (pytest.approx(100.1), pytest.approx(0.1))
    # a slow poll skips over two lines: the state is the latest, no event is lost
    s2 = dev.poll(100.35)
    assert s2.events == ("success", "quit") and s2.twist[0] == 0.0
    assert s2.gripper == specs.GRIPPER_STAY and dev.finished
    # the same nows give the same samples
    dev.rewind(100.0)
    assert dev.poll(100.15).events == ("continue",)


def test_replay_of_raw_reports_goes_through_the_real_decoder(tmp_path):
    lines = [{"t": 0.0, "device": "SpaceMouse Compact", "report": report(1, 350, 0, 0).hex()},
             {"t": 0.01, "device": "SpaceMouse Compact", "report": report(2, 0, 0, 175).hex()},
             {"t": 0.02, "device": "spacemouse_compact", "report": "030100"},
             {"t": 0.03, "device": "spacemouse_compact", "report": "030000"},
             {"t": 0.04, "device": "spacemouse_compact", "report": report(1, 0, 0, 0).hex()},
             {"t": 0.05, "device": "spacemouse_compact", "report": report(2, 0, 0, 0).hex()}]
    f = write_lines(tmp_path / "raw.jsonl", lines)
    bindings = Bindings.from_mapping({"clutch": "button:left", "success": "button:left"})
    dev = ReplayDevice(f, t0=0.0, conditioner=Conditioner(axes="y,-x,z,ry,-rx,rz"),
                       bindings=bindings)
    s = dev.poll(0.015)
    # HID x=+350 is device x (right) = robot -vy; HID rz=+175 is device rz=-0.5 = wz
    np.testing.assert_allclose(s.twist, [0, -1, 0, 0, 0, -0.5])
    s = dev.poll(0.025)
    assert s.buttons["clutch"] and s.buttons["button:left"] and s.events == ("success",)
    s = dev.poll(0.06)
    assert not s.buttons["clutch"] and np.all(s.twist == 0) and s.healthy


def test_raw_replay_applies_the_staleness_rule_in_replay_time(tmp_path):
    f = write_lines(tmp_path / "raw.jsonl", [
        {"t": 0.0, "device": "spacemouse_wireless", "report": report(1, 350, 0, 0, 0, 0,
                                                                     0).hex()}])
    dev = ReplayDevice(f, t0=0.0, stale_s=0.5)
    assert dev.poll(0.4).healthy
    late = dev.poll(0.7)  # deflected and silent for 0.7 s: reports stopped
    assert not late.healthy and np.all(late.twist == 0)
    assert "no report for 0.70 s from replay:raw.jsonl" in late.problem


@pytest.mark.parametrize(("lines", "msg"), [
    (['{"t": 0, "twist": [0,0,0,0,0,0]}', '{"t": 1, "device": "x", "report": "01"}'],
     "mixes sample lines and report lines"),
    (['{"twist": [0,0,0,0,0,0]}'], "line 1: needs a number 't'"),
    (['{"t": 0, "device": "spacemouse_pro", "report": "zz"}'], "line 1: 'report' is not hex"),
    (["not json"], "line 1: not JSON"),
])
def test_bad_replay_files_are_refused_with_the_line(tmp_path, lines, msg):
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(lines) + "\n")
    with pytest.raises(DeviceError, match=msg):
        ReplayDevice(f)


def test_recorder_output_replays_to_the_same_samples(tmp_path):
    src = ScriptedDevice(segments=[
        {"t": 0.0, "twist": [0.1, 0, 0, 0, 0, 0]},
        {"t": 0.05, "twist": [0.2, 0, 0, 0, 0.3, 0], "buttons": {"clutch": True},
         "gripper": 2, "events": ["success"]},
        {"t": 0.1, "twist": [0, 0, 0, 0, 0, 0], "events": ["failure", "quit"]}], t0=0.0)
    out = tmp_path / "rec.jsonl"
    original = []
    with Recorder(out, device=src.name) as rec:
        for i in range(15):
            s = src.poll(i * 0.01)
            original.append(s)
            rec.write(s)
    header = json.loads(out.read_text().splitlines()[0])["header"]
    assert header["format"] == "silri_jax.teleop.replay" and header["device"] == "scripted"
    replay = ReplayDevice(out, t0=0.0)
    for i, s in enumerate(original):
        r = replay.poll(i * 0.01)
        np.testing.assert_allclose(r.twist, s.twist)
        assert (r.gripper, r.events) == (s.gripper, s.events)
        assert {k for k, v in r.buttons.items() if v} == {k for k, v in s.buttons.items() if v}


def test_record_polls_at_the_rate_for_the_duration_with_a_fake_clock(tmp_path):
    clock = {"t": 50.0}
    dev = ScriptedDevice(lambda t: {"twist": [t, 0, 0, 0, 0, 0]}, t0=50.0)
    n = record(dev, tmp_path / "r.jsonl", 0.5, rate_hz=10,
               clock=lambda: clock["t"], sleep=lambda s: clock.__setitem__("t",
                                                                           clock["t"] + s))
    lines = [json.loads(x) for x in (tmp_path / "r.jsonl").read_text().splitlines()[1:]]
    assert n == len(lines) == 5
    assert [x["t"] for x in lines] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert lines[3]["twist"][0] == pytest.approx(0.3)


def test_record_raw_refuses_a_device_without_reports(tmp_path):
    with pytest.raises(DeviceError, match="no raw reports"):
        record(ScriptedDevice(lambda t: {}), tmp_path / "r.jsonl", 0.1, raw=True)
