"""evdev joysticks and gamepads (golden event bytes through the map), the keyboard's two
readers, spacenavd through a fake libspnav, and the backends ``make_device`` builds."""

from __future__ import annotations

import json
import logging
import os
import termios
import time
import types

import numpy as np
import pytest
from teleop_fakes import GAMEPAD_ABS, GAMEPAD_KEYS

from silri_jax import specs
from silri_jax.teleop import factory
from silri_jax.teleop.base import DeviceError
from silri_jax.teleop.bindings import Bindings
from silri_jax.teleop.combined import CombinedDevice
from silri_jax.teleop.conditioning import Conditioner
from silri_jax.teleop.config import teleop_config
from silri_jax.teleop.evdev_device import (
    EV_ABS,
    EV_KEY,
    EV_REL,
    EV_SYN,
    SYN_DROPPED,
    SYN_REPORT,
    AbsInfo,
    EvdevDecoder,
    EvdevDevice,
    pack_events,
    unpack_events,
)
from silri_jax.teleop.gamepad import GamepadDevice, load_maps, select_map
from silri_jax.teleop.keyboard import (
    PynputKeyboard,
    TerminalKeyboard,
    parse_motion,
    parse_terminal_bytes,
)
from silri_jax.teleop.none_device import NoDevice
from silri_jax.teleop.scripted import ScriptedDevice
from silri_jax.teleop.spacenav import SpacenavDevice, SpnavEvent, load_library

STICK = AbsInfo(-32768, 32767)
TRIGGER = AbsInfo(0, 255)
HAT = AbsInfo(-1, 1)
XBOX_ABS = {0: STICK, 1: STICK, 2: TRIGGER, 3: STICK, 4: STICK, 5: TRIGGER, 16: HAT, 17: HAT}


class FakeEvdev:
    """An evdev source fed with event bytes."""

    def __init__(self, absinfo=None) -> None:
        self.chunks: list[bytes] = []
        self._absinfo = dict(absinfo or {})

    def read(self, timeout: float):
        return unpack_events(self.chunks.pop(0)) if self.chunks else []

    def absinfo(self, codes):
        return {c: self._absinfo[c] for c in codes if c in self._absinfo}

    def close(self) -> None:
        pass


def ident(**bindings) -> dict:
    return {"conditioner": Conditioner(), "bindings": Bindings.from_mapping(bindings)}


# ----------------------------------------------------------------------------- evdev
def test_event_bytes_are_struct_input_event():
    data = pack_events([(1.5, EV_ABS, 1, -32768)])
    assert data == bytes.fromhex("0100000000000000" "20a1070000000000" "0300" "0100"
                                 "0080ffff")
    assert unpack_events(data + b"\x00" * 5) == [(1.5, EV_ABS, 1, -32768)]


def test_decoder_frames_at_syn_report_and_drops_an_overrun_frame():
    d = EvdevDecoder()
    frames = d.feed(unpack_events(pack_events([
        (0.1, EV_ABS, 0, 100), (0.1, EV_KEY, 304, 1), (0.1, EV_SYN, SYN_REPORT, 0),
        (0.2, EV_ABS, 0, 999), (0.2, EV_SYN, SYN_DROPPED, 0), (0.2, EV_ABS, 1, 5),
        (0.2, EV_SYN, SYN_REPORT, 0),
        (0.3, EV_KEY, 304, 2), (0.3, EV_REL, 3, 7), (0.3, EV_REL, 3, 3),
        (0.3, EV_SYN, SYN_REPORT, 0), (0.4, EV_KEY, 304, 0), (0.4, EV_SYN, SYN_REPORT, 0)])))
    assert [f.t for f in frames] == [0.1, 0.3, 0.4]
    assert frames[0].abs == {0: 100} and frames[0].keys == {304}
    assert frames[1].keys == {304} and frames[1].rel == {3: 10}  # autorepeat keeps it held
    assert frames[2].keys == frozenset()


