"""``python -m silri_jax.teleop``: check, decode and record teleop input devices.

    python -m silri_jax.teleop doctor                 # devices, permissions, udev rules
    python -m silri_jax.teleop doctor --live --device spacemouse
    python -m silri_jax.teleop decode --device "SpaceMouse Compact" --hex 01f4010000000
    python -m silri_jax.teleop decode --device gamepad:xbox --hex <input_event bytes>
    python -m silri_jax.teleop record-input --device spacemouse --out bug.jsonl --seconds 10

A usage or device error is one line ``silri_jax.teleop: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn

from silri_jax.teleop.base import DeviceError

if TYPE_CHECKING:
    import ml_collections

PROG = "silri_jax.teleop"
EXIT_ERROR = 2


class _Parser(argparse.ArgumentParser):
    """argparse with errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"{PROG}: error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_ERROR)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"python -m {PROG}",
                description="Teleop input devices: find and check them (doctor), decode raw "
                            "SpaceMouse reports (decode), capture a replay file "
                            "(record-input). Described in docs/teleop.md.")
    sub = p.add_subparsers(dest="command", metavar="{doctor,decode,record-input}",
                           parser_class=_Parser)

    d = sub.add_parser("doctor", help="list devices, check read permission, print the udev "
                       "rule that fixes it; --live shows a device's conditioned input",
                       description="Lists the input devices a teleop backend could read, "
                       "whether you may read them, and the udev rules that fix it.")
    d.add_argument("--live", action="store_true",
                   help="show one device's conditioned axes and buttons as they change")
    _device_args(d, required=False)
    d.add_argument("--seconds", type=float, default=0.0,
                   help="with --live: stop after this long (default: until Ctrl-C)")
    d.add_argument("--rate", type=float, default=20.0, help="with --live: samples per second")
    d.add_argument("--sysfs", default="/sys", help="sysfs root to search (for testing)")
    d.add_argument("--dev", default="/dev", help="device file root (for testing)")

    c = sub.add_parser("decode", help="print the sample each raw SpaceMouse report or gamepad "
                       "event chunk decodes to, one JSON line each (for bug reports)",
                       description="Decodes raw hidraw reports (hex, report id first) of a "
                       "SpaceMouse model in order, printing one JSON line per report: the "
                       "raw counts, the device-frame axes and the sample with the default "
                       "conditioning. With --device gamepad:<map> (xbox, playstation, ...), "
                       "each --hex is a chunk of Linux input_event bytes (24 each, as read "
                       "from /dev/input/eventN), one JSON line per SYN_REPORT.")
    c.add_argument("--device", required=True,
                   help="model: a device table key or name, or vendor:product in hex; or "
                        "gamepad:<map key or controller name>")
    c.add_argument("--hex", nargs="+", required=True, metavar="BYTES",
                   help="reports as hex strings (spaces inside one quoted report allowed)")
    c.add_argument("--table", default="", help="user device table (JSON)")
    c.add_argument("--absinfo", nargs="*", default=[], metavar="CODE:MIN:MAX",
                   help="gamepads: an axis range as evtest shows it (default: sticks "
                        "-32768:32767, triggers 0:1023, hats -1:1, as Linux's xpad "
                        "driver reports them)")
    c.add_argument("--gamepad_map", default="", help="gamepads: user map file (JSON)")

    r = sub.add_parser("record-input", help="capture a device's input to a replay file",
                       description="Records a device's samples (or a SpaceMouse's raw "
                       "reports with --raw) to a JSONL replay file.")
    _device_args(r, required=True)
    r.add_argument("--out", required=True, help="replay file to write (.jsonl)")
    r.add_argument("--seconds", type=float, required=True, help="how long to record")
    r.add_argument("--rate", type=float, default=100.0, help="samples per second")
    r.add_argument("--raw", action="store_true",
                   help="record a SpaceMouse's raw reports (replayed through the decoder)")
    return p


def _device_args(p: argparse.ArgumentParser, required: bool) -> None:
    p.add_argument("--device", required=required, default="spacemouse",
                   help="backend: spacemouse, spacenav, evdev, gamepad, keyboard, replay, "
                        "scripted, none (default: spacemouse)")
    p.add_argument("--path", default="", help="device file or replay file; "
                   "'' finds the first suitable device")
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a teleop config field, e.g. --set deadband=0.05 "
                        "(repeatable)")


def _config(args: argparse.Namespace) -> ml_collections.ConfigDict:
    """The teleop section with the command line's --device, --path and --set applied."""
    from silri_jax.teleop.config import teleop_config

    cfg = teleop_config()
    cfg.device, cfg.path = args.device, args.path
    for item in args.set:
        field, eq, value = item.partition("=")
        if not eq:
            fail(f"--set {item!r}: needs FIELD=VALUE")
        node, keys = cfg, field.split(".")
        for k in keys[:-1]:
            if k not in node:
                fail(f"--set {item!r}: no config field {field!r}")
            node = node[k]
        if keys[-1] not in node:
            fail(f"--set {item!r}: no config field {field!r}")
        old = node[keys[-1]]
        try:
            node[keys[-1]] = (type(old)(json.loads(value)) if not isinstance(old, str)
                              else value)
        except (ValueError, TypeError) as e:
            fail(f"--set {item!r}: {e}")
    return cfg


def _doctor(args: argparse.Namespace) -> int:
    from silri_jax.teleop import doctor

    if not args.live:
        found = doctor.find_devices(args.sysfs, args.dev)
        sys.stdout.write(doctor.report(found, args.sysfs, doctor.environment()))
        return 0
    from silri_jax.teleop.factory import make_device

    cfg = _config(args)
    device = make_device(cfg, sysfs_root=args.sysfs, dev_root=args.dev)
    with device:
        sys.stdout.write(f"{device.name}: live (Ctrl-C to stop)\n")
        doctor.live(device, args.seconds, rate_hz=args.rate)
    return 0


