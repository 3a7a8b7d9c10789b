"""The learned reward in the loop, and a recording aid, as gymnasium wrappers.

``LearnedReward`` replaces the env's reward and termination by the classifier's verdict:
success is declared only after ``consecutive`` frames in a row with p > threshold (and the
model's predicate), never in the first ``warmup_steps`` steps (a reset frame can look like
anything). Stages (several classifiers, in order) latch: once stage i is declared it stays
achieved and stage i + 1's classifier takes over; the last stage is the task's success.
The simulator's own verdict is kept beside it in ``info["sim_success"]`` (and its reward
in ``info["sim_reward"]``) for logging and for the simulated judge only: the reward and
the termination never read it.

Oversight: with ``confirm_window`` the arm holds its pose after a declaration while a
judge (a person at the teleop device, or the simulated operator, see ``oversight.py``)
may veto it; vetoes and reported misses are written to a ``CorrectionStore`` that is never
evicted, counted by a ``RewardMonitor`` for TensorBoard, and trigger background
retraining (``retrain.py``) whose result replaces the classifier only if it does not add
held-out false positives.

``ContinueAfterSuccess`` keeps a successful episode going for a few more steps before it
terminates, so a recording holds more than the single positive frame a terminating
success leaves (the one-tick-key-press problem, in simulation).
"""

from __future__ import annotations

import pathlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

import gymnasium as gym
import numpy as np

from silri_jax.data import frame_labels as fl
from silri_jax.envs import env_spec
from silri_jax.envs.wrappers import hold_action
from silri_jax.reward.corrections import CorrectionStore
from silri_jax.reward.detector import SuccessDetector
from silri_jax.reward.labelling import FrameLabeller
from silri_jax.reward.model_file import Classifier
from silri_jax.reward.monitor import RewardMonitor
from silri_jax.reward.oversight import Judge


def episode_step_limit(env: gym.Env) -> int | None:
    """``max_steps`` of the first ``TimeLimit`` in ``env``'s wrapper chain, if any."""
    e: Any = env
    while e is not None:
        limit = getattr(e, "max_steps", None)
        if isinstance(limit, int):
            return limit
        e = getattr(e, "env", None)
    return None


