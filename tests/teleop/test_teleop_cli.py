"""``python -m silri_jax.teleop``: doctor (fake sysfs), decode (JSON lines), record-input,
one-line errors with exit code 2; and the config section's documentation."""

from __future__ import annotations

import json
import subprocess
import sys

import ml_collections
import numpy as np
import pytest
from teleop_fakes import GAMEPAD_ABS, GAMEPAD_KEYS, report

from silri_jax import cli
from silri_jax.teleop import doctor
from silri_jax.teleop.__main__ import main
from silri_jax.teleop.config import CONFIG_FILE, teleop_config


def run_main(capsys, *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code)
    out, err = capsys.readouterr()
    return code, out, err


def test_help_lists_the_subcommands():
    r = subprocess.run([sys.executable, "-m", "silri_jax.teleop", "--help"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0
    for sub in ("doctor", "decode", "record-input"):
        assert sub in r.stdout


@pytest.mark.parametrize("argv", [["bogus"], ["decode", "--hex", "01"],
                                  ["decode", "--device", "nope", "--hex", "01"],
                                  ["decode", "--device", "spacemouse_pro", "--hex", "zz"],
                                  ["record-input", "--device", "none", "--out", "x.jsonl",
                                   "--seconds", "0"],
                                  ["doctor", "--live", "--device", "replay", "--path",
                                   "missing.jsonl"]])
def test_errors_are_one_line_with_exit_code_2(capsys, argv):
    code, out, err = run_main(capsys, *argv)
    assert code == 2 and out == ""
    assert err.startswith("silri_jax.teleop: error: ") and err.count("\n") == 1


def test_doctor_lists_devices_backends_and_permissions(fake_sys, capsys):
    fake_sys.hidraw(0, 0x046D, 0xC077, "Logitech USB Optical Mouse")
    fake_sys.hidraw(3, 0x256F, 0xC635, "3Dconnexion SpaceMouse Compact")
    fake_sys.input(7, "Xbox Wireless Controller", vendor=0x045E, product=0x0B13, bus=5,
                   keys=GAMEPAD_KEYS, abs_=GAMEPAD_ABS)
    fake_sys.input(2, "AT Translated Set 2 keyboard", keys=tuple(range(1, 90)))
    code, out, _ = run_main(capsys, "doctor", "--sysfs", str(fake_sys.sys), "--dev",
                            str(fake_sys.dev))
    assert code == 0
    assert "teleop input devices (2):" in out
    assert f"{fake_sys.dev}/hidraw3  3Dconnexion SpaceMouse Compact  [256f:c635, usb, " \
           "interface 0, axis interface]" in out
    assert "backend: spacemouse (SpaceMouse Compact, layout split); readable" in out
    assert "backend: gamepad (map xbox); readable" in out and "[045e:0b13, bluetooth" in out
    assert "Optical Mouse" not in out and "keyboard" not in out.split("other inputs")[0]
    assert "permissions: every device is readable." in out
    assert "spacenavd:" in out and "python packages:" in out


def test_doctor_prints_the_udev_rule_for_unreadable_devices(fake_sys):
    fake_sys.hidraw(3, 0x256F, 0xC635, "3Dconnexion SpaceMouse Compact")
    fake_sys.hidraw(4, 0x256F, 0xC63A, "SpaceMouse Wireless BT", bus=5)
    fake_sys.input(7, "Xbox Wireless Controller", keys=GAMEPAD_KEYS, abs_=GAMEPAD_ABS)
    found = doctor.find_devices(str(fake_sys.sys), str(fake_sys.dev),
                                access=lambda path, mode: False)
    text = doctor.report(found, str(fake_sys.sys), [])
    assert text.count("NOT READABLE") == 3
    assert "permissions: 3 device(s) not readable by you" in text
    assert f"sudo tee {doctor.RULES_FILE}" in text
    assert 'KERNEL=="hidraw*", ATTRS{idVendor}=="256f", ATTRS{idProduct}=="c635", ' \
           'MODE="0666"' in text
    assert 'KERNEL=="hidraw*", KERNELS=="0005:256F:C63A.*", MODE="0666"' in text
    assert 'SUBSYSTEM=="input", KERNEL=="event*", ATTRS{idVendor}=="045e", ' \
           'ATTRS{idProduct}=="028e", MODE="0666"' in text
    assert "udevadm control --reload-rules" in text


def test_doctor_with_no_device_says_so_and_exits_0(fake_sys, capsys):
    code, out, _ = run_main(capsys, "doctor", "--sysfs", str(fake_sys.sys), "--dev",
                            str(fake_sys.dev))
    assert code == 0 and out.startswith("no teleop input device found")
    assert "advice:" in out and "--device keyboard" in out


def test_doctor_live_prints_plain_lines_when_not_a_tty(tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    f.write_text('{"t": 0, "twist": [0.25, 0, 0, 0, 0, 0], "buttons": {"clutch": true}, '
                 '"events": ["success"]}\n')
    code, out, _ = run_main(capsys, "doctor", "--live", "--device", "replay", "--path",
                            str(f), "--seconds", "0.1", "--rate", "50")
    lines = out.splitlines()
    assert code == 0 and lines[0] == "replay:r.jsonl: live (Ctrl-C to stop)"
    assert "\r" not in out and len(lines) >= 3
    assert lines[1].startswith("vx +0.25 vy +0.00") and "held clutch" in lines[1]
    assert "events success" in lines[1] and lines[1].endswith("| ok")
    assert "events -" in lines[2]


def test_live_refreshes_one_line_on_a_tty():
    import io

    from silri_jax.teleop.none_device import NoDevice

    buf = io.StringIO()
    t = [0.0]
    n = doctor.live(NoDevice(), 0.3, buf, rate_hz=10, tty=True, clock=lambda: t[0],
                    sleep=lambda s: t.__setitem__(0, t[0] + s))
    assert n == 3 and buf.getvalue().count("\r") == 3 and buf.getvalue().count("\n") == 1


def test_decode_prints_one_json_line_per_report(capsys):
    hexes = [report(1, 350, 0, 0).hex(), report(2, 0, 0, 175).hex(), "03 01 00"]
    code, out, _ = run_main(capsys, "decode", "--device", "SpaceMouse Compact", "--hex",
                            *hexes)
    lines = [json.loads(x) for x in out.splitlines()]
    assert code == 0 and len(lines) == 3
    assert lines[0]["report"] == "015e0100000000" and lines[0]["raw"] == [350, 0, 0, 0, 0, 0]
    assert lines[1]["raw"] == [350, 0, 0, 0, 0, 175]
    assert lines[1]["device_axes"] == [1.0, 0.0, 0.0, 0.0, 0.0, -0.5]
    # the default mounting "y,-x,z,ry,-rx,rz" and deadband 0.1
    assert lines[1]["twist"] == pytest.approx([0.0, -1.0, 0.0, 0.0, 0.0, -0.444444])
    assert lines[2]["buttons"] == {"button:left": True, "clutch": True}
    assert lines[0]["model"] == "spacemouse_compact" and lines[2]["healthy"] is True


def test_decode_wireless_report_by_usb_id(capsys):
    code, out, _ = run_main(capsys, "decode", "--device", "256f:c652", "--hex",
                            report(1, 0, 350, 0, 0, 0, 175).hex())
    assert code == 0
    assert json.loads(out)["raw"] == [0, 350, 0, 0, 0, 175]


def test_record_input_writes_a_replay_file(tmp_path, capsys):
    segs = tmp_path / "segs.json"
    segs.write_text(json.dumps([{"t": 0, "twist": [0.1, 0, 0, 0, 0, 0],
                                 "events": ["success"]}]))
    out_file = tmp_path / "out.jsonl"
    code, out, _ = run_main(capsys, "record-input", "--device", "scripted", "--path",
                            str(segs), "--out", str(out_file), "--seconds", "0.05",
                            "--rate", "100")
    lines = [json.loads(x) for x in out_file.read_text().splitlines()]
    assert code == 0 and out.startswith(f"recorded {len(lines) - 1} lines from scripted:")
    assert "header" in lines[0] and lines[1]["events"] == ["success"]
    assert lines[1]["twist"][0] == 0.1


def test_set_overrides_a_config_field(tmp_path, capsys):
    f = tmp_path / "r.jsonl"
    f.write_text('{"t": 0, "twist": [0, 0, 0, 0, 0, 0]}\n')
    code, _, err = run_main(capsys, "doctor", "--live", "--device", "replay", "--path",
                            str(f), "--seconds", "0.01", "--set", "nonsense=1")
    assert code == 2 and "no config field 'nonsense'" in err


def test_every_config_field_is_documented_for_help():
    config = ml_collections.ConfigDict({"teleop": teleop_config()})
    rows = cli.config_field_docs(config, str(CONFIG_FILE))
    assert len(rows) > 30
    missing = [name for name, _, doc in rows if not doc]
    assert not missing, missing
    docs = {name: doc for name, _, doc in rows}
    assert "seconds" in docs["config.teleop.stale_s"]
    assert "continue is a Python keyword" in docs["config.teleop.bindings.continue"]
    assert docs["config.teleop.intervention.mode"].startswith("clutch (hold")


def test_decode_gamepad_event_bytes_through_its_map(capsys):
    from silri_jax.teleop.evdev_device import pack_events

    ev_abs, ev_key, ev_syn = 3, 1, 0
    # left stick half right and fully forward, right stick fully back, right trigger
    # pulled, hat right, A pressed (the golden Xbox frame, xpad's ranges)
    chunk = pack_events([(10.0, ev_abs, 0, 16384), (10.0, ev_abs, 1, -32768),
                         (10.0, ev_abs, 4, 32767), (10.0, ev_abs, 5, 1023),
                         (10.0, ev_abs, 16, 1), (10.0, ev_key, 304, 1),
                         (10.0, ev_syn, 0, 0)]).hex()
    code, out, _ = run_main(capsys, "decode", "--device", "gamepad:xbox", "--hex", chunk)
    assert code == 0
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert line["map"] == "xbox" and len(line["input_events"]) == 7
    # device frame: x = lx, y = -ly, z = -ry, rx = -hat_y, ry = hat_x, rz = -rx
    np.testing.assert_allclose(line["device_axes"], [16384.5 / 32767.5, 1.0, -1.0, 0.0, 1.0,
                                                     0.0], atol=1e-4)
    assert line["buttons"]["button:a"] and line["buttons"]["button:rt"]
    assert line["gripper"] == 2  # the trigger closes the gripper under the default bindings
    assert line["t_device"] == 10.0


def test_decode_gamepad_refuses_torn_event_bytes(capsys):
    code, _, err = run_main(capsys, "decode", "--device", "gamepad:xbox", "--hex", "0102")
    assert code == 2 and "not a whole number of 24-byte input events" in err