# golden: an Xbox pad, left stick half right and fully forward, right trigger pulled, A
XBOX_EVENTS = pack_events([
    (10.0, EV_ABS, 0, 16384), (10.0, EV_ABS, 1, -32768), (10.0, EV_ABS, 4, 32767),
    (10.0, EV_ABS, 5, 255), (10.0, EV_ABS, 16, 1), (10.0, EV_KEY, 304, 1),
    (10.0, EV_SYN, SYN_REPORT, 0)])


def xbox(opener_source: FakeEvdev, **kw) -> GamepadDevice:
    return GamepadDevice("/dev/input/event7", device_name="Xbox Wireless Controller",
                         opener=lambda p: opener_source, **kw)


def test_gamepad_golden_event_bytes_through_the_xbox_map():
    src = FakeEvdev(XBOX_ABS)
    dev = xbox(src, **ident(gripper_close="button:rt", success="button:a"))
    assert dev.map.key == "xbox" and dev.name.startswith("gamepad:/dev/input/event7 (Xbox")
    dev._open()
    src.chunks.append(XBOX_EVENTS)
    dev._read(0.0)
    s = dev.poll(11.0)
    # device frame: x = lx, y = -ly, z = -ry, rx = -hat_y, ry = hat_x, rz = -rx
    np.testing.assert_allclose(s.twist, [16384.5 / 32767.5, 1.0, -1.0, 0.0, 1.0, 0.0],
                               atol=1e-4)
    assert s.buttons["button:a"] and s.buttons["button:rt"]
    assert s.gripper == specs.GRIPPER_CLOSE and s.events == ("success",)
    assert s.t_device == 10.0
    # release: trigger back below the threshold, stick centred
    src.chunks.append(pack_events([(10.5, EV_ABS, 5, 60), (10.5, EV_ABS, 0, 0),
                                   (10.5, EV_ABS, 1, 0), (10.5, EV_ABS, 4, 0),
                                   (10.5, EV_ABS, 16, 0), (10.5, EV_KEY, 304, 0),
                                   (10.5, EV_SYN, SYN_REPORT, 0)]))
    dev._read(0.0)
    s = dev.poll(11.5)
    assert np.abs(s.twist).max() < 1e-4 and s.gripper == specs.GRIPPER_STAY
    assert "button:rt" not in s.buttons


def test_gamepad_maps_are_chosen_by_name_and_a_user_map_comes_first(tmp_path):
    maps = load_maps()
    assert select_map("Sony Interactive Entertainment DualSense Wireless Controller",
                      maps).key == "playstation"
    assert select_map("Wireless Controller Touchpad", maps).key == "generic"
    assert select_map("Logitech Logitech Dual Action", maps).key == "logitech_directinput"
    assert select_map("Logitech Gamepad F310", maps).key == "xbox"
    ps = select_map("DualSense Wireless Controller", maps)
    assert ps.buttons["cross"] == ps.buttons["a"] == 304
    user = tmp_path / "mine.json"
    user.write_text(json.dumps({"controllers": {"my_xbox": {
        "match": "xbox", "axes": {"lx": 0, "ly": 1}, "buttons": {"go": 304},
        "twist": {"x": "-ly", "y": "lx", "z": "buttons:go,"}}}}))
    src = FakeEvdev(XBOX_ABS)
    dev = xbox(src, gamepad_map=str(user), **ident())
    assert dev.map.key == "my_xbox"
    dev._open()
    src.chunks.append(XBOX_EVENTS)
    dev._read(0.0)
    np.testing.assert_allclose(dev.poll(11.0).twist[:3], [1.0, 0.5, 1.0], atol=1e-4)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"controllers": {"x": {"match": "x", "axes": {},
                                                     "twist": {"x": "stick"}}}}))
    with pytest.raises(DeviceError, match="names no axis"):
        load_maps(str(bad))