class LearnedReward(gym.Wrapper):
    """Reward and termination from one classifier, or from a sequence of stage classifiers.

    Args:
        classifier: a loaded ``Classifier`` or one per stage, in order.
        consecutive: frames in a row above threshold; None: each model file's own.
        warmup_steps: no success declared before this step of the episode.
        success_reward / step_reward: reward of a step that holds the task's success, and
            of every other step.
        stage_reward: reward of the step that completes an intermediate stage.
        terminate_on_success: ``terminated`` when the last stage is declared.
        latch: without termination, success once declared holds for the episode; off, it
            is re-judged every step (the run of frames above threshold must go on).
        max_episode_steps: truncation; None: the env's own ``TimeLimit`` (which cannot
            truncate on a step where the simulator says success, so it is redone here).
        confirm_window: steps the arm holds its pose after the last stage is declared,
            waiting for a veto (0: success at once, no window). The declaration stands
            when the window ends unanswered.
        judge: answers declarations and reports missed successes
            (``silri_jax.reward.oversight``); None: nobody watches.
        missed_lookback: a success the judge reports labels the frame it was reported on
            and this many frames before it positive (a person presses after seeing it).
        corrections: where episodes with a correction are written
            (``CorrectionStore``); None: kept in memory only for the episode.
        monitor: TensorBoard rates (``RewardMonitor``); None: counts only.
        on_correction: called after a correction episode is stored (the background
            retrainer's trigger).
        sim_verdict: the env's own ``info["success"]`` is a simulator's verdict, kept as
            ``info["sim_success"]`` for logging and the simulated judge (off on a real
            arm, where no such key is set).

    During a window the action passed down is "hold" (zero motion, gripper unchanged): a
    human at the device still drives through the intervention wrapper below, so a veto
    followed by a takeover is one motion. Each frame's label and its source are kept per
    episode (``episode_labels``, a ``FrameLabeller``): a person's own label inputs
    (``label_hold``, ``label_success`` / ``label_failure`` / ``label_undo``, read from
    ``info["teleop_held"]`` and ``info["teleop_events"]``) label frames as in recording;
    the frames of a declaration that stood are positives of source "classifier" (or
    "human" when confirmed), vetoed ones negatives of source "veto". An episode with a
    veto, a reported miss or a person's label is kept as a correction. The judge is called
    without waiting, so no step ever waits for a person.
    """

    def __init__(self, env: gym.Env, classifier: Classifier | Sequence[Classifier], *,
                 consecutive: int | None = None, warmup_steps: int = 3,
                 success_reward: float = 10.0, step_reward: float = -0.05,
                 stage_reward: float = 0.0, terminate_on_success: bool = True,
                 latch: bool = True, max_episode_steps: int | None = None,
                 confirm_window: int = 0, judge: Judge | None = None,
                 missed_lookback: int = 2, corrections: CorrectionStore | None = None,
                 monitor: RewardMonitor | None = None,
                 on_correction: Callable[[], None] | None = None,
                 sim_verdict: bool = True) -> None:
        super().__init__(env)
        stages = [classifier] if isinstance(classifier, Classifier) else list(classifier)
        if not stages:
            raise ValueError("LearnedReward needs at least one classifier")
        if confirm_window < 0 or missed_lookback < 0:
            raise ValueError(f"confirm_window and missed_lookback must be >= 0, got "
                             f"{confirm_window}, {missed_lookback}")
        self.spec_ = env_spec(env)
        for clf in stages:
            clf.check_spec(self.spec_)
        self.stages = stages
        self._consecutive = consecutive
        self._warmup = int(warmup_steps)
        self.detectors = self._detectors(stages)
        self.success_reward, self.step_reward = float(success_reward), float(step_reward)
        self.stage_reward = float(stage_reward)
        self.terminate_on_success, self.latch = bool(terminate_on_success), bool(latch)
        self.max_steps = max_episode_steps or episode_step_limit(env)
        self.confirm_window, self.judge = int(confirm_window), judge
        self.missed_lookback = int(missed_lookback)
        self.corrections, self.monitor = corrections, monitor
        self.on_correction = on_correction
        self.sim_verdict = bool(sim_verdict)
        self.labeller = FrameLabeller()
        self._swap_lock = threading.Lock()
        self._next_last: Classifier | None = None
        self.swaps = 0
        self._reset_episode()

    def _detectors(self, stages: Sequence[Classifier]) -> list[SuccessDetector]:
        k = self._consecutive
        return [SuccessDetector(c.threshold, int(k or c.consecutive), self._warmup)
                for c in stages]

    def swap_last_stage(self, classifier: Classifier) -> None:
        """Replaces the last stage's classifier at the next episode start (thread-safe:
        the background retrainer calls it; an episode is judged by one classifier)."""
        classifier.check_spec(self.spec_)
        with self._swap_lock:
            self._next_last = classifier

    def _reset_episode(self) -> None:
        with self._swap_lock:
            if self._next_last is not None:
                self.stages[-1], self._next_last = self._next_last, None
                self.detectors = self._detectors(self.stages)
                self.swaps += 1
        self.t, self.stage, self.succeeded = 0, 0, False
        self.pending_since: int | None = None
        self.counts = dict.fromkeys(("declarations", "vetoes", "confirmations", "expired",
                                     "missed"), 0)
        self.max_score = 0.0
        self.labeller.reset()
        self.human_labelled = False  # a person pressed a label input this episode
        self._frames: dict[str, list[np.ndarray]] = {}
        for d in self.detectors:
            d.reset()
        if self.judge is not None:
            self.judge.reset()

    def episode_labels(self) -> tuple[np.ndarray, np.ndarray]:
        """(frame labels, sources) of the episode so far: int8[t + 1] each."""
        return self.labeller.arrays()

    def _keep_frame(self, obs: Any) -> None:
        if self.corrections is None:
            return
        for k, v in obs.items():
            self._frames.setdefault(k, []).append(np.array(v, copy=True))

    def _label(self, lo: int, hi: int, label: int, source: int) -> None:
        self.labeller.mark_range(lo, hi, label, source)

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self._reset_episode()
        obs, info = self.env.reset(**kwargs)
        self._keep_frame(obs)
        if self.sim_verdict:
            info["sim_success"] = bool(info.get("success", False))
        info["success"] = False
        info["reward_stage"] = 0
        return obs, info

    def step(self, action: Any):  # type: ignore[override]
        pending = self.pending_since is not None
        if pending:
            action = hold_action(self.env)
        obs, sim_reward, _sim_terminated, truncated, info = self.env.step(action)
        self.t += 1
        # a person's own labels (label_hold, label_success/failure/undo) on this frame
        held = "label_hold" in tuple(info.get("teleop_held", ()))
        events = tuple(info.get("teleop_events", ()))
        self.labeller.step(held, events)
        self.human_labelled = self.human_labelled or held or any(
            e.startswith("label_") for e in events)
        self._keep_frame(obs)
        if self.sim_verdict:
            info["sim_success"] = bool(info.get("success", False))
            info["sim_reward"] = float(sim_reward)
        last = len(self.stages) - 1
        t0 = time.perf_counter()
        clf = self.stages[self.stage]
        prob = clf.prob(obs)
        ok = clf.predicate(obs)
        info["reward_infer_ms"] = 1000.0 * (time.perf_counter() - t0)
        self.max_score = max(self.max_score, prob)
        if self.monitor is not None:
            self.monitor.score(prob)
        judgement = self.judge(info, pending) if self.judge is not None else None
        reward = self.step_reward
        newly = False
        if pending:
            assert self.pending_since is not None
            if judgement == "veto":
                self._label(self.pending_since, self.t, fl.NEGATIVE, fl.SOURCE_VETO)
                self.counts["vetoes"] += 1
                self.pending_since = None
                self.detectors[self.stage].reset()
            elif judgement == "confirm" or self.t - self.pending_since >= self.confirm_window:
                confirmed = judgement == "confirm"
                self.counts["confirmations" if confirmed else "expired"] += 1
                self._label(self.pending_since, self.t, fl.POSITIVE,
                            fl.SOURCE_HUMAN if confirmed else fl.SOURCE_CLASSIFIER)
                self.pending_since = None
                self.succeeded = newly = True
        else:
            declared = self.detectors[self.stage].update(prob, ok, self.t)
            if self.stage < last and declared:
                self.stage += 1  # latched: an achieved stage is never taken back
                reward += self.stage_reward
            elif self.stage == last:
                if judgement == "success" and not self.succeeded:
                    self._label(self.t - self.missed_lookback, self.t, fl.POSITIVE,
                                fl.SOURCE_HUMAN)
                    self.counts["missed"] += 1
                    self.succeeded = newly = True
                elif declared and not self.succeeded:
                    self.counts["declarations"] += 1
                    if self.confirm_window > 0:
                        self.pending_since = self.t
                    else:
                        self._label(self.t, self.t, fl.POSITIVE, fl.SOURCE_CLASSIFIER)
                        self.succeeded = newly = True
                elif not self.latch and not declared and not newly:
                    self.succeeded = False
        success = self.succeeded
        if success:
            reward += self.success_reward
        terminated = success and self.terminate_on_success
        if self.max_steps is not None and self.t >= self.max_steps and not terminated:
            truncated = True
        info["success"] = success
        info["reward_prob"] = prob
        info["reward_predicate"] = ok
        info["reward_stage"] = self.stage
        info["reward_pending"] = self.pending_since is not None
        info["reward_judgement"] = judgement or ""
        truncated = bool(truncated and not terminated)
        if terminated or truncated:
            self._end_episode(info, success)
        return obs, float(reward), bool(terminated), truncated, info

    def _end_episode(self, info: dict[str, Any], success: bool) -> None:
        info["reward_counts"] = dict(self.counts)
        corrected = self.counts["vetoes"] + self.counts["missed"] > 0 or self.human_labelled
        if self.monitor is not None:
            self.monitor.episode(self.counts, self.max_score,
                                 info.get("sim_success") if self.sim_verdict else None,
                                 success)
        if corrected and self.corrections is not None:
            labels, sources = self.episode_labels()
            frames = {k: np.stack(v) for k, v in self._frames.items()}
            info["reward_correction_file"] = str(self.corrections.add(frames, labels,
                                                                      sources))
            if self.on_correction is not None:
                self.on_correction()


