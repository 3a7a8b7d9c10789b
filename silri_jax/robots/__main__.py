"""``python -m silri_jax.robots``: set-up tools for a real arm's work cell, headless.

    python -m silri_jax.robots infer-limits --demos=demos.npz --cell=pick_cube
    python -m silri_jax.robots record-pose --robot=franka_fr3 --write=configs/tasks/my_cell.py
    python -m silri_jax.robots crop --cell=pick_cube --robot=sim_franka --out_dir=crops
    python -m silri_jax.robots crop --cell=my_cell --camera=wrist --set=0,80,480,480
    python -m silri_jax.robots rt-check --robot=franka_fr3 --seconds=5

``infer-limits`` prints the workspace box, orientation cone (and joint ranges) of recorded
demonstrations as task-file lines; ``record-pose`` prints (``--write``: rewrites in place)
the arm's current pose as the reset pose; ``crop`` writes each camera's frame with its
crop drawn and the cropped picture as PNG files (``--set``: writes the crop into the task
file); ``rt-check`` measures whether this machine holds the loop rate and the round trip
to the arm, ending with one JSON line. ``--robot``/``--robot_ip``/``--cell`` are also
accepted as ``--config.robot``/``--config.robot_ip``/``--config.cell``.

A usage or set-up error is one line ``silri_jax.robots: error: ...`` and exit code 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

PROG = "silri_jax.robots"
EXIT_ERROR = 2
DEFAULT_CELL = "pick_cube"


class _Parser(argparse.ArgumentParser):
    """argparse with errors as one line and exit code 2."""

    def error(self, message: str) -> NoReturn:
        fail(message)


def fail(message: str) -> NoReturn:
    sys.stderr.write(f"{PROG}: error: {' '.join(str(message).split())}\n")
    sys.stderr.flush()
    raise SystemExit(EXIT_ERROR)


def _robot_args(p: argparse.ArgumentParser, required: bool, help_: str) -> None:
    p.add_argument("--robot", "--config.robot", dest="robot", required=required,
                   default="", help=help_)
    p.add_argument("--robot_ip", "--config.robot_ip", dest="robot_ip", default="",
                   help="the arm's address, replacing the robot file's")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog=f"python -m {PROG}",
                description="Set-up tools for a work cell: limits from demonstrations "
                            "(infer-limits), the reset pose (record-pose), camera crops "
                            "(crop), real-time check (rt-check). Described in "
                            "docs/robot_tools.md.")
    sub = p.add_subparsers(dest="command",
                           metavar="{infer-limits,record-pose,crop,rt-check}",
                           parser_class=_Parser)

    lim = sub.add_parser("infer-limits", help="workspace box, orientation cone and joint "
                         "ranges of demonstrations, as task-file lines",
                         description="Reads every frame's end-effector pose from "
                         "demonstrations (.npz demos or a LeRobot v3 folder) and prints "
                         "c.workspace_low_m/high_m, c.reset_quat_wxyz and "
                         "c.max_orientation_error_deg lines.")
    lim.add_argument("--demos", required=True, help="a demos .npz or a LeRobot v3 folder")
    lim.add_argument("--cell", "--config.cell", dest="cell", default="",
                     help="task name or path the demos were recorded with: unscales the "
                          "robot env's tcp_pose (needed when the data has no raw pose)")
    lim.add_argument("--margin_m", type=float, default=0.02,
                     help="added to the box on every side, m (default 0.02)")
    lim.add_argument("--margin_deg", type=float, default=5.0,
                     help="added to the cone (and, in radians, to joint ranges), degrees "
                          "(default 5)")
    lim.add_argument("--reference", choices=("mean", "cell"), default="mean",
                     help="the cone's centre: the mean recorded orientation (printed as "
                          "reset_quat_wxyz) or the --cell's reset_quat_wxyz (default mean)")

    rec = sub.add_parser("record-pose", help="the arm's current end-effector pose as the "
                         "reset pose",
                         description="Connects to the arm through the bridge (mujoco: the "
                         "simulated cell at its reset pose), reads its end-effector pose "
                         "and prints c.reset_pos_m and c.reset_quat_wxyz; --write rewrites "
                         "them in a task file in place.")
    _robot_args(rec, True, "robot name (configs/robots/<name>.py) or path")
    rec.add_argument("--cell", "--config.cell", dest="cell", default="",
                     help="task name or path: the rehearsal's scene and reset pose "
                          "(default: the --write file, else pick_cube)")
    rec.add_argument("--write", default="",
                     help="task file whose reset_pos_m and reset_quat_wxyz lines to rewrite")

    crop = sub.add_parser("crop", help="each camera's frame with its crop drawn, as PNGs",
                          description="Grabs one frame per camera of a cell (a rehearsal "
                          "renders them from the simulated scene) and writes "
                          "<name>_full.png (crop drawn) and <name>_crop.png (what the "
                          "policy sees) into --out_dir; --set writes a crop into the task "
                          "file.")
    crop.add_argument("--cell", "--config.cell", dest="cell", required=True,
                      help="task name (configs/tasks/<name>.py) or path")
    _robot_args(crop, False, "robot name or path; a mujoco robot renders the cameras "
                             "from the simulated scene (default: real cameras, or the "
                             "rehearsal when a camera's backend is mujoco)")
    crop.add_argument("--out_dir", default="crops", help="folder for the PNG files "
                      "(created; default crops)")
    crop.add_argument("--camera", action="append", default=[], metavar="NAME",
                      help="a camera of the cell (repeatable; default all)")
    crop.add_argument("--set", dest="set_crop", default="", metavar="T,L,H,W",
                      help="crop top,left,height,width to show and write into the task "
                           "file's entry for the one --camera")

    rt = sub.add_parser("rt-check", help="whether this machine holds the loop rate; the "
                        "network round trip to the arm",
                        description="Runs a real-time bridge on the test backend at the "
                        "robot's rate and reports the period's spread and overruns; for a "
                        "real arm also the TCP connect time to it. Ends with one JSON line.")
    _robot_args(rt, False, "robot name or path: its loop rate and address")
    rt.add_argument("--seconds", type=float, default=5.0, help="how long to run (default 5)")
    rt.add_argument("--rate_hz", type=float, default=0.0,
                    help="loop rate (default: the robot's, else 1000)")
    rt.add_argument("--port", type=int, default=None,
                    help="TCP port to probe (default Franka 443, UR 30004)")
    rt.add_argument("--max_error_frac", type=float, default=0.1,
                    help="largest p99 period error, as a fraction of the period (0.1)")
    rt.add_argument("--strict", action="store_true",
                    help="exit 1 when the rate is not held or the arm is unreachable")
    return p


def _out(lines: Sequence[str]) -> None:
    sys.stdout.write("".join(f"{line}\n" for line in lines))
    sys.stdout.flush()


def _load_robot(args: argparse.Namespace) -> Any:
    from silri_jax.robots.config import load_robot

    return load_robot(args.robot, robot_ip=args.robot_ip) if args.robot else None


def _cell_path(name: str) -> str:
    """The task file a cell name or path stands for."""
    from silri_jax.robots import config

    return str(config._resolve(name, config.CELLS_DIR, "cell"))


# ----------------------------------------------------------------------------- commands
def _infer_limits(args: argparse.Namespace) -> int:
    from silri_jax.robots.config import load_cell
    from silri_jax.robots.tools import demo_poses, limits

    cell = load_cell(args.cell) if args.cell else None
    if args.reference == "cell" and cell is None:
        fail("--reference=cell needs --cell (its reset_quat_wxyz is the cone's centre)")
    poses = demo_poses.find_poses(args.demos, cell, args.cell)
    ref = tuple(cell.reset_quat_wxyz) if args.reference == "cell" else None
    lim = limits.infer(poses, args.margin_m, args.margin_deg, reference=ref)
    _out(limits.config_lines(lim, poses, args.demos, args.margin_m, args.margin_deg,
                             reset_pos=tuple(cell.reset_pos_m) if cell is not None else None,
                             keep_reference=ref is not None))
    return 0


def _record_pose(args: argparse.Namespace) -> int:
    from silri_jax.robots.config import load_cell
    from silri_jax.robots.tools import record_pose

    robot = _load_robot(args)
    cell = load_cell(args.cell or args.write or DEFAULT_CELL)
    pos, quat, what = record_pose.read_pose(robot, cell)
    pos_r, quat_r = record_pose.rounded(pos, quat)
    lines = record_pose.pose_lines(pos_r, quat_r, what)
    if args.write:
        record_pose.write_pose(args.write, pos_r, quat_r)
        lines.append(f"# wrote reset_pos_m and reset_quat_wxyz into {args.write}")
    _out(lines)
    return 0


def _crop(args: argparse.Namespace) -> int:
    from silri_jax.cameras.pipeline import parse_crop
    from silri_jax.robots.config import load_cell
    from silri_jax.robots.tools import crop

    cell = load_cell(args.cell)
    set_crop = None
    if args.set_crop:
        try:
            set_crop = parse_crop(args.set_crop, ",".join(args.camera))
        except ValueError as e:
            fail(f"--set={args.set_crop}: {e}")
    task = _cell_path(args.cell) if set_crop is not None else None
    _out(crop.run(_load_robot(args), cell, args.camera, args.out_dir, set_crop, task))
    return 0


def _rt_check(args: argparse.Namespace) -> int:
    from silri_jax.robots.tools import rt_check

    robot = _load_robot(args)
    rate = args.rate_hz or (rt_check.robot_rate_hz(robot) if robot is not None
                            else rt_check.DEFAULT_RATE_HZ)
    loop = rt_check.measure_loop(rate, args.seconds)
    ok, line = rt_check.verdict(loop, args.max_error_frac)
    net = rt_check.network(robot, args.robot_ip, args.port)
    lines = [line]
    if net is not None:
        lines.append(rt_check.network_line(net))
    reachable = net is None or bool(net["tries"])
    result = {"command": "rt-check", "robot": args.robot or None,
              "backend": str(robot.backend) if robot is not None else None,
              **loop, "holds_rate": ok, "max_error_frac": args.max_error_frac,
              "scheduling": rt_check.scheduling(), "network": net}
    lines.append(json.dumps(result))
    _out(lines)
    return 1 if args.strict and not (ok and reachable) else 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    commands = {"infer-limits": _infer_limits, "record-pose": _record_pose,
                "crop": _crop, "rt-check": _rt_check}
    try:
        return commands[args.command](args)
    except (ValueError, OSError, RuntimeError, KeyError) as e:
        fail(str(e))


if __name__ == "__main__":
    sys.exit(main())
