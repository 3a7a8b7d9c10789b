"""Golden decoding of raw SpaceMouse report bytes, and the device table itself.

The byte strings are what hidraw delivers (report id first). Wired devices split
translation (report 1) and rotation (report 2); wireless and newer devices send all six
axes in report 1. A reader that assumes one layout reads the other kind wrong, which is
what these tests pin down.
"""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.teleop import spacemouse as sm
from silri_jax.teleop.base import DeviceError

# translation x=+100, y=-200, z=+350 ; rotation rx=-50, ry=0, rz=+175 (HID counts)
WIRED_T = bytes.fromhex("01 6400 38ff 5e01")
WIRED_R = bytes.fromhex("02 ceff 0000 af00")
WIRELESS = bytes.fromhex("01 6400 38ff 5e01 ceff 0000 af00")
RAW = (100, -200, 350, -50, 0, 175)
# device frame: x right, y away from the operator, z up (HID: y toward, z down)
DEVICE = np.array([100, 200, -350, -50, 0, -175]) / 350.0


def entry(key: str) -> sm.DeviceEntry:
    return sm.find_entry(key)


def decode_all(e: sm.DeviceEntry, *reports: bytes) -> sm.SpaceMouseState:
    state = sm.SpaceMouseState()
    for r in reports:
        state = sm.decode_report(e, r, state)
    return state


def test_wired_device_splits_translation_and_rotation_over_reports_1_and_2():
    e = entry("SpaceMouse Compact")
    after_t = decode_all(e, WIRED_T)
    assert after_t.raw == (100, -200, 350, 0, 0, 0)
    both = sm.decode_report(e, WIRED_R, after_t)
    assert both.raw == RAW
    np.testing.assert_allclose(both.axes(e), DEVICE)
    # a new translation report keeps the rotation, and the other way round
    again = sm.decode_report(e, bytes.fromhex("01 0000 0000 0000"), both)
    assert again.raw == (0, 0, 0, -50, 0, 175)


@pytest.mark.parametrize("key", ["spacenavigator", "spacemouse_pro", "spacemouse_compact"])
def test_every_wired_model_reads_rotation_from_report_2(key):
    # the all-in-report-1 assumption would leave rotation at zero on these devices
    state = decode_all(entry(key), WIRED_T, WIRED_R)
    assert state.raw[3:] == (-50, 0, 175)


@pytest.mark.parametrize("key", ["spacemouse_wireless", "spacemouse_wireless_receiver",
                                 "spacemouse_pro_wireless", "spacemouse_enterprise",
                                 "universal_receiver", "spacemouse_wireless_bt"])
def test_wireless_devices_send_all_six_axes_in_report_1(key):
    e = entry(key)
    state = decode_all(e, WIRELESS)
    assert state.raw == RAW
    np.testing.assert_allclose(state.axes(e), DEVICE)


def test_windows_padded_report_1_of_a_wired_device_does_not_zero_its_rotation():
    # hidapi on some systems pads every report to the longest one (13 bytes)
    padded = WIRED_T + bytes(6)
    state = decode_all(entry("spacemouse_pro"), WIRED_R, padded)
    assert state.raw == RAW


def test_unknown_3dconnexion_product_decodes_by_report_length():
    e = sm.entry_for(0x256F, 0xC6FF)
    assert e is not None and e.layout == "auto"
    assert decode_all(e, WIRELESS).raw == RAW
    assert decode_all(e, WIRED_T, WIRED_R).raw == RAW
    assert sm.entry_for(0x046D, 0xC077) is None  # a Logitech mouse is not a 3D mouse


@pytest.mark.parametrize("stray", [b"", b"\x01\x05", bytes.fromhex("17 64"),
                                   bytes.fromhex("04 01"), bytes.fromhex("02 0100")])
def test_stray_or_short_reports_leave_the_state_unchanged(stray):
    e = entry("spacemouse_compact")
    state = decode_all(e, WIRED_T, WIRED_R)
    assert sm.decode_report(e, stray, state) == state