def _gamepad_absinfo(specs: Sequence[str], gamepad: object) -> dict[int, object]:
    """``--absinfo`` ranges over xpad's defaults for the map's axes."""
    from silri_jax.teleop.evdev_device import AbsInfo

    m = gamepad.map  # type: ignore[attr-defined]
    out: dict[int, object] = {}
    for name, code in m.axes.items():
        if name in m.triggers:
            out[code] = AbsInfo(0, 1023)
        elif name.startswith("hat"):
            out[code] = AbsInfo(-1, 1)
        else:
            out[code] = AbsInfo(-32768, 32767)
    for spec in specs:
        try:
            code, lo, hi = (int(v) for v in spec.split(":"))
        except ValueError:
            fail(f"--absinfo {spec!r}: expected CODE:MIN:MAX (integers)")
        if hi <= lo:
            fail(f"--absinfo {spec!r}: MAX must be above MIN")
        out[code] = AbsInfo(lo, hi, (lo + hi) // 2 if lo < 0 else lo)
    return out


def _decode_gamepad(args: argparse.Namespace, which: str) -> int:
    """Event bytes through a gamepad map, one JSON line per SYN_REPORT frame."""
    from silri_jax.teleop.config import teleop_config
    from silri_jax.teleop.evdev_device import EVENT_SIZE, Frame, unpack_events
    from silri_jax.teleop.gamepad import GamepadDevice, load_maps

    maps = load_maps(args.gamepad_map)
    keys = [m.key for m in maps]
    name, key = (which, "") if which not in keys else (which, which)

    class _Chunks:
        """The --hex chunks as an evdev source (one chunk per read)."""

        def __init__(self) -> None:
            self.chunks: list[bytes] = []
            self.ranges: dict[int, object] = {}

        def read(self, timeout: float) -> list[tuple[float, int, int, int]]:
            return unpack_events(self.chunks.pop(0)) if self.chunks else []

        def absinfo(self, codes: object) -> dict[int, object]:
            return dict(self.ranges)

        def close(self) -> None:
            pass

    src = _Chunks()
    from silri_jax.teleop.factory import common_kwargs

    kw = common_kwargs(teleop_config())
    try:
        dev = GamepadDevice("/dev/input/decode", device_name=name, map_key=key,
                            gamepad_map=args.gamepad_map, opener=lambda _p: src, **kw)
    except DeviceError as e:
        fail(f"--device gamepad:{which}: {e}; maps: {', '.join(keys)}")
    src.ranges = _gamepad_absinfo(args.absinfo, dev)
    dev._open()
    for text in args.hex:
        try:
            data = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            fail(f"--hex {text!r}: not a hex string")
        events = unpack_events(data)
        if len(data) % EVENT_SIZE or not events:
            fail(f"--hex {text!r}: {len(data)} bytes is not a whole number of {EVENT_SIZE}-byte "
                 "input events")
        src.chunks.append(data)
        dev._read(0.0)
        sample = dev.poll(events[-1][0] + 1e-3)
        axes, _ = dev.frame_input(Frame(events[-1][0], dict(dev.decoder.abs), {},
                                        frozenset(dev.decoder.keys)))
        line = {"input_events": [[round(t, 6), typ, code, value]
                                 for t, typ, code, value in events],
                "map": dev.map.key if dev.map is not None else "",
                "device_axes": [round(float(v), 6) + 0.0 for v in axes], **sample.to_json()}
        sys.stdout.write(json.dumps(line) + "\n")
    return 0


def _decode(args: argparse.Namespace) -> int:
    if args.device.startswith("gamepad:"):
        return _decode_gamepad(args, args.device.split(":", 1)[1])
    from silri_jax.teleop.config import teleop_config
    from silri_jax.teleop.factory import common_kwargs
    from silri_jax.teleop.pipeline import Pipeline
    from silri_jax.teleop.spacemouse import (
        SpaceMouseState,
        decode_report,
        find_entry,
        load_table,
    )

    entry = find_entry(args.device, load_table(args.table or None))
    kw = common_kwargs(teleop_config())
    pipe = Pipeline(f"decode:{entry.key}", kw["conditioner"], None, kw["bindings"])
    state = SpaceMouseState()
    for text in args.hex:
        try:
            report = bytes.fromhex(text.replace(":", " "))
        except ValueError:
            fail(f"--hex {text!r}: not a hex string")
        state = decode_report(entry, report, state)
        pipe.raw.report(0.0, axes=state.axes(entry), held=state.held(entry))
        sample = pipe.sample(0.0)
        line = {"report": report.hex(), "model": entry.key, "raw": list(state.raw),
                "device_axes": [round(float(v), 6) + 0.0 for v in state.axes(entry)],
                **sample.to_json()}
        sys.stdout.write(json.dumps(line) + "\n")
    return 0


def _record(args: argparse.Namespace) -> int:
    from silri_jax.teleop.factory import make_device
    from silri_jax.teleop.replay import record

    if args.seconds <= 0:
        fail(f"--seconds {args.seconds}: must be > 0")
    device = make_device(_config(args))
    with device:
        n = record(device, args.out, args.seconds, rate_hz=args.rate, raw=args.raw)
    sys.stdout.write(f"recorded {n} lines from {device.name} to {args.out}\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return {"doctor": _doctor, "decode": _decode, "record-input": _record}[args.command](
            args)
    except (DeviceError, ValueError, OSError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
