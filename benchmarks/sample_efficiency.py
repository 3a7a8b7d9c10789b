"""Sample-efficiency benchmark: success and intervention rate against environment steps.

One run (``--task --algo --operator --seed --env_steps``) trains with the synchronous loop
of ``silri_jax.sync_train`` (a fixed number of learner updates per env step, so the curve
does not depend on how fast the machine is), evaluates the deterministic policy without
interventions every ``--eval_every`` steps, writes one JSON result into ``--results_dir``
and prints one JSON line. ``--report`` aggregates every result in the folder into a JSON
summary per algorithm and a PNG plot.

    python benchmarks/sample_efficiency.py --task pick_cube --algo silri --operator unskilled \
        --seed 0 --env_steps 12000 --eval_every 1000
    python benchmarks/sample_efficiency.py --report --results_dir results/sample_efficiency

The evaluation and intervention curves are the ``eval_history`` and
``intervention_history`` that ``train`` returns (the same figures it logs to TensorBoard),
so the training loop needs no benchmark-specific hook. The evaluation at env step 0 (after
pre-training, only for agents that pre-train) is kept in the curve but not used for the
steps-to-90% figures: those measure online sample efficiency, and an agent without
pre-training has no step 0.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import pathlib
import platform
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import ml_collections

REPO = pathlib.Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from silri_jax import sync_train  # noqa: E402
from silri_jax.training import build  # noqa: E402

RESULT_KIND = "sample_efficiency_run"
SUMMARY_KIND = "sample_efficiency_summary"
RESULT_FORMAT_VERSION = 1
DEFAULT_RESULTS_DIR = "results/sample_efficiency"


# ---------------------------------------------------------------------------- one run
def build_config(task: str, algo: str, operator: str, seed: int, env_steps: int,
                 eval_every: int, eval_episodes: int, obs_mode: str = "state",
                 overrides: Mapping[str, Any] | None = None) -> ml_collections.ConfigDict:
    """The synchronous loop's config (``configs/sync_train.py``) with this run's settings.

    The final evaluation uses ``eval_episodes`` too, so every point of the curve has the
    same resolution. ``overrides`` (field -> value) are applied last; unknown fields are
    refused so a typo cannot silently run the default."""
    if env_steps <= 0:
        raise ValueError(f"--env_steps must be positive, got {env_steps}")
    if eval_every <= 0 or eval_every > env_steps:
        raise ValueError(f"--eval_every must be in 1..env_steps ({env_steps}), got {eval_every}")
    c = sync_train.default_config()
    c.task.name, c.agent.algo, c.task.obs_mode = task, algo, obs_mode
    c.task.operator_profile, c.seed = operator, int(seed)
    c.runtime.env_steps = int(env_steps)
    c.demos.profile = "expert"  # the studies' demonstrations (docs/sample_efficiency.md)
    c.runtime.eval_every_steps = int(eval_every)
    c.runtime.eval_episodes_during = int(eval_episodes)
    c.runtime.eval_episodes = int(eval_episodes)
    c.runtime.log_every_steps = min(int(c.runtime.log_every_steps), int(eval_every))
    for key, value in (overrides or {}).items():
        set_field(c, key, value)
    return c


# The flat field names of the synchronous loop's former config, which the documented
# commands' --set flags use, and where each lives in the one schema now.
LEGACY_FIELDS = {
    "task": "task.name", "obs_mode": "task.obs_mode", "image_size": "task.image_size",
    "sim": "task.sim", "algo": "agent.algo", "hidden_dims": "agent.hidden_dims",
    "batch_size": "agent.batch_size", "utd": "agent.utd",
    "pretrain_steps": "agent.pretrain_steps", "agent_overrides": "agent.overrides",
    "operator_profile": "task.operator_profile", "demo_profile": "demos.profile",
    "intervention": "task.intervention", "num_demos": "demos.num",
    "env_steps": "runtime.env_steps", "updates_per_env_step": "runtime.updates_per_env_step",
    "start_training_after": "runtime.start_training_after",
    "random_steps": "runtime.random_steps", "replay_capacity": "runtime.replay_capacity",
    "eval_every": "runtime.eval_every_steps", "eval_episodes": "runtime.eval_episodes_during",
    "final_eval_episodes": "runtime.eval_episodes", "log_every": "runtime.log_every_steps",
}


def set_field(config: ml_collections.ConfigDict, key: str, value: Any) -> None:
    """``--set key=value``: a dotted path of the schema (``agent.pretrain_steps``) or a
    ``LEGACY_FIELDS`` name; a dict merges into a section. Unknown fields are refused."""
    path = LEGACY_FIELDS.get(key, key)
    *parents, leaf = path.split(".")
    node = config
    for p in parents:
        if p not in node:
            raise ValueError(f"unknown config field {key!r} in --set")
        node = node[p]
    if leaf not in node:
        raise ValueError(f"unknown config field {key!r} in --set")
    if isinstance(value, dict) and isinstance(node[leaf], ml_collections.ConfigDict):
        node[leaf].update(value)
    else:
        node[leaf] = tuple(value) if isinstance(value, list) else value


def machine_info() -> dict[str, Any]:
    """What a reader needs to judge the wall time (the curve itself is machine-free)."""
    import jax

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            names = [ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    info: dict[str, Any] = {
        "hostname": platform.node(), "cpu": cpu, "cpu_count": os.cpu_count(),
        "python": platform.python_version(), "jax": jax.__version__,
        "jax_backend": jax.default_backend(),
    }
    if hasattr(os, "getloadavg"):
        info["loadavg"] = list(os.getloadavg())
    return info


def run_name(config: ml_collections.ConfigDict) -> str:
    t = config.task
    return (f"{t.name}_{t.obs_mode}_{config.agent.algo}_{t.operator_profile}"
            f"_s{config.seed}_n{config.runtime.env_steps}")


def _flat(d: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in d.items():
        if isinstance(v, Mapping) and v:
            out.update(_flat(v, f"{prefix}{k}."))
        else:
            out[f"{prefix}{k}"] = v
    return out


def config_differences(a: Mapping[str, Any], b: Mapping[str, Any],
                       ignore: Sequence[str] = ("seed", "runtime.run_dir")) -> list[str]:
    """Fields (dotted paths of the recorded configs) where two runs' configs differ."""
    fa, fb = _flat(a), _flat(b)
    keys = (set(fa) | set(fb)) - set(ignore)
    return sorted(k for k in keys if fa.get(k) != fb.get(k))