def test_generic_evdev_axes_and_relative_axes_rest_at_zero():
    clock = [100.0]
    src = FakeEvdev({0: AbsInfo(-350, 350), 1: AbsInfo(-350, 350)})
    dev = EvdevDevice("/dev/input/event3", device_name="3Dconnexion SpaceNavigator",
                      opener=lambda p: src, rel_scale=350, clock=lambda: clock[0],
                      **ident(clutch="button:b0"))
    dev._open()
    src.chunks.append(pack_events([(1, EV_ABS, 0, 175), (1, EV_ABS, 1, 350),
                                   (1, EV_REL, 5, -175), (1, EV_KEY, 256, 1),
                                   (1, EV_SYN, SYN_REPORT, 0)]))
    dev._read(0.0)
    s = dev.poll(100.0)
    # axes "x,-y,-z,rx,-ry,-rz": HID y toward the operator, z down
    np.testing.assert_allclose(s.twist, [0.5, -1.0, 0, 0, 0, 0.5])
    assert s.buttons["clutch"] and s.buttons["button:b0"]
    clock[0] = 100.05
    dev._read(0.0)  # no event: the relative axis is still fresh
    assert dev.poll(100.05).twist[5] == 0.5
    clock[0] = 100.2
    dev._read(0.0)  # no event for longer than REL_REST_S: the puck is at rest
    s = dev.poll(100.2)
    assert s.twist[5] == 0.0 and s.twist[0] == 0.5 and s.healthy  # abs axes hold


# ----------------------------------------------------------------------------- keyboard
def test_terminal_bytes_to_key_names():
    assert parse_terminal_bytes(b"wS \r\x1b\x1b[A\x1bOD\x7f\t9") == [
        "w", "s", "space", "enter", "esc", "up", "left", "backspace", "tab", "9"]
    assert parse_motion("w:+y, s:-y, e:z") == {"w": (1, 1.0), "s": (1, -1.0), "e": (2, 1.0)}
    with pytest.raises(ValueError, match=r"keyboard.motion"):
        parse_motion("w:forward")


def test_terminal_key_presses_are_impulses_and_bound_events():
    clock = [0.0]
    master, slave = os.openpty()
    try:
        kb = TerminalKeyboard(slave, impulse_s=0.15, clock=lambda: clock[0],
                              **ident(success="key:y", gripper_toggle="key:g",
                                      clutch="key:space"))
        kb.fd = slave
        kb.feed(b"wy g", 0.0)
        s = kb.poll(0.0)
        assert s.twist[1] == 1.0 and s.events == ("success",)
        assert s.gripper == specs.GRIPPER_CLOSE and not s.buttons["clutch"]  # no holding
        clock[0] = 0.1
        kb._read(0.0)
        assert kb.poll(0.1).twist[1] == 1.0
        clock[0] = 0.2
        kb._read(0.0)
        assert kb.poll(0.2).twist[1] == 0.0
        assert "cannot be held" in kb.limitations
    finally:
        os.close(master)
        os.close(slave)


def test_terminal_keyboard_reads_a_real_tty_and_restores_it(caplog):
    master, slave = os.openpty()
    before = termios.tcgetattr(slave)
    try:
        kb = TerminalKeyboard(slave, **ident(failure="key:n"))
        with caplog.at_level(logging.WARNING), kb:
            assert termios.tcgetattr(slave) != before  # cbreak
            os.write(master, b"n")
            deadline = time.monotonic() + 5
            events = ()
            while not events and time.monotonic() < deadline:
                events = kb.poll().events
                time.sleep(0.005)
            assert events == ("failure",)
        assert termios.tcgetattr(slave) == before
        assert "a terminal sends no key releases" in caplog.text
    finally:
        os.close(master)
        os.close(slave)
    r, w = os.pipe()
    try:
        with pytest.raises(DeviceError, match="needs a terminal"):
            TerminalKeyboard(r).start()
    finally:
        os.close(r)
        os.close(w)


