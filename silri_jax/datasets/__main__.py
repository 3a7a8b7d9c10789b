"""``python -m silri_jax.datasets``: convert, validate and describe episode datasets.

    python -m silri_jax.datasets convert SRC DST [--task TEXT] [--fps N]
    python -m silri_jax.datasets validate PATH
    python -m silri_jax.datasets info PATH

SRC may be a LeRobot v3 folder, a project demo ``.npz``, a HIL-SERL demo ``.pkl`` or a
learner checkpoint; DST is a folder (LeRobot v3) or a ``.npz`` (project demos). Each
command prints one JSON line (``episodes``, ``frames``, ``cameras``, ``format``, ...); an
error prints one line ``silri_jax.datasets: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

PROG = "silri_jax.datasets"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, like every other failure here."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"python -m {PROG}", description=__doc__.split("\n\n", 1)[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    conv = sub.add_parser("convert", help="convert SRC (any format) to DST (folder or .npz)",
                          description="Reads SRC in any supported format and writes DST: a "
                                      "folder becomes a LeRobot v3 dataset, a .npz project "
                                      "demos.")
    conv.add_argument("src", help="LeRobot v3 folder, demos .npz, HIL-SERL .pkl or checkpoint")
    conv.add_argument("dst", help="new folder (LeRobot v3) or .npz file (project demos)")
    conv.add_argument("--task", help="task text of every episode (LeRobot's 'task')")
    conv.add_argument("--fps", type=_positive_int,
                      help="frames per second (default: the source's, else 10)")
    conv.add_argument("--buffer", choices=("replay_r", "replay_i"), default="replay_r",
                      help="which replay of a checkpoint: every transition (replay_r) or "
                           "demonstrations and interventions (replay_i)")
    conv.add_argument("--vcodec", help="video encoder (default: libsvtav1 when available)")
    conv.add_argument("--crf", type=int, default=30, help="video quality, lower is better")
    val = sub.add_parser("validate", help="check a dataset file by file",
                         description="Checks a LeRobot v3 folder file by file (or loads and "
                                     "checks any other supported source).")
    val.add_argument("path")
    info = sub.add_parser("info", help="summarise a dataset",
                          description="Prints a summary of any supported source.")
    info.add_argument("path")
    return parser


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs one command; returns the summary it prints."""
    args = build_parser().parse_args(argv)
    from silri_jax.datasets.convert import convert, describe, detect_format, load_episodes
    from silri_jax.datasets.lerobot_validate import validate

    if args.command == "convert":
        return convert(args.src, args.dst, task=args.task, fps=args.fps, buffer=args.buffer,
                       vcodec=args.vcodec, crf=args.crf)
    if args.command == "validate":
        if detect_format(args.path) == "lerobot_v3":
            return validate(args.path)
        spec, episodes = load_episodes(args.path)
        for i, ep in enumerate(episodes):
            ep.validate(spec, i)
        return {"episodes": len(episodes), "frames": sum(len(e) + 1 for e in episodes),
                "cameras": list(spec.observation.image_keys),
                "format": detect_format(args.path)}
    return describe(args.path)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        summary = run(argv)
    except (ValueError, OSError, RuntimeError) as e:
        _fail(str(e))
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
