"""``python -m silri_jax.teleop``: check, decode and record teleop input devices.

    python -m silri_jax.teleop doctor                 # devices, permissions, udev rules
    python -m silri_jax.teleop doctor --live --device spacemouse
    python -m silri_jax.teleop decode --device "SpaceMouse Compact" --hex 01f4010000000
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

    c = sub.add_parser("decode", help="print the sample each raw SpaceMouse report decodes "
                       "to, one JSON line each (for bug reports)",
                       description="Decodes raw hidraw reports (hex, report id first) of a "
                       "SpaceMouse model in order, printing one JSON line per report: the "
                       "raw counts, the device-frame axes and the sample with the default "
                       "conditioning.")
    c.add_argument("--device", required=True,
                   help="model: a device table key or name, or vendor:product in hex")
    c.add_argument("--hex", nargs="+", required=True, metavar="BYTES",
                   help="reports as hex strings (spaces inside one quoted report allowed)")
    c.add_argument("--table", default="", help="user device table (JSON)")

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


def _decode(args: argparse.Namespace) -> int:
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