def _recorded_config(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """The config as a result file records it (no run_dir: a temporary folder)."""
    recorded = json.loads(config.to_json())
    recorded["runtime"]["run_dir"] = ""
    return recorded


def run_one(config: ml_collections.ConfigDict, results_dir: str | os.PathLike[str],
            quiet: bool = True) -> dict[str, Any]:
    """Trains once, writes ``<results_dir>/<run_name>.json`` atomically, returns the record.

    The file name holds the task, algorithm, operator, seed and budget, not the ``--set``
    overrides: a result already there from a run with another config is refused (before
    training, naming the fields), never silently replaced."""
    results_dir = pathlib.Path(results_dir)
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{run_name(config)}.json"
    if path.exists():
        try:
            previous = json.loads(path.read_text()).get("config", {})
        except (OSError, json.JSONDecodeError, AttributeError):
            previous = {}
        diff = config_differences(previous, _recorded_config(config))
        if diff:
            raise ValueError(
                f"{path} holds a run with a different config (fields {diff}); keep each "
                "variant in its own --results_dir, or move the old result away")
    machine = machine_info()
    with tempfile.TemporaryDirectory(prefix="sample_eff_run_") as run_dir:
        config = ml_collections.ConfigDict(config.to_dict())
        config.runtime.run_dir = run_dir
        t0 = time.time()
        results = sync_train.train(config, quiet=quiet)
        wall_s = time.time() - t0
    config.runtime.run_dir = ""
    if hasattr(os, "getloadavg"):
        machine["loadavg_end"] = list(os.getloadavg())
    record = {
        "kind": RESULT_KIND, "format_version": RESULT_FORMAT_VERSION,
        "task": config.task.name, "obs_mode": config.task.obs_mode,
        "algo": config.agent.algo, "operator": config.task.operator_profile,
        "seed": int(config.seed), "env_steps": int(config.runtime.env_steps),
        "eval_every": int(config.runtime.eval_every_steps),
        "eval_episodes": int(config.runtime.eval_episodes_during),
        "eval_curve": results["eval_history"],
        "intervention_curve": results["intervention_history"],
        "final": {k: v for k, v in results.items()
                  if k not in ("log_dir", "policy_path", "eval_history", "intervention_history")},
        "wall_s": wall_s, "machine": machine,
        "config": json.loads(config.to_json()),
    }
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)
    record["path"] = str(path)
    return record


