"""Labelled simulation episodes for the classifier: successes and failures of the simulated
operator, recorded with the project's ``record_demonstrations``.

Each episode runs under ``ContinueAfterSuccess``, so a success is followed by
``hold_steps`` more frames of the arm holding the cube up (positives), and is classed by
its rewards (a step whose reward is at least ``success_reward_min`` says success), the
same rule the trainer labels with. Seeds are ``seed, seed + 1, ...``: keep them apart
from training (``record.seed``) and evaluation (``runtime.eval_seed``) seeds.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from silri_jax import envs
from silri_jax.data.demos import Episode
from silri_jax.operators import record_demonstrations
from silri_jax.reward.wrappers import ContinueAfterSuccess
from silri_jax.specs import EnvSpec


def make_pixel_env(task: str = "pick_cube", cameras: Sequence[str] = ("front", "wrist"),
                   image_size: int = 64, sim: Mapping[str, Any] | None = None) -> Any:
    return envs.make(task, {"cameras": tuple(cameras), "image_size": int(image_size),
                            **dict(sim or {})})


def record_labelled(env: Any, *, successes: int, failures: int, profile: str = "novice",
                    seed: int = 0, hold_steps: int = 10, success_reward_min: float = 1.0,
                    max_attempts: int | None = None,
                    progress: Callable[[int, int, int], None] | None = None
                    ) -> tuple[EnvSpec, list[Episode], list[Episode]]:
    """Records until ``successes`` successful and ``failures`` failed episodes exist (extra
    ones of a full kind are dropped); raises when ``max_attempts`` (default 4 x the total)
    run out first, naming how many of each it got."""
    if successes < 0 or failures < 0 or successes + failures == 0:
        raise ValueError(f"successes and failures must be >= 0 and not both 0, got "
                         f"{successes}, {failures}")
    wrapped = ContinueAfterSuccess(env, hold_steps)
    spec = envs.env_spec(wrapped)
    ok: list[Episode] = []
    bad: list[Episode] = []
    attempts = max_attempts or 4 * (successes + failures)
    for i in range(attempts):
        if len(ok) >= successes and len(bad) >= failures:
            break
        (ep,) = record_demonstrations(wrapped, n=1, profile=profile, seed=seed + i,
                                      only_successful=False)
        won = bool(np.any(ep.rewards >= success_reward_min))
        if won and len(ok) < successes:
            ok.append(ep)
        elif not won and len(bad) < failures:
            bad.append(ep)
        if progress is not None:
            progress(i + 1, len(ok), len(bad))
    if len(ok) < successes or len(bad) < failures:
        raise RuntimeError(f"after {attempts} attempts with profile {profile!r}: "
                           f"{len(ok)}/{successes} successes, {len(bad)}/{failures} failures")
    return spec, ok, bad


def save_sets(out: str | pathlib.Path, spec: EnvSpec, success: Sequence[Episode],
              failures: Sequence[Episode], fmt: str = "npz") -> tuple[str, str]:
    """Writes ``<out>/success.npz`` and ``<out>/failures.npz`` (``fmt="lerobot"``: two
    LeRobotDataset v3 folders); returns both paths."""
    from silri_jax.datasets import save_episodes

    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    suffix = ".npz" if fmt == "npz" else ""
    paths = []
    for name, eps in (("success", success), ("failures", failures)):
        p = out / f"{name}{suffix}"
        save_episodes(p, spec, list(eps), task="pick up the cube")
        paths.append(str(p))
    return paths[0], paths[1]
