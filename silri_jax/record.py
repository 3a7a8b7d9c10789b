"""Record demonstrations with any teleop device on any of the project's environments.

    python -m silri_jax.record --config=configs/train.py --config.record.out=demos.npz

The device is ``config.teleop.device`` (a SpaceMouse, a gamepad, a keyboard, a replay
file, or, when empty, the task's simulated operator driving every step); the human's
command reaches the arm through the bridge's mixer exactly as during training, and what is
stored is what the bridge applied. Episodes end when the task reports success, at the step
limit, or on the device's events: ``success`` and ``failure`` end the episode with that
outcome, ``rerecord`` throws the current episode away and starts it again, ``quit`` stops.

Frame labels for a reward classifier are given on the same device while recording
(``label_hold`` held, ``label_success`` / ``label_failure`` "from this press onward",
``label_undo``; ``silri_jax.reward.labelling``): each lands on the frame the step
produced, is stored with the episode (``frame_labels`` / ``label_sources`` in both
formats) and never ends the episode.

``record.out`` ending in ``.npz`` is the project's demo file (load it with
``--config.demos.path``); a directory is a LeRobotDataset v3.0. Every finished episode is
on disk before the next one starts, so an interrupted session (Ctrl-C, a crash, an
unplugged device) loses at most the episode in progress. Failed episodes go to a second
file beside the first when ``record.keep_failures`` is on (negatives for a reward
classifier). Ends with one JSON line: episodes kept, failures, attempts, frames, path.
"""

from __future__ import annotations

import dataclasses
import json
import pathlib
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import ml_collections
import numpy as np

from silri_jax import envs, specs
from silri_jax.data import frame_labels as fl
from silri_jax.data.demos import Episode, load_demos, save_demos
from silri_jax.envs.wrappers import hold_action
from silri_jax.reward.labelling import HOLD_ROLE, FrameLabeller
from silri_jax.specs import EnvSpec
from silri_jax.training import build

_CONFIG: Any = None


@dataclasses.dataclass
class Take:
    """One recorded episode with its outcome and per-step teleop annotations."""

    episode: Episode
    success: bool
    interventions: np.ndarray  # uint8[T]: the human drove the step
    segments: np.ndarray  # int64[T]: takeover id of the step, -1 for none
    ended_by: str  # "env", "success", "failure", "time_limit"
    frame_labels: np.ndarray | None = None  # int8[T + 1]: the person's frame labels
    label_sources: np.ndarray | None = None  # int8[T + 1]: who gave each


class NpzSink:
    """The project's demo file, rewritten atomically after every kept episode (appending
    to a file that already exists, when its spec matches)."""

    def __init__(self, path: pathlib.Path, spec: EnvSpec) -> None:
        self.path, self.spec = path, spec
        self.episodes: list[Episode] = []
        if path.exists():
            old_spec, old = load_demos(path)
            if old_spec != spec:
                raise ValueError(f"{path} holds demonstrations of another env spec "
                                 f"({old_spec}); choose a new record.out")
            self.episodes = old

    def add(self, take: Take) -> None:
        self.episodes.append(take.episode)
        save_demos(self.path, self.spec, self.episodes)

    def close(self) -> None:
        pass


def _sink(path: pathlib.Path, spec: EnvSpec, fps: float, task_text: str) -> Any:
    if path.suffix == ".npz":
        path.parent.mkdir(parents=True, exist_ok=True)
        return NpzSink(path, spec)
    from silri_jax.datasets.sinks import LeRobotSink

    return LeRobotSink(path, spec, fps=fps, task=task_text)


def failures_path(out: pathlib.Path) -> pathlib.Path:
    """Where failed episodes go: ``demos.npz`` -> ``demos_failures.npz``."""
    return out.with_name(out.stem + "_failures" + out.suffix)


def _pump(env: gym.Env) -> Any:
    """The env's ``TeleopPump`` (a ``TeleopIntervention`` at or under ``env``), or None."""
    try:
        return env.get_wrapper_attr("pump")
    except AttributeError:
        return getattr(env, "pump", None)


def label_held(info: dict[str, Any], pump: Any) -> bool:
    """Whether ``label_hold`` was held during the step: the roles the step's info says
    were held (``teleop_held``), else the pump's last sample of the step."""
    if "teleop_held" in info:
        return HOLD_ROLE in tuple(info["teleop_held"])
    last = getattr(pump, "last", None)
    return bool(last is not None and last.buttons.get(HOLD_ROLE, False))