def run_line(record: Mapping[str, Any]) -> str:
    """The one JSON line a run prints."""
    curve = [e for e in record["eval_curve"] if e["env_step"] > 0]
    return json.dumps({
        "event": "sample_efficiency_run", "task": record["task"], "algo": record["algo"],
        "operator": record["operator"], "seed": record["seed"],
        "env_steps": record["env_steps"],
        "final_success": record["final"]["success_rate"],
        "first_reach_90": first_reach(curve, 0.9), "hold_90": hold_from(curve, 0.9),
        "intervention_rate": record["final"]["intervention_rate"],
        "wall_s": round(record["wall_s"], 1), "path": record.get("path"),
    })


# ---------------------------------------------------------------------------- curve metrics
def first_reach(curve: Sequence[Mapping[str, float]], threshold: float) -> int | None:
    """Env step of the first evaluation at or above ``threshold``; None if none is."""
    for e in sorted(curve, key=lambda e: e["env_step"]):
        if e["success_rate"] >= threshold - 1e-9:
            return int(e["env_step"])
    return None


def hold_from(curve: Sequence[Mapping[str, float]], threshold: float) -> int | None:
    """Env step from which every later evaluation, the last included, stays at or above
    ``threshold`` (reached and never below after); None if the last one is below."""
    held: int | None = None
    for e in sorted(curve, key=lambda e: e["env_step"]):
        if e["success_rate"] >= threshold - 1e-9:
            held = int(e["env_step"]) if held is None else held
        else:
            held = None
    return held


def _mean(values: Iterable[float | None]) -> float | None:
    vals = list(values)
    if not vals or any(v is None for v in vals):
        return None
    return float(sum(vals) / len(vals))  # type: ignore[arg-type]


def mean_curve(curves: Sequence[Sequence[Mapping[str, float]]], key: str) -> list[dict]:
    """Mean of ``key`` over the runs at the env steps every run has."""
    if not curves:
        return []
    steps = set.intersection(*[{int(e["env_step"]) for e in c} for c in curves])
    out = []
    for s in sorted(steps):
        vals = [next(e[key] for e in c if int(e["env_step"]) == s) for c in curves]
        out.append({"env_step": s, key: float(sum(vals) / len(vals))})
    return out


def _steps_stats(per_seed: Sequence[int | None], budget: int) -> dict[str, Any]:
    reached = [v for v in per_seed if v is not None]
    return {
        "per_seed": list(per_seed),
        "mean": _mean(per_seed),  # None unless every seed got there
        "seeds_reached": len(reached),
        # a lower bound when some seed never got there: those count as the whole budget
        "mean_censored_at_budget": float(sum(v if v is not None else budget
                                             for v in per_seed) / len(per_seed)),
    }


