"""``python -m silri_jax.reward``: record labelled episodes, train and inspect classifiers.

    python -m silri_jax.reward record --out data/reward --successes 20 --failures 40
    python -m silri_jax.reward train --success=data/reward/success.npz \\
        --failures=data/reward/failures.npz --out=runs/reward [--set train.steps=500 ...] \\
        [--corrections=runs/train/reward_corrections]
    python -m silri_jax.reward evaluate --model=runs/reward --success=... --failures=...
    python -m silri_jax.reward info runs/reward

``--success`` and ``--failures`` take any dataset ``silri_jax.datasets`` reads (a demo
``.npz``, a LeRobotDataset v3 folder, ...): ``python -m silri_jax.record`` writes the
failures beside the successes as ``<out>_failures``. ``--set SECTION.FIELD=VALUE``
overrides any field of ``silri_jax/reward/config.py`` (``--help-config`` lists them).
Each command prints one JSON line; an error prints one line
``silri_jax.reward: error: ...`` and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import ml_collections

PROG = "silri_jax.reward"


class _Parser(argparse.ArgumentParser):
    """argparse whose errors are one line and exit 2, like every other failure here."""

    def error(self, message: str) -> NoReturn:
        _fail(message)


def _fail(message: str) -> NoReturn:
    print(f"{PROG}: error: {' '.join(str(message).split())}", file=sys.stderr)
    raise SystemExit(2)


def apply_overrides(config: ml_collections.ConfigDict, items: Sequence[str]) -> None:
    """``SECTION.FIELD=VALUE`` items, each value read as the field's current type."""
    for item in items:
        path, sep, text = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected SECTION.FIELD=VALUE")
        *parents, leaf = path.strip().split(".")
        node = config
        for p in parents:
            if p not in node or not isinstance(node[p], ml_collections.ConfigDict):
                raise ValueError(f"--set {item!r}: no config section {p!r}")
            node = node[p]
        if leaf not in node:
            raise ValueError(f"--set {item!r}: no field {leaf!r} in {'.'.join(parents)!r} "
                             f"(fields: {sorted(node.keys())})")
        node[leaf] = _parse_as(node[leaf], text.strip(), item)


def _parse_as(current: Any, text: str, item: str) -> Any:
    try:
        if isinstance(current, bool):
            if text.lower() not in ("true", "false", "1", "0"):
                raise ValueError(text)
            return text.lower() in ("true", "1")
        if isinstance(current, int):
            return int(text)
        if isinstance(current, float):
            return float(text)
        if isinstance(current, tuple):
            return tuple(int(x) for x in text.strip("()").split(",") if x.strip())
    except ValueError:
        raise ValueError(f"--set {item!r}: {text!r} is not a {type(current).__name__}"
                         ) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog=f"python -m {PROG}", description=__doc__.split("\n\n", 1)[1],
                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    tr = sub.add_parser("train", help="train a classifier on success and failure datasets",
                        description="Labels, splits by episode, trains with early stopping, "
                                    "calibrates and thresholds; writes classifier.npz, "
                                    "pr_curve.png and report.json into --out.")
    tr.add_argument("--success", help="dataset of successful episodes (required)")
    tr.add_argument("--failures", help="dataset of failed episodes (required)")
    tr.add_argument("--out", help="model directory, created (required)")
    tr.add_argument("--corrections", default="",
                    help="folder of corrections found online (<run_dir>/reward_corrections:"
                         " vetoes and reported misses); their labelled frames join training,"
                         " never the held-out set")
    tr.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="override a field of silri_jax/reward/config.py (repeatable)")
    tr.add_argument("--help-config", action="store_true",
                    help="print every config field with its default and exit")
    tr.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    rec = sub.add_parser("record", help="record labelled episodes with the simulated operator",
                         description="Runs the simulated operator on a pixel task until "
                                     "enough successful and failed episodes exist; writes "
                                     "<out>/success and <out>/failures.")
    rec.add_argument("--out", required=True, help="folder for the two datasets")
    rec.add_argument("--task", default="pick_cube")
    rec.add_argument("--successes", type=int, default=20)
    rec.add_argument("--failures", type=int, default=40)
    rec.add_argument("--profile", default="novice", help="operator skill profile")
    rec.add_argument("--cameras", default="front,wrist")
    rec.add_argument("--image_size", type=int, default=64)
    rec.add_argument("--hold_steps", type=int, default=10,
                     help="steps recorded after the first success (positive frames)")
    rec.add_argument("--seed", type=int, default=4_000_000,
                     help="seed of the first episode (apart from training/eval seeds)")
    rec.add_argument("--format", choices=("npz", "lerobot"), default="npz")
    ev = sub.add_parser("evaluate", help="score a classifier on episodes it never saw",
                        description="Frame-level rates at the model's threshold and the "
                                    "episode-level rule (consecutive frames, warm-up) on "
                                    "held-out datasets, labelled as in training.")
    ev.add_argument("--model", required=True, help="model directory or classifier .npz")
    ev.add_argument("--success", required=True, help="dataset of successful episodes")
    ev.add_argument("--failures", required=True, help="dataset of failed episodes")
    ev.add_argument("--set", action="append", default=[], metavar="SECTION.FIELD=VALUE",
                    help="override a labelling (data.*) or loop (loop.warmup_steps) field")
    info = sub.add_parser("info", help="check a classifier file and print its header")
    info.add_argument("path", help="model directory or classifier .npz")
    return parser