def record_take(env: gym.Env, seed: int, on_step: Callable[[int, dict[str, Any]], None]
                ) -> Take | str:
    """Runs one episode; returns it, or ``"rerecord"`` / ``"quit"`` when the device said so
    (the episode in progress is then dropped). The label events and ``label_hold`` label
    the frame each step produces (``FrameLabeller``); they do not end the episode."""
    obs, _ = env.reset(seed=seed)
    pump = _pump(env)
    labeller = FrameLabeller()
    frames = {k: [v] for k, v in obs.items()}
    actions, grippers, rewards, terms, truncs, ivs, segs = [], [], [], [], [], [], []
    zero = hold_action(env)  # the "policy" holds still: the human drives
    ended_by, success = "env", False
    while True:
        obs, reward, terminated, truncated, info = env.step(zero)
        events = tuple(info.get("teleop_events", ()))
        if "quit" in events:
            return "quit"
        if "rerecord" in events:
            return "rerecord"
        labeller.step(label_held(info, pump), events)
        for k, v in obs.items():
            frames[k].append(v)
        actions.append(info["executed_action"])
        grippers.append(info.get("executed_gripper_action", specs.GRIPPER_STAY))
        rewards.append(reward)
        ivs.append(bool(info.get("is_intervention", False)))
        segs.append(int(info.get("teleop_segment", -1)))
        success = bool(info.get("success", False))
        if "success" in events or "failure" in events:
            ended_by = "success" if "success" in events else "failure"
            success = ended_by == "success"
            terminated = True
        on_step(len(actions), {**info, "frame_label": labeller.arrays()[0][-1]})
        terms.append(bool(terminated))
        truncs.append(bool(truncated and not terminated))
        if terminated or truncated:
            if truncated and not terminated:
                ended_by = "time_limit"
            break
    has_gripper = isinstance(env.action_space, gym.spaces.Dict)
    labels, sources = labeller.arrays()
    episode = Episode(
        observations={k: np.stack(v) for k, v in frames.items()},
        actions=np.stack(actions).astype(np.float32),
        rewards=np.asarray(rewards, np.float32),
        terminated=np.asarray(terms, np.uint8),
        truncated=np.asarray(truncs, np.uint8),
        gripper_actions=np.asarray(grippers, np.int32) if has_gripper else None,
        frame_labels=labels, label_sources=sources,
    )
    return Take(episode, success, np.asarray(ivs, np.uint8), np.asarray(segs, np.int64),
                ended_by, labels, sources)


_LABEL_WORDS = {fl.POSITIVE: "success", fl.NEGATIVE: "failure"}


def record(config: ml_collections.ConfigDict, stream: Any = None) -> dict[str, Any]:
    """Records until ``record.episodes`` successful episodes are on disk (or the device
    says quit, or ``record.max_attempts`` ran out); returns the summary."""
    from silri_jax.status import Status

    rc = config.record
    out = pathlib.Path(rc.out).expanduser()
    device = build.make_teleop_device(config, seed=int(rc.seed), recording=True)
    env = build.make_env(config, device=device)
    spec = envs.env_spec(env)
    fps = float(build.sim_config(config).get("control_hz", 10.0) or 10.0)
    task_text = rc.task_text or str(config.task.name)
    keep = _sink(out, spec, fps, task_text)
    fails = _sink(failures_path(out), spec, fps, task_text) if rc.keep_failures else None
    status = Status(stream=stream or sys.stderr)
    n, attempts_max = int(rc.episodes), int(rc.max_attempts) or 3 * int(rc.episodes)
    kept = failed = attempts = frames = 0
    stopped_by = "done"
    start = time.monotonic()
    problem = ""

    def on_step(step: int, info: dict[str, Any]) -> None:
        nonlocal problem
        p = info.get("teleop_problem", "")
        if p and p != problem:
            status.event(f"teleop device: {p}")
        problem = p
        human = "human" if info.get("is_intervention") else "policy"
        label = _LABEL_WORDS.get(int(info.get("frame_label", fl.UNLABELLED)), "")
        status.show(f"record {kept}/{n} kept, {failed} failed | episode {attempts + 1} "
                      f"step {step} | {human}" + (f" | label {label}" if label else "")
                      + (f" | DEVICE: {p}" if p else ""))

    try:
        with device:
            while kept < n and attempts < attempts_max:
                take = record_take(env, int(rc.seed) + attempts, on_step)
                if take == "quit":
                    stopped_by = "quit"
                    break
                if take == "rerecord":
                    status.event(f"episode {attempts + 1}: discarded, recording it again")
                    continue
                attempts += 1
                assert isinstance(take, Take)
                if take.success:
                    keep.add(take)
                    kept += 1
                    frames += len(take.episode)
                elif fails is not None:
                    fails.add(take)
                    failed += 1
                else:
                    failed += 1
                status.event(f"episode {attempts}: {'kept' if take.success else 'failed'} "
                             f"({len(take.episode)} steps, ended by {take.ended_by})")
    except KeyboardInterrupt:
        stopped_by = "interrupted"
    finally:
        keep.close()
        if fails is not None:
            fails.close()
        env.close()
        status.close()
    if stopped_by == "done" and kept < n:
        stopped_by = "max_attempts"
    return {"event": "record", "episodes": kept, "failures": failed, "attempts": attempts,
            "frames": frames, "out": str(out), "stopped_by": stopped_by,
            "device": getattr(device, "name", "?"),
            "wall_s": round(time.monotonic() - start, 2)}


def validate(config: ml_collections.ConfigDict) -> None:
    rc = config.record
    if int(rc.episodes) <= 0:
        raise ValueError(f"config.record.episodes={rc.episodes}: must be positive")
    if int(rc.max_attempts) < 0:
        raise ValueError(f"config.record.max_attempts={rc.max_attempts}: must be >= 0")
    if not rc.out:
        raise ValueError("config.record.out must name a .npz file or a dataset directory")
    out = pathlib.Path(rc.out)
    if out.suffix not in ("", ".npz"):
        raise ValueError(f"config.record.out={rc.out!r}: a .npz file (the project's demo "
                         "file) or a directory (LeRobotDataset v3.0)")
    build.check_names({"config.task.name": config.task.name,
                       "config.task.obs_mode": config.task.obs_mode,
                       "config.demos.profile": config.demos.profile})
    build.validate_teleop(config)


def main(argv: list[str]) -> None:
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    result = record(_CONFIG.value)
    print(json.dumps(result), flush=True)
    if result["stopped_by"] == "interrupted":
        sys.exit(130)


if __name__ == "__main__":
    from silri_jax import cli

    _CONFIG = cli.define_config("configs/train.py", "recording config", "silri_jax.record")
    cli.run(main, prog="silri_jax.record", summary=__doc__.split("\n\n")[0],
            default_config="configs/train.py", config_holder=_CONFIG, validate=validate)