def summarize(records: Sequence[Mapping[str, Any]], threshold: float = 0.9) -> dict[str, Any]:
    """Per (task, obs, operator, budget) group and algorithm: steps to first reach and to hold
    ``threshold``, final success, mean curves; plus the headline comparison where the group
    has silri, sac and hgdagger."""
    groups: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for r in records:
        g = f"{r['task']}/{r['obs_mode']}/{r['operator']}/{r['env_steps']}"
        same = groups.setdefault(g, {}).setdefault(r["algo"], [])
        if same:
            diff = config_differences(same[0].get("config", {}), r.get("config", {}))
            if diff:
                raise ValueError(
                    f"{g}: {r['algo']} runs with different configs in one folder (seeds "
                    f"{same[0]['seed']} and {r['seed']} differ in {diff}); averaging them "
                    "would mix two experiments: report each variant's folder on its own")
        same.append(r)
    out: dict[str, Any] = {"kind": SUMMARY_KIND, "threshold": threshold, "groups": {}}
    for g, by_algo in sorted(groups.items()):
        task, obs, operator, budget = g.split("/")
        algos: dict[str, Any] = {}
        for algo, runs in sorted(by_algo.items()):
            runs = sorted(runs, key=lambda r: r["seed"])
            curves = [[e for e in r["eval_curve"] if e["env_step"] > 0] for r in runs]
            finals = [float(r["final"]["success_rate"]) for r in runs]
            succ = mean_curve(curves, "success_rate")
            algos[algo] = {
                "seeds": [r["seed"] for r in runs],
                "first_reach": _steps_stats([first_reach(c, threshold) for c in curves],
                                            int(budget)),
                "hold": _steps_stats([hold_from(c, threshold) for c in curves], int(budget)),
                "mean_curve_first_reach": first_reach(succ, threshold),
                "mean_curve_hold": hold_from(succ, threshold),
                "final_success": {"per_seed": finals, "mean": _mean(finals)},
                "pretrain_success": _mean([next((e["success_rate"] for e in r["eval_curve"]
                                                 if e["env_step"] == 0), None) for r in runs]),
                "intervention_rate": {
                    "per_seed": [float(r["final"]["intervention_rate"]) for r in runs],
                    "mean": _mean(float(r["final"]["intervention_rate"]) for r in runs)},
                "success_curve": succ,
                "episode_length_curve": mean_curve(curves, "mean_episode_length"),
                "intervention_curve": mean_curve([r["intervention_curve"] for r in runs],
                                                 "intervention_rate"),
                "wall_s": {"per_seed": [round(float(r["wall_s"]), 1) for r in runs]},
            }
        out["groups"][g] = {"task": task, "obs_mode": obs, "operator": operator,
                            "env_steps": int(budget), "algos": algos,
                            "headline": headline(algos)}
    return out


def headline(algos: Mapping[str, Any]) -> dict[str, Any] | None:
    """The paper's claim, checked on the seed means: SiLRI reaches 90% in at most half of
    SAC's env steps and ends at >= 95%; HG-DAgger ends below SiLRI."""
    if not {"silri", "sac", "hgdagger"} <= set(algos):
        return None
    s, q, h = algos["silri"], algos["sac"], algos["hgdagger"]
    s_steps, q_steps = s["first_reach"]["mean"], q["first_reach"]["mean"]
    if s_steps is None:
        half = False
    elif q_steps is None:  # SAC never got there within the budget: a bound, not a ratio
        half = s_steps <= 0.5 * q["first_reach"]["mean_censored_at_budget"]
    else:
        half = s_steps <= 0.5 * q_steps
    ratio = (s_steps / q_steps) if (s_steps is not None and q_steps) else None
    return {
        "silri_steps_over_sac_steps": ratio,
        "silri_at_most_half_of_sac": bool(half),
        "silri_final_at_least_0_95": bool((s["final_success"]["mean"] or 0.0) >= 0.95),
        "hgdagger_final_below_silri": bool(h["final_success"]["mean"]
                                           < s["final_success"]["mean"]),
    }


