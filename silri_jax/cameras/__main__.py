"""``python -m silri_jax.cameras``: find cameras and choose their crops, headless.

    python -m silri_jax.cameras list
    python -m silri_jax.cameras crop --camera front=opencv:/dev/video0 --out crops/
    python -m silri_jax.cameras crop --config my_robot.py --camera front --camera wrist \\
        --crop front=0,80,480,480 --out crops/

``crop`` grabs one frame per camera and writes ``<name>_full.png`` (the whole frame with
the crop drawn on it) and ``<name>_crop.png`` (what the policy will see: the crop resized
to the camera's size), then prints each crop as a config line to paste. Without
``--crop`` and without a crop in the config it proposes the largest centred square.

A usage or camera error is one line ``silri_jax.cameras: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import ml_collections
import numpy as np

from silri_jax.cameras.base import CameraError

PROG = "silri_jax.cameras"
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
                description="Cameras: list the ones connected (list), grab a frame from "
                            "each and choose its crop (crop). Described in docs/cameras.md.")
    sub = p.add_subparsers(dest="command", metavar="{list,crop}", parser_class=_Parser)
    ls = sub.add_parser("list", help="list V4L2 devices and RealSense serials",
                        description="Lists V4L2 nodes (from sysfs, with whether each is a "
                        "picture stream and whether you may open it) and RealSense cameras "
                        "(when pyrealsense2 is installed).")
    ls.add_argument("--sysfs", default="/sys", help="sysfs root to search (for testing)")
    ls.add_argument("--dev", default="/dev", help="device file root (for testing)")

    c = sub.add_parser("crop", help="grab a frame per camera, draw the crop, print it as "
                       "a config line",
                       description="Grabs one frame from each camera and writes "
                       "<name>_full.png (crop drawn) and <name>_crop.png (what the policy "
                       "sees) into --out, then prints --config.cameras.<name>.crop=... lines.")
    c.add_argument("--camera", action="append", required=True, metavar="SPEC",
                   help="NAME (a camera of --config's cameras section) or "
                        "NAME=BACKEND[:DEVICE], e.g. front=opencv:/dev/video0, "
                        "wrist=realsense:123456789, test=fake (repeatable)")
    c.add_argument("--out", required=True, help="folder for the PNG files (created)")
    c.add_argument("--config", default="",
                   help="config file[:variant] with a cameras section (config.cameras.<name>)")
    c.add_argument("--crop", action="append", default=[], metavar="NAME=T,L,H,W",
                   help="crop to show for a camera: top,left,height,width (repeatable)")
    c.add_argument("--set", action="append", default=[], metavar="NAME.FIELD=VALUE",
                   help="override a camera config field, e.g. --set front.width=1280 "
                        "(repeatable)")
    return p


# ----------------------------------------------------------------------------- list
def _list(args: argparse.Namespace) -> int:
    from silri_jax.cameras import discovery

    nodes = discovery.v4l2_nodes(args.sysfs, args.dev)
    sys.stdout.write(discovery.report(nodes, discovery.realsense_devices(), args.sysfs))
    return 0


# ----------------------------------------------------------------------------- crop
def _section(args: argparse.Namespace) -> dict[str, ml_collections.ConfigDict]:
    """The cameras named by --camera, from --config or from NAME=BACKEND[:DEVICE]."""
    from silri_jax.cameras.config import BACKENDS, camera_config
    from silri_jax.cameras.pipeline import parse_crop

    loaded: Any = None
    if args.config:
        from silri_jax.cli import load_config

        config = load_config(args.config)
        loaded = config.cameras if "cameras" in config else config
    out: dict[str, ml_collections.ConfigDict] = {}
    for spec in args.camera:
        name, eq, rest = spec.partition("=")
        name = name.strip()
        if not name:
            fail(f"--camera {spec!r}: needs a name, e.g. front=opencv:/dev/video0")
        if eq:
            backend, _, device = rest.partition(":")
            if backend not in BACKENDS:
                fail(f"--camera {spec!r}: unknown backend {backend!r}; one of "
                     f"{', '.join(BACKENDS)}")
            cfg = camera_config(backend=backend)
            if device:
                cfg.device = device
            elif backend in ("realsense", "fake"):
                cfg.device = ""
        elif loaded is not None and name in loaded:
            cfg = ml_collections.ConfigDict(loaded[name].to_dict())
        else:
            where = f"in {args.config}'s cameras section" if args.config else "(no --config)"
            fail(f"--camera {spec!r}: no camera {name!r} {where}; give NAME=BACKEND[:DEVICE]")
        out[name] = cfg
    for item in args.set:
        _apply_set(out, item)
    for item in args.crop:
        name, eq, value = item.partition("=")
        if not eq or name not in out:
            fail(f"--crop {item!r}: needs NAME=T,L,H,W for a camera given with --camera "
                 f"({', '.join(out)})")
        try:
            out[name].crop = parse_crop(value, name) or ()
        except ValueError as e:
            fail(f"--crop {item!r}: {e}")
    return out


def _apply_set(section: dict[str, ml_collections.ConfigDict], item: str) -> None:
    from silri_jax.cameras.pipeline import parse_crop

    path, eq, value = item.partition("=")
    name, _, field = path.partition(".")
    if not eq or not field:
        fail(f"--set {item!r}: needs NAME.FIELD=VALUE")
    if name not in section:
        fail(f"--set {item!r}: no camera {name!r} (cameras: {', '.join(section)})")
    cfg = section[name]
    if field not in cfg:
        fail(f"--set {item!r}: no camera field {field!r} (fields: {', '.join(sorted(cfg))})")
    old = cfg[field]
    try:
        if isinstance(old, str):
            new: Any = value
        elif isinstance(old, bool):
            new = {"true": True, "false": False}[value.strip().lower()]
        elif isinstance(old, tuple):
            new = parse_crop(value, name) or () if field == "crop" else tuple(
                json.loads(f"[{value}]"))
        else:
            new = type(old)(json.loads(value))
    except (ValueError, TypeError, KeyError):
        fail(f"--set {item!r}: {value!r} is not a {type(old).__name__}")
    with cfg.unlocked():
        cfg[field] = new


def centre_square(height: int, width: int) -> tuple[int, int, int, int]:
    """The largest centred square crop of a ``height x width`` frame."""
    side = min(height, width)
    return (height - side) // 2, (width - side) // 2, side, side


def draw_rectangle(image: np.ndarray, crop: Sequence[int], colour: Sequence[int] = (255, 0, 0),
                   thickness: int = 2) -> np.ndarray:
    """A copy of ``image`` with the crop's outline drawn (inside the crop's edge)."""
    out = image.copy()
    top, left, h, w = (int(v) for v in crop)
    t = max(1, min(thickness, h // 2, w // 2))
    c = np.asarray(colour, np.uint8)
    out[top: top + t, left: left + w] = c
    out[top + h - t: top + h, left: left + w] = c
    out[top: top + h, left: left + t] = c
    out[top: top + h, left + w - t: left + w] = c
    return out


def _crop(args: argparse.Namespace) -> int:
    from silri_jax.cameras.config import make_camera
    from silri_jax.cameras.pipeline import check_crop, crop_resize, parse_crop
    from silri_jax.cameras.png import write_png

    section = _section(args)
    out_dir = pathlib.Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, cfg in section.items():
        crop = parse_crop(cfg.crop, name)
        with make_camera(name, cfg) as cam:
            frame = cam.latest()
            assert frame is not None  # start() waits for the first frame
            describe = cam.describe()
        h, w = frame.image.shape[:2]
        if crop is None:
            crop = centre_square(h, w)
        check_crop(name, crop, h, w)
        full = write_png(out_dir / f"{name}_full.png", draw_rectangle(frame.image, crop))
        small = write_png(out_dir / f"{name}_crop.png",
                          crop_resize(frame.image, crop, int(cfg.size)))
        sys.stdout.write(f"{name}: {w}x{h} frame from {describe}; wrote {full} and {small} "
                         f"({cfg.size}x{cfg.size})\n")
        lines.append(f"--config.cameras.{name}.crop={','.join(str(v) for v in crop)}")
    sys.stdout.write("\n".join(lines) + "\n")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        return {"list": _list, "crop": _crop}[args.command](args)
    except (CameraError, ValueError, KeyError, OSError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