def test_pynput_keyboard_holds_keys_and_the_clutch():
    class Listener:
        def __init__(self, on_press, on_release):
            self.on_press, self.on_release = on_press, on_release
            self.stopped = False

        def start(self):
            pass

        def stop(self):
            self.stopped = True

    made = []

    def factory_(**kw):
        made.append(Listener(**kw))
        return made[-1]

    kb = PynputKeyboard(listener_factory=factory_, speed=0.5,
                        **ident(clutch="key:space", quit="key:esc"))
    with kb:
        listener = made[0]
        w, space = types.SimpleNamespace(char="W"), types.SimpleNamespace(char=None,
                                                                          name="space")
        listener.on_press(space)
        listener.on_press(w)
        listener.on_press(w)  # auto-repeat: no second press
        s = kb.poll(1.0)
        assert s.twist[1] == 0.5 and s.buttons["clutch"] and s.buttons["key:w"]
        listener.on_release(w)
        listener.on_press(types.SimpleNamespace(char=None, name="esc"))
        s = kb.poll(2.0)
        assert s.twist[1] == 0.0 and s.buttons["clutch"] and s.events == ("quit",)
    assert listener.stopped


# ----------------------------------------------------------------------------- spacenav
class FakeSpnav:
    """libspnav's functions over a queue of events."""

    def __init__(self, open_ok: bool = True) -> None:
        self.open_ok, self.events, self.closed = open_ok, [], False

    def spnav_open(self):
        return 0 if self.open_ok else -1

    def spnav_fd(self):
        return -1

    def spnav_close(self):
        self.closed = True

    def spnav_poll_event(self, ref):
        if not self.events:
            return 0
        ev: SpnavEvent = ref._obj
        kind, values = self.events.pop(0)
        ev.type = kind
        target = {1: ev.motion, 2: ev.button, 3: ev.dev}[kind]
        for k, v in values.items():
            setattr(target, k, v)
        return kind


def test_spacenav_events_become_device_axes_and_buttons():
    lib = FakeSpnav()
    clock = [50.0]
    dev = SpacenavDevice(library=lib, stale_s=0.5, clock=lambda: clock[0],
                         **ident(clutch="button:b0"))
    dev._open()
    lib.events += [(1, {"x": 350, "y": 175, "z": -350, "rx": 0, "ry": 35, "rz": 70}),
                   (2, {"press": 1, "bnum": 0})]
    assert dev.drain_events() == 2
    s = dev.poll()
    # spacenavd: y up, z into the screen -> device (x, z, y, rx, rz, ry)
    np.testing.assert_allclose(s.twist, [1.0, -1.0, 0.5, 0.0, 0.2, 0.1])
    assert s.buttons["clutch"] and s.buttons["button:b0"]
    lib.events.append((3, {"op": 1, "id": 0}))  # device removed from the daemon
    dev.drain_events()
    s = dev.poll()
    assert s.healthy and np.all(s.twist == 0)  # link lost: motion zeroed at once
    clock[0] += 0.6
    s = dev.poll()
    assert not s.healthy and "link lost" in s.problem
    dev._close_handle()
    assert lib.closed


def test_spacenav_missing_library_or_daemon_says_what_to_do(monkeypatch):
    monkeypatch.setattr("ctypes.util.find_library", lambda name: None)
    with pytest.raises(DeviceError, match=r"libspnav is not installed.*apt install"):
        load_library()
    with pytest.raises(DeviceError, match=r"cannot connect to spacenavd.*systemctl"):
        SpacenavDevice(library=FakeSpnav(open_ok=False)).start()


