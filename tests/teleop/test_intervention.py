"""The intervention state machine in its three modes, driven by scripted devices."""

from __future__ import annotations

import pytest

from silri_jax import specs
from silri_jax.teleop.config import teleop_config
from silri_jax.teleop.intervention import InterventionGate
from silri_jax.teleop.scripted import ScriptedDevice

MOVE = [0.5, 0, 0, 0, 0, 0]
REST = [0, 0, 0, 0, 0, 0]
DT = 0.1


def run(gate: InterventionGate, device: ScriptedDevice, steps: int):
    """(intervening, segment) per poll at t = 0, 0.1, 0.2, ..."""
    out = []
    for i in range(steps):
        g = gate.update(device.poll(i * DT + 1e-9))
        out.append((g.intervening, g.segment))
    return out


def segments(*segs):
    return ScriptedDevice(segments=[{"t": t, **fields} for t, fields in segs], t0=0.0)


def test_clutch_mode_intervenes_while_held_and_counts_segments():
    dev = segments((0.0, {"twist": MOVE}),
                   (0.2, {"twist": MOVE, "buttons": {"clutch": True}}),
                   (0.4, {"twist": MOVE}),
                   (0.6, {"twist": REST, "buttons": {"clutch": True}}),
                   (0.7, {}))
    got = run(InterventionGate("clutch"), dev, 8)
    assert got == [(False, -1), (False, -1), (True, 0), (True, 0), (False, 0), (False, 0),
                   (True, 1), (False, 1)]


def test_clutch_mode_takes_a_raw_button_name():
    dev = segments((0.0, {"buttons": {"button:left": True}}))
    assert run(InterventionGate("clutch", clutch_button="button:left"), dev, 1) == [(True, 0)]


def test_motion_mode_needs_n_samples_above_to_start_and_n_below_to_end():
    dev = segments((0.0, {"twist": MOVE}), (0.1, {"twist": REST}),   # a single bump
                   (0.2, {"twist": MOVE}),                           # sustained motion
                   (0.6, {"twist": [0, 0.01, 0, 0, 0, 0]}),          # below the deadband
                   (0.7, {"twist": MOVE}), (0.8, {"twist": REST}))
    got = run(InterventionGate("motion", motion_samples=3, deadband=0.05), dev, 12)
    flags = [i for i, _ in got]
    # bump ignored; starts on the 3rd moving sample (t=0.4); a single quiet sample at 0.6
    # does not end it; ends on the 3rd quiet sample after 0.8 (t=1.0)
    assert flags == [False, False, False, False, True, True, True, True, True, True,
                     False, False]
    assert [s for _, s in got][-1] == 0


def test_toggle_mode_flips_on_each_event():
    dev = segments((0.0, {}), (0.1, {"events": ["toggle_intervention"]}),
                   (0.4, {"events": ["success"]}),
                   (0.5, {"events": ["toggle_intervention"]}),
                   (0.7, {"events": ["toggle_intervention"]}))
    got = run(InterventionGate("toggle"), dev, 9)
    assert got == [(False, -1), (True, 0), (True, 0), (True, 0), (True, 0), (False, 0),
                   (False, 0), (True, 1), (True, 1)]


def test_two_toggles_in_one_poll_cancel():
    dev = segments((0.0, {"events": ["toggle_intervention", "toggle_intervention"]}))
    assert run(InterventionGate("toggle"), dev, 2) == [(False, -1), (False, -1)]


@pytest.mark.parametrize("mode", ["clutch", "motion", "toggle"])
def test_a_gripper_press_counts_as_intervention_in_every_mode(mode):
    dev = segments((0.0, {}), (0.1, {"gripper": specs.GRIPPER_CLOSE}), (0.2, {}))
    got = run(InterventionGate(mode, motion_samples=3), dev, 3)
    assert got[0] == (False, -1) and got[1] == (True, 0)
    if mode != "motion":  # motion mode ends after motion_samples quiet samples
        assert got[2] == (False, 0)


@pytest.mark.parametrize("mode", ["clutch", "motion", "toggle"])
def test_an_unhealthy_sample_ends_intervention_and_a_new_takeover_is_a_new_segment(mode):
    on = {"twist": MOVE, "buttons": {"clutch": True}}
    dev = segments((0.0, {**on, "events": ["toggle_intervention"]}), (0.1, on),
                   (0.3, {**on, "healthy": False, "problem": "gone"}),
                   (0.4, {**on, "events": ["toggle_intervention"]}), (0.5, on))
    got = run(InterventionGate(mode, motion_samples=1), dev, 6)
    assert got[0] == (True, 0) and got[2] == (True, 0)
    assert got[3] == (False, 0)                 # unhealthy ends it at once
    assert got[4] == (True, 1) and got[5] == (True, 1)


def test_reset_starts_a_new_episode():
    gate = InterventionGate("toggle")
    dev = segments((0.0, {"events": ["toggle_intervention"]}))
    assert run(gate, dev, 1) == [(True, 0)]
    gate.reset()
    assert (gate.intervening, gate.segment) == (False, -1)


def test_from_config_and_refusals():
    cfg = teleop_config()
    cfg.intervention.mode = "motion"
    cfg.intervention.motion_samples = 5
    gate = InterventionGate.from_config(cfg)
    assert (gate.mode, gate.motion_samples, gate.clutch_button) == ("motion", 5, "clutch")
    assert InterventionGate.from_config(cfg.intervention).mode == "motion"
    with pytest.raises(ValueError, match=r"intervention.mode='hold'"):
        InterventionGate("hold")
    with pytest.raises(ValueError, match="motion_samples"):
        InterventionGate("motion", motion_samples=0)
    with pytest.raises(ValueError, match="toggle_event"):
        InterventionGate("toggle", toggle_event="flip")