def load_records(results_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """Every run result in the folder (other JSON files, e.g. a summary, are skipped)."""
    records = []
    for path in sorted(pathlib.Path(results_dir).glob("*.json")):
        data = json.loads(path.read_text())
        if isinstance(data, dict) and data.get("kind") == RESULT_KIND:
            records.append(data)
    return records


# ---------------------------------------------------------------------------- plot
def plot(summary: Mapping[str, Any], records: Sequence[Mapping[str, Any]],
         path: str | os.PathLike[str]) -> list[str]:
    """One PNG per group (``path``, then ``<stem>_<i>.png``): success rate (seed mean, thin
    lines per seed) and intervention rate against env steps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = []
    colors = {"silri": "tab:blue", "sac": "tab:orange", "hgdagger": "tab:green",
              "bc": "tab:gray"}
    for i, (g, group) in enumerate(summary["groups"].items()):
        fig, (ax_s, ax_i) = plt.subplots(1, 2, figsize=(11, 4))
        for algo, a in group["algos"].items():
            color = colors.get(algo)
            for r in records:
                if (f"{r['task']}/{r['obs_mode']}/{r['operator']}/{r['env_steps']}" == g
                        and r["algo"] == algo):
                    c = sorted(r["eval_curve"], key=lambda e: e["env_step"])
                    ax_s.plot([e["env_step"] for e in c], [e["success_rate"] for e in c],
                              color=color, alpha=0.25, lw=0.8)
            sc = a["success_curve"]
            ax_s.plot([e["env_step"] for e in sc], [e["success_rate"] for e in sc],
                      color=color, lw=2, marker="o", ms=3,
                      label=f"{algo} (n={len(a['seeds'])})")
            ic = a["intervention_curve"]
            ax_i.plot([e["env_step"] for e in ic], [e["intervention_rate"] for e in ic],
                      color=color, lw=1.5, label=algo)
        ax_s.axhline(summary["threshold"], color="k", ls="--", lw=0.8)
        ax_s.set(xlabel="env steps", ylabel="eval success rate (no interventions)",
                 ylim=(-0.03, 1.03),
                 title=f"{group['task']} ({group['obs_mode']}), {group['operator']} operator")
        ax_i.set(xlabel="env steps", ylabel="intervention rate (per log window)",
                 ylim=(-0.03, 1.03), title="operator takeover share of online steps")
        ax_s.legend(loc="lower right")
        ax_i.legend(loc="upper right")
        fig.tight_layout()
        out = path if i == 0 else path.with_name(f"{path.stem}_{i}{path.suffix}")
        fig.savefig(out, dpi=110)
        plt.close(fig)
        written.append(str(out))
    return written


# ---------------------------------------------------------------------------- command line
def _parse_set(items: Sequence[str]) -> dict[str, Any]:
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects field=value, got {item!r}")
        key, raw = item.split("=", 1)
        try:
            out[key] = ast.literal_eval(raw)
        except (ValueError, SyntaxError):
            out[key] = raw
    return out


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--report", action="store_true", help="aggregate --results_dir and exit")
    p.add_argument("--task", default="pick_cube")
    p.add_argument("--algo", default="silri")
    p.add_argument("--operator", default="unskilled")
    p.add_argument("--obs", default="state", choices=build.OBS_MODES)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--env_steps", type=int, default=12000)
    p.add_argument("--eval_every", type=int, default=1000)
    p.add_argument("--eval_episodes", type=int, default=10)
    p.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE",
                   help="override a config field (dotted, e.g. agent.pretrain_steps, or a "
                   "name of LEGACY_FIELDS; repeatable)")
    p.add_argument("--results_dir", default=DEFAULT_RESULTS_DIR)
    p.add_argument("--threshold", type=float, default=0.9)
    p.add_argument("--summary_out", default=None, help="default <results_dir>/summary.json")
    p.add_argument("--plot_out", default=None,
                   help="default <results_dir>/sample_efficiency.png")
    p.add_argument("--verbose", action="store_true", help="show the training status line")
    return p.parse_args(argv)


def report(results_dir: str, threshold: float, summary_out: str | None,
           plot_out: str | None) -> dict[str, Any]:
    records = load_records(results_dir)
    if not records:
        raise FileNotFoundError(f"no {RESULT_KIND} results in {results_dir}")
    summary = summarize(records, threshold)
    summary["plots"] = plot(summary, records,
                            plot_out or os.path.join(results_dir, "sample_efficiency.png"))
    out = pathlib.Path(summary_out or os.path.join(results_dir, "summary.json"))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    summary["path"] = str(out)
    return summary


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.report:
        summary = report(args.results_dir, args.threshold, args.summary_out, args.plot_out)
        brief = {g: {a: {"first_reach_90_mean": v["first_reach"]["mean"],
                         "hold_90_mean": v["hold"]["mean"],
                         "final_success_mean": v["final_success"]["mean"]}
                     for a, v in grp["algos"].items()}
                 for g, grp in summary["groups"].items()}
        print(json.dumps({"event": "sample_efficiency_report", "summary": summary["path"],
                          "plots": summary["plots"], "groups": brief}), flush=True)
        return 0
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)
    config = build_config(args.task, args.algo, args.operator, args.seed, args.env_steps,
                          args.eval_every, args.eval_episodes, args.obs, _parse_set(args.set))
    record = run_one(config, args.results_dir, quiet=not args.verbose)
    print(run_line(record), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

