"""Bindings and the edge queue: every press yields its events and gripper command once,
in order, even when pressed and released between two polls, and while a reader thread
writes as the consumer polls."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from silri_jax import specs
from silri_jax.teleop.base import Sample
from silri_jax.teleop.bindings import Bindings, parse_inputs
from silri_jax.teleop.pipeline import Pipeline

BINDINGS = {"success": "button:a, key:y", "failure": "button:b", "clutch": "button:lb",
            "gripper_close": "button:rt", "gripper_open": "button:lt",
            "gripper_toggle": "button:rb", "quit": "button:a"}


def pipe() -> Pipeline:
    return Pipeline("test", bindings=Bindings.from_mapping(BINDINGS))


def test_parse_inputs_and_refusals():
    assert parse_inputs(" button:A ,key:space,, ") == ("button:a", "key:space")
    with pytest.raises(ValueError, match="'left' is not an input name"):
        parse_inputs("left")
    with pytest.raises(ValueError, match=r"bindings.sucess: unknown binding"):
        Bindings.from_mapping({"sucess": "button:a"})
    b = Bindings.from_mapping(BINDINGS)
    assert b.events_of("button:a") == ("success", "quit")
    assert b.inputs_for("success") == ("button:a", "key:y")


def test_press_and_release_between_two_polls_is_not_lost():
    p = pipe()
    p.raw.report(1.0, pressed=["button:b"])
    p.raw.report(1.01, released=["button:b"])
    p.raw.report(1.02, held=["button:a"])
    p.raw.report(1.03, held=[])
    s = p.sample(1.05)
    assert s.events == ("failure", "success", "quit")
    assert "button:a" not in s.buttons and s.buttons["clutch"] is False
    assert p.sample(1.06).events == ()


def test_held_inputs_and_roles_appear_in_buttons():
    p = pipe()
    p.raw.report(0.0, held=["button:lb", "button:x"])
    s = p.sample(0.0)
    assert s.buttons["clutch"] is True and s.buttons["button:lb"] is True
    assert s.buttons["button:x"] is True and s.buttons["gripper_close"] is False
    # a held input raises its event once, at the press
    p.raw.report(0.1, held=["button:lb", "button:a"])
    p.raw.report(0.2, held=["button:lb", "button:a"])
    assert p.sample(0.2).events == ("success", "quit")


def test_gripper_hold_roles_latched_presses_and_toggle():
    p = pipe()
    assert p.sample(0.0).gripper == specs.GRIPPER_STAY
    p.raw.report(0.1, held=["button:rt"])
    assert p.sample(0.1).gripper == specs.GRIPPER_CLOSE
    assert p.sample(0.15).gripper == specs.GRIPPER_CLOSE  # held: close every poll
    p.raw.report(0.2, held=[])
    assert p.sample(0.2).gripper == specs.GRIPPER_STAY
    # a tap of the open trigger between polls still opens, once
    p.raw.report(0.3, pressed=["button:lt"])
    p.raw.report(0.31, released=["button:lt"])
    assert p.sample(0.35).gripper == specs.GRIPPER_OPEN
    assert p.sample(0.4).gripper == specs.GRIPPER_STAY
    # the toggle alternates close, open, close; STAY between presses
    cmds = []
    for i in range(3):
        p.raw.report(1 + i, taps=["button:rb"])
        cmds.append(p.sample(1 + i).gripper)
        assert p.sample(1.5 + i).gripper == specs.GRIPPER_STAY
    assert cmds == [specs.GRIPPER_CLOSE, specs.GRIPPER_OPEN, specs.GRIPPER_CLOSE]
    # both held: close wins
    p.raw.report(5.0, held=["button:rt", "button:lt"])
    assert p.sample(5.0).gripper == specs.GRIPPER_CLOSE


def test_event_queue_loses_nothing_while_a_reader_thread_writes():
    p = pipe()
    n = 3000
    polled: list[Sample] = []
    done = threading.Event()

    def reader():
        for i in range(n):
            name = "button:a" if i % 2 == 0 else "button:b"
            p.raw.report(i * 1e-3, pressed=[name])
            p.raw.report(i * 1e-3, released=[name])
        done.set()

    t = threading.Thread(target=reader)
    t.start()
    while not done.is_set():
        polled.append(p.sample(0.0))
    t.join()
    polled.append(p.sample(0.0))
    events = [e for s in polled for e in s.events]
    expected = [e for i in range(n) for e in (("success", "quit") if i % 2 == 0
                                              else ("failure",))]
    assert events == expected


def test_gone_device_is_unhealthy_with_zero_twist_but_keeps_queued_events():
    p = pipe()
    p.raw.report(0.0, axes=np.full(6, 0.5), pressed=["button:a"])
    p.raw.mark_gone("test is gone: read failed with ENODEV")
    s = p.sample(0.1)
    assert not s.healthy and s.problem.startswith("test is gone")
    assert np.all(s.twist == 0) and s.events == ("success", "quit")
    assert s.buttons["clutch"] is False
    p.raw.mark_back(0.2)
    p.raw.report(0.3, axes=np.full(6, 0.5))
    assert p.sample(0.3).healthy


def test_label_bindings_default_to_free_keys_and_reach_the_sample():
    from silri_jax.teleop.config import bindings_mapping, teleop_config

    mapping = bindings_mapping(teleop_config())
    b = Bindings.from_mapping(mapping)
    # every input is bound to at most one event or role (the label keys clash with none)
    for name in {*b.events, *b.roles}:
        assert len(b.events_of(name)) + len(b.roles_of(name)) == 1, name
    assert b.inputs_for("label_hold") == ("key:h",)
    assert b.inputs_for("label_success") == ("key:p",)
    assert b.inputs_for("label_failure") == ("key:x",)
    assert b.inputs_for("label_undo") == ("key:z",)
    p = Pipeline("test", bindings=b)
    s = p.sample(0.0)
    assert s.buttons["label_hold"] is False  # a hold role: always present
    p.raw.report(0.1, held=["key:h"])
    p.raw.report(0.2, pressed=["key:p"])
    p.raw.report(0.3, released=["key:p"])
    p.raw.report(0.3, pressed=["key:z"])
    s = p.sample(0.3)
    assert s.buttons["label_hold"] is True and s.events == ("label_success", "label_undo")
    assert s.buttons["clutch"] is False