def _config_help() -> str:
    from silri_jax.cli import field_docs
    from silri_jax.reward import config as cfg_module
    from silri_jax.reward.config import reward_config

    docs = field_docs(cfg_module.__file__)
    lines = []
    for section, node in reward_config().items():
        for field, value in node.items():
            doc = docs.get((f"_{section}", field), "")
            lines.append(f"  --set {section}.{field}={value!r}\n      {doc}")
    return "\n".join(lines) + "\n"


def run(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Runs one command; returns the summary it prints."""
    args = build_parser().parse_args(argv)
    if args.command == "train":
        if args.help_config:
            sys.stdout.write(_config_help())
            raise SystemExit(0)
        missing = [f"--{n}" for n in ("success", "failures", "out") if not getattr(args, n)]
        if missing:
            _fail(f"train: the following arguments are required: {', '.join(missing)}")
        from silri_jax.reward.config import reward_config
        from silri_jax.reward.train import load_sets, train_classifier

        config = reward_config()
        apply_overrides(config, args.set)
        spec, success, failures = load_sets(args.success, args.failures)

        def log(msg: str) -> None:
            if not args.quiet:
                print(f"{PROG}: {msg}", file=sys.stderr, flush=True)

        corrections = []
        if args.corrections:
            from silri_jax.reward.corrections import load_corrections

            corrections = load_corrections(args.corrections)
        out = train_classifier(spec, success, failures, config, args.out, log=log,
                               corrections=corrections)
        m = out.report["metrics"]
        return {"event": "reward_train", "model": out.report["model"],
                "pr_curve": out.report["pr_curve"], "threshold": out.report["threshold"],
                "temperature": out.report["temperature"],
                "heldout_frames": m["heldout_frames"], "heldout_episodes":
                m["heldout_episodes"], "best_step": m["best_step"],
                "steps_run": m["steps_run"], "wall_s": out.report["wall_s"]}
    if args.command == "record":
        from silri_jax.reward.record import make_pixel_env, record_labelled, save_sets

        cams = tuple(c.strip() for c in args.cameras.split(",") if c.strip())
        env = make_pixel_env(args.task, cams, args.image_size)
        try:
            spec, ok, bad = record_labelled(env, successes=args.successes,
                                            failures=args.failures, profile=args.profile,
                                            seed=args.seed, hold_steps=args.hold_steps)
        finally:
            env.close()
        s, f = save_sets(args.out, spec, ok, bad, args.format)
        return {"event": "reward_record", "success": s, "failures": f,
                "successes": len(ok), "failed": len(bad),
                "frames": sum(len(e) + 1 for e in ok + bad)}
    from silri_jax.reward.model_file import load_classifier

    if args.command == "evaluate":
        from silri_jax.reward.config import reward_config
        from silri_jax.reward.train import evaluate_classifier, load_sets

        config = reward_config()
        apply_overrides(config, args.set)
        spec, success, failures = load_sets(args.success, args.failures)
        clf = load_classifier(args.model, spec)
        return {"event": "reward_evaluate", "model": args.model,
                **evaluate_classifier(clf, success, failures, config)}
    clf = load_classifier(args.path)
    head = dict(clf.header)
    head.pop("metrics", None)
    return {"event": "reward_info", "ok": True, **head}


def main(argv: Sequence[str] | None = None) -> int:
    try:
        summary = run(argv)
    except (ValueError, OSError, RuntimeError) as e:
        _fail(str(e))
    print(json.dumps(summary, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