@pytest.mark.parametrize(("key", "hexbytes", "held"), [
    ("spacemouse_compact", "03 00 00", []),
    ("spacemouse_compact", "03 01 00", ["button:left"]),
    ("spacemouse_compact", "03 02 00", ["button:right"]),
    ("spacemouse_compact", "03 03 00", ["button:left", "button:right"]),
    ("spacemouse_pro", "03 00 10 00 00", ["button:1"]),
    ("spacemouse_pro", "03 00 80 00 00", ["button:4"]),
    ("spacemouse_pro", "03 00 00 40 00", ["button:esc"]),
    ("spacemouse_pro", "03 00 00 00 01", ["button:shift"]),
    ("spacemouse_pro", "03 01 00 00 04", ["button:menu", "button:lock"]),
    ("spacemouse_compact", "03 04 00", ["button:b2"]),  # a bit without a name
    ("universal_receiver", "03 01 00 00 00", ["button:left", "button:menu"]),
])
def test_button_report_3_bits(key, hexbytes, held):
    e = entry(key)
    state = decode_all(e, WIRED_T, bytes.fromhex(hexbytes))
    assert sorted(state.held(e)) == sorted(held)
    assert state.raw[:3] == (100, -200, 350)  # buttons do not touch the axes


def test_table_has_the_models_teleop_supports_with_their_layouts():
    table = sm.load_table()
    ids = [(e.vendor, e.product) for e in table]
    assert len(ids) == len(set(ids)), "duplicate USB ids in the device table"
    assert {e.vendor for e in table} <= {0x046D, 0x256F}
    expected = {  # product id -> layout
        (0x046D, 0xC626): "split",     # SpaceNavigator
        (0x046D, 0xC62B): "split",     # SpaceMouse Pro
        (0x256F, 0xC635): "split",     # SpaceMouse Compact
        (0x256F, 0xC62E): "combined",  # SpaceMouse Wireless, cable
        (0x256F, 0xC62F): "combined",  # SpaceMouse Wireless, receiver
        (0x256F, 0xC631): "combined",  # SpaceMouse Pro Wireless, cable
        (0x256F, 0xC632): "combined",  # SpaceMouse Pro Wireless, receiver
        (0x256F, 0xC633): "combined",  # SpaceMouse Enterprise
        (0x256F, 0xC652): "combined",  # Universal Receiver
        (0x256F, 0xC63A): "combined",  # SpaceMouse Wireless, Bluetooth
        (0x256F, 0xC638): "combined",  # SpaceMouse Pro Wireless, Bluetooth
    }
    by_id = {(e.vendor, e.product): e for e in table}
    for usb_id, layout in expected.items():
        assert by_id[usb_id].layout == layout, by_id[usb_id].name
        assert by_id[usb_id].scale == 350.0
    assert {e.connection for e in table} == {"cable", "receiver", "bluetooth"}


def test_find_entry_by_key_name_or_id_and_a_clear_error_otherwise():
    assert sm.find_entry("SPACEMOUSE COMPACT").key == "spacemouse_compact"
    assert sm.find_entry("256f:c635").name == "SpaceMouse Compact"
    with pytest.raises(DeviceError, match=r"no SpaceMouse model 'nope'.*spacemouse_compact"):
        sm.find_entry("nope")


def test_a_user_table_replaces_the_built_in_one(tmp_path):
    f = tmp_path / "table.json"
    f.write_text('{"button_sets": {"one": {"only": 3}}, "devices": [{"name": "Proto", '
                 '"vendor": "256f", "product": "c7ff", "layout": "split", "buttons": "one",'
                 ' "scale": 500}]}')
    (e,) = sm.load_table(f)
    assert (e.key, e.id, e.scale, e.buttons) == ("proto", "256f:c7ff", 500.0, (("only", 3),))
    bad = tmp_path / "bad.json"
    bad.write_text('{"devices": [{"name": "X", "vendor": "256f", "product": "1", '
                   '"layout": "diagonal"}]}')
    with pytest.raises(ValueError, match=r"device #0 .X.: layout 'diagonal'"):
        sm.load_table(bad)