def learned_reward_from_config(env: gym.Env, loop: Any, run_dir: str | None = None,
                               seed: int = 0, sim_verdict: bool = True) -> gym.Env:
    """``env`` wrapped as the ``loop`` section of ``reward_config()`` says (unchanged when
    ``loop.model`` is empty); each model file is loaded and checked against the env. With
    ``run_dir``, corrections go to ``<run_dir>/reward_corrections`` and the rates to
    TensorBoard under ``<run_dir>/tb_reward``; with ``loop.retrain_success`` and
    ``loop.retrain_failures`` set, the last stage is retrained in the background."""
    from silri_jax.reward.model_file import load_classifier
    from silri_jax.reward.oversight import make_judge

    paths = [p.strip() for p in str(loop.model).split(",") if p.strip()]
    if not paths:
        return env
    spec = env_spec(env)
    stages = [load_classifier(p, spec) for p in paths]
    k = int(loop.consecutive)
    judge = make_judge(str(loop.judge), error_rate=float(loop.judge_error_rate),
                       reaction_steps=int(loop.judge_reaction_steps), seed=seed)
    store = monitor = None
    if run_dir:
        store = CorrectionStore(pathlib.Path(run_dir) / "reward_corrections")
        monitor = RewardMonitor(str(pathlib.Path(run_dir) / "tb_reward"))
    wrapped = LearnedReward(env, stages, consecutive=None if k < 0 else k,
                            warmup_steps=int(loop.warmup_steps),
                            success_reward=float(loop.success_reward),
                            step_reward=float(loop.step_reward),
                            terminate_on_success=bool(loop.terminate_on_success),
                            latch=bool(loop.latch), confirm_window=int(loop.confirm_window),
                            judge=judge, missed_lookback=int(loop.missed_lookback),
                            corrections=store, monitor=monitor, sim_verdict=sim_verdict)
    if store is not None and str(loop.retrain_success) and str(loop.retrain_failures):
        from silri_jax.reward.retrain import BackgroundRetrainer

        retrainer = BackgroundRetrainer.from_loop(wrapped, loop, pathlib.Path(run_dir))
        wrapped.on_correction = retrainer.notify
        wrapped.retrainer = retrainer  # type: ignore[attr-defined]
    return wrapped


class ContinueAfterSuccess(gym.Wrapper):
    """After the first step that says success, the episode runs ``steps`` more steps and
    then terminates (the simulator's termination is held back until then)."""

    def __init__(self, env: gym.Env, steps: int) -> None:
        super().__init__(env)
        if steps < 0:
            raise ValueError(f"steps must be >= 0, got {steps}")
        self.steps = int(steps)
        self.max_steps = episode_step_limit(env)
        self._since: int | None = None
        self._t = 0

    def reset(self, **kwargs: Any):  # type: ignore[override]
        self._since, self._t = None, 0
        return self.env.reset(**kwargs)

    def step(self, action: Any):  # type: ignore[override]
        obs, reward, terminated, truncated, info = self.env.step(action)
        self._t += 1
        if self._since is None and info.get("success"):
            self._since = 0
        elif self._since is not None:
            self._since += 1
        if self._since is not None:
            info["success_seen"] = True
            terminated = self._since >= self.steps
        if self.max_steps is not None and self._t >= self.max_steps and not terminated:
            truncated = True
        return obs, reward, bool(terminated), bool(truncated and not terminated), info