# ----------------------------------------------------------------------------- factory
def test_make_device_builds_each_backend_from_the_config(fake_sys, tmp_path):
    cfg = teleop_config()
    assert isinstance(factory.make_device(cfg), NoDevice)
    s = factory.make_device(cfg).poll(3.0)
    assert s.healthy and np.all(s.twist == 0) and s.device == "none"

    fake_sys.hidraw(2, 0x046D, 0xC62B, "3Dconnexion SpaceMouse Pro")
    fake_sys.input(5, "Xbox Wireless Controller", keys=GAMEPAD_KEYS, abs_=GAMEPAD_ABS)
    where = {"sysfs_root": str(fake_sys.sys), "dev_root": str(fake_sys.dev)}
    cfg.device = "spacemouse"
    dev = factory.make_device(cfg, **where)
    assert dev.entry.key == "spacemouse_pro" and dev.path.endswith("hidraw2")
    assert dev.pipeline.raw.bindings.events_of("button:1") == ("success",)
    cfg.device = "gamepad"
    dev = factory.make_device(cfg, **where)
    assert dev.map.key == "xbox" and dev.path.endswith("event5")
    cfg.device = "evdev"
    assert factory.make_device(cfg, **where).path.endswith("event5")

    segs = tmp_path / "segs.json"
    segs.write_text(json.dumps([{"t": 0, "twist": [0.1, 0, 0, 0, 0, 0]}]))
    cfg.device, cfg.path = "scripted", str(segs)
    assert factory.make_device(cfg).poll(0.0).twist[0] == 0.1
    cfg.path = "test_input_devices:half_forward"
    assert factory.make_device(cfg).poll(0.0).twist[0] == 0.5
    rep = tmp_path / "r.jsonl"
    rep.write_text('{"t": 0, "twist": [0, 0.2, 0, 0, 0, 0]}\n')
    cfg.device, cfg.path = "replay", str(rep)
    assert factory.make_device(cfg).poll(0.0).twist[1] == 0.2
    cfg.device, cfg.path = "keyboard", ""
    cfg.keyboard.backend = "terminal"
    assert factory.make_device(cfg).name == "keyboard:terminal"

    cfg.device = "joystick"
    with pytest.raises(ValueError, match=r"teleop.device='joystick': unknown backend"):
        factory.make_device(cfg)
    cfg.device = "test_input_devices:build_custom"
    assert factory.make_device(cfg).name == "custom"
    cfg.deadband = "2"
    cfg.device = "spacemouse"
    with pytest.raises(ValueError, match="deadband='2'"):
        factory.make_device(cfg, **where)


def half_forward(t: float) -> dict:
    return {"twist": [0.5, 0, 0, 0, 0, 0]}


def build_custom(cfg):
    dev = NoDevice()
    dev.name = "custom"
    return dev


def test_register_backend_adds_a_device_without_touching_the_factory():
    factory.register_backend("unit_test_device", lambda cfg: ScriptedDevice(
        lambda t: {"gripper": specs.GRIPPER_OPEN}, name="unit"))
    cfg = teleop_config()
    cfg.device = "unit_test_device"
    assert factory.make_device(cfg).poll(0.0).gripper == specs.GRIPPER_OPEN
    assert "unit_test_device" in factory.backend_names()


def test_combined_device_moves_with_one_and_takes_events_from_the_other():
    mover = ScriptedDevice(lambda t: {"twist": [0.3, 0, 0, 0, 0, 0],
                                      "buttons": {"clutch": True}}, name="mouse")
    keys = ScriptedDevice(lambda t: {"events": ["success"], "gripper": 2}, name="keys")
    both = CombinedDevice([mover, keys])
    with both:
        s = both.poll(0.0)
    assert both.name == "mouse+keys" and s.twist[0] == 0.3 and s.buttons["clutch"]
    assert s.events == ("success",) and s.gripper == specs.GRIPPER_CLOSE and s.healthy
    sick = ScriptedDevice(lambda t: {"healthy": False, "problem": "unplugged"}, name="s")
    s = CombinedDevice([mover, sick]).poll(0.0)
    assert not s.healthy and s.problem == "unplugged" and np.all(s.twist == 0)
