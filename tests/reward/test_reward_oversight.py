"""The human (or simulated) judge of the learned reward: the hold window after a
declaration, veto, confirmation, a reported miss, the labels and sources each leaves, the
corrections written to disk for good, the rates for TensorBoard, and the classifier swap at
an episode boundary."""

from __future__ import annotations

import numpy as np
import pytest
from test_reward_wrapper import ScoreClassifier, ScriptedEnv

from silri_jax.data import frame_labels as fl
from silri_jax.reward.config import reward_config
from silri_jax.reward.corrections import CorrectionStore, load_corrections
from silri_jax.reward.monitor import RewardMonitor
from silri_jax.reward.oversight import DeviceJudge, SimulatedJudge, make_judge
from silri_jax.reward.wrappers import LearnedReward, learned_reward_from_config


class EventEnv(ScriptedEnv):
    """ScriptedEnv that records the actions it receives, reports the simulator's success
    over a range of steps (not only one), and emits scripted teleop events."""

    def __init__(self, scores, sim_success=(), events=None) -> None:
        super().__init__(scores, sim_success=set(sim_success))
        self.events = dict(events or {})
        self.actions: list[np.ndarray] = []

    def step(self, action):
        self.actions.append(np.asarray(action).copy())
        obs, r, term, trunc, info = super().step(action)
        info["teleop_events"] = tuple(self.events.get(self.t, ()))
        return obs, r, term, trunc, info


def run(env, steps=30, action=None):
    env.reset(seed=0)
    rows = []
    a = np.full(3, 0.5, np.float32) if action is None else action
    for _ in range(steps):
        _, r, term, trunc, info = env.step(a)
        rows.append({"r": r, "term": term, "trunc": trunc, **info})
        if term or trunc:
            break
    return rows


class Scripted:
    """A judge that answers ``answer`` at the listed steps (counted by calls)."""

    def __init__(self, answers) -> None:
        self.answers, self.calls, self.pending = dict(answers), 0, []

    def reset(self) -> None:
        self.calls = 0

    def __call__(self, info, pending):
        self.calls += 1
        self.pending.append(pending)
        return self.answers.get(self.calls)


HIGH = [0.0, 0.0, 0.0] + [0.9] * 30


def test_a_declaration_holds_the_arm_and_stands_when_the_window_ends(tmp_path) -> None:
    inner = EventEnv(HIGH)
    store = CorrectionStore(tmp_path / "c")
    env = LearnedReward(inner, ScoreClassifier(), warmup_steps=0, confirm_window=3,
                        success_reward=1.0, step_reward=0.0, corrections=store)
    rows = run(env)
    # declared at t=4 (two frames above 0.5: t=3, 4); held t=5..7; stands at t=7
    assert [r["reward_pending"] for r in rows] == [False] * 3 + [True] * 3 + [False]
    assert len(rows) == 7 and rows[-1]["term"] and rows[-1]["r"] == 1.0
    assert all(r["r"] == 0.0 for r in rows[:-1])
    # the policy's action reaches the env until the declaration, then "hold"
    assert all(np.allclose(a, 0.5) for a in inner.actions[:4])
    assert all(np.allclose(a, 0.0) for a in inner.actions[4:])
    labels, sources = env.episode_labels()
    assert labels.tolist() == [-1] * 4 + [1] * 4
    assert sources.tolist() == [0] * 4 + [fl.SOURCE_CLASSIFIER] * 4
    assert rows[-1]["reward_counts"]["expired"] == 1
    assert len(store) == 0  # nobody corrected anything: nothing to keep


def test_a_veto_makes_negatives_keeps_the_episode_going_and_is_kept_on_disk(tmp_path) -> None:
    store = CorrectionStore(tmp_path / "c")
    monitor = RewardMonitor(str(tmp_path / "tb"))
    judge = Scripted({6: "veto"})  # the 2nd step of the window
    env = LearnedReward(EventEnv(HIGH), ScoreClassifier(), warmup_steps=0, confirm_window=3,
                        judge=judge, corrections=store, monitor=monitor,
                        success_reward=1.0, step_reward=0.0)
    rows = run(env)
    assert rows[5]["reward_judgement"] == "veto" and not rows[5]["term"]
    assert not rows[5]["reward_pending"]
    # two new frames above threshold (t=7, 8) declare again at t=8; it stands at t=11
    assert rows[7]["reward_pending"] and len(rows) == 11 and rows[-1]["term"]
    labels, sources = env.episode_labels()
    assert labels[4:7].tolist() == [0, 0, 0]
    assert sources[4:7].tolist() == [fl.SOURCE_VETO] * 3
    assert labels[8:12].tolist() == [1] * 4
    assert rows[-1]["reward_counts"] == {"declarations": 2, "vetoes": 1, "confirmations": 0,
                                         "expired": 1, "missed": 0}
    # the judge was asked at every step, with the pending flag the window says
    assert judge.pending[:7] == [False] * 4 + [True, True, False]
    # the corrected episode is on disk, frames and labels together
    (ep,) = load_corrections(store.folder)
    assert ep.frame_labels.tolist() == labels.tolist()
    assert len(ep.observations["images/front"]) == len(labels) == 12
    assert monitor.totals["vetoes"] == 1 and monitor.totals["overridden_episodes"] == 1
    assert monitor.rates()["false_positive_rate"] == pytest.approx(0.5)
    monitor.close()


def test_a_confirmation_ends_the_window_at_once_as_the_humans_label() -> None:
    env = LearnedReward(EventEnv(HIGH, events={6: ("success",)}), ScoreClassifier(),
                        warmup_steps=0, confirm_window=10, judge=DeviceJudge(),
                        success_reward=1.0, step_reward=0.0)
    rows = run(env)
    assert len(rows) == 6 and rows[-1]["term"] and rows[-1]["r"] == 1.0
    _, sources = env.episode_labels()
    assert sources[4:7].tolist() == [fl.SOURCE_HUMAN] * 3
    assert rows[-1]["reward_counts"]["confirmations"] == 1


def test_a_device_failure_during_the_window_vetoes() -> None:
    env = LearnedReward(EventEnv(HIGH, events={5: ("failure",)}), ScoreClassifier(),
                        warmup_steps=0, confirm_window=10, judge=DeviceJudge())
    rows = run(env, steps=8)
    assert rows[4]["reward_judgement"] == "veto" and not rows[4]["reward_pending"]


def test_a_missed_success_reported_by_the_human_ends_in_success(tmp_path) -> None:
    store = CorrectionStore(tmp_path / "c")
    calls = []
    env = LearnedReward(EventEnv([0.1] * 20, events={6: ("success",)}), ScoreClassifier(),
                        warmup_steps=0, confirm_window=3, judge=DeviceJudge(),
                        missed_lookback=2, corrections=store, success_reward=1.0,
                        step_reward=0.0, on_correction=lambda: calls.append(1))
    rows = run(env)
    assert len(rows) == 6 and rows[-1]["term"] and rows[-1]["success"]
    labels, sources = env.episode_labels()
    assert labels.tolist() == [-1] * 4 + [1] * 3
    assert sources[4:].tolist() == [fl.SOURCE_HUMAN] * 3
    assert rows[-1]["reward_counts"]["missed"] == 1
    assert len(store) == 1 and calls == [1] and "reward_correction_file" in rows[-1]


def test_the_simulated_judge_answers_from_the_simulator_after_its_reaction_time() -> None:
    right = SimulatedJudge(error_rate=0.0, reaction_steps=1)
    assert right({"sim_success": False}, True) is None  # still reacting
    assert right({"sim_success": False}, True) == "veto"
    right.reset()
    assert [right({"sim_success": True}, True) for _ in range(2)] == [None, "confirm"]
    right.reset()
    # a success the classifier missed: reported once it lasted past the reaction time
    assert [right({"sim_success": True}, False) for _ in range(3)] == [None, "success",
                                                                        "success"]
    wrong = SimulatedJudge(error_rate=1.0, reaction_steps=0)
    assert wrong({"sim_success": False}, True) is None  # lets a false success stand
    wrong.reset()
    assert wrong({"sim_success": True}, True) == "veto"
    wrong.reset()
    assert wrong({"sim_success": True}, False) is None  # never reports a miss
    with pytest.raises(KeyError, match="sim_success"):
        SimulatedJudge()({}, True)


def test_the_simulated_judge_in_the_loop_vetoes_a_false_alarm_and_confirms_a_true_one() -> None:
    # the classifier fires at t=3..; the simulator says success only from t=9
    env = LearnedReward(EventEnv(HIGH, sim_success=range(9, 40)), ScoreClassifier(),
                        warmup_steps=0, confirm_window=3,
                        judge=SimulatedJudge(error_rate=0.0, reaction_steps=1),
                        success_reward=1.0, step_reward=0.0)
    rows = run(env)
    judged = [(i + 1, r["reward_judgement"]) for i, r in enumerate(rows)
              if r["reward_judgement"]]
    assert judged[0] == (6, "veto")  # declared at 4, answered 2 steps later
    assert judged[-1][1] == "confirm" and rows[-1]["sim_success"] and rows[-1]["success"]


def test_a_swapped_classifier_takes_over_at_the_next_episode_only() -> None:
    env = LearnedReward(EventEnv(HIGH), ScoreClassifier(index=0), warmup_steps=0)
    env.reset(seed=0)
    env.step(np.zeros(3, np.float32))
    replacement = ScoreClassifier(index=3)  # state[3] is always 0: never declares
    env.swap_last_stage(replacement)
    assert env.stages[-1] is not replacement
    rows = run(env)  # reset applies the swap
    assert env.stages[-1] is replacement and env.swaps == 1
    assert not any(r["success"] for r in rows)


def test_the_loop_config_is_checked_naming_the_field(tmp_path) -> None:
    from silri_jax import config_files
    from silri_jax.training.build import validate_reward_loop

    c = config_files.train_config("silri_pick_cube_pixels")
    c.reward.loop.model = str(tmp_path / "clf")
    validate_reward_loop(c)  # the defaults: no judge, no window
    bad = [({"judge": "psychic", "confirm_window": 3}, r"loop\.judge='psychic'"),
           ({"judge": "simulated"}, "confirm_window > 0"),
           ({"judge": "simulated", "confirm_window": 2, "judge_reaction_steps": 2},
            "judge_reaction_steps=2 must be below"),
           ({"judge": "device", "confirm_window": 2}, "set config.teleop.device"),
           ({"judge_error_rate": 1.5}, "judge_error_rate=1.5"),
           ({"confirm_window": -1}, "confirm_window=-1"),
           ({"retrain_success": "a.npz"}, "set both")]
    for fields, message in bad:
        c = config_files.train_config("silri_pick_cube_pixels")
        c.reward.loop.model = str(tmp_path / "clf")
        for k, v in fields.items():
            c.reward.loop[k] = v
        with pytest.raises(ValueError, match=message):
            validate_reward_loop(c)
    assert make_judge("") is None and isinstance(make_judge("device"), DeviceJudge)
    env = EventEnv(HIGH)
    assert learned_reward_from_config(env, reward_config().loop, run_dir=str(tmp_path)) is env


def test_corrections_are_appended_never_rewritten(tmp_path) -> None:
    store = CorrectionStore(tmp_path)
    frames = {"state": np.zeros((3, 2), np.float32)}
    lab = np.array([-1, 0, 1], np.int8)
    src = np.array([0, 3, 1], np.int8)
    a = store.add(frames, lab, src)
    b = CorrectionStore(tmp_path).add(frames, lab, src)  # a new session continues the count
    assert a.name == "correction_000000.npz" and b.name == "correction_000001.npz"
    assert store.labelled_frames() == 4
    with pytest.raises(ValueError, match="label_sources"):
        store.add(frames, lab, np.array([0, 9, 1], np.int8))
    with pytest.raises(ValueError, match="frames"):
        store.add({"state": np.zeros((2, 2))}, lab, src)
    assert len(store) == 2


def test_rates_of_the_monitor() -> None:
    m = RewardMonitor()
    m.episode({"declarations": 2, "vetoes": 1, "expired": 1}, 0.9, sim_success=True,
              success=True)
    m.episode({"missed": 1}, 0.2, sim_success=True, success=True)
    m.episode({}, 0.1, sim_success=True, success=False)
    r = m.rates()
    assert r["false_positive_rate"] == pytest.approx(0.5)
    assert r["false_negative_rate"] == pytest.approx(0.5)
    assert r["override_rate"] == pytest.approx(2 / 3)
    assert r["sim_agreement"] == pytest.approx(2 / 3)


def test_a_persons_label_presses_during_training_are_kept_as_corrections(tmp_path) -> None:
    """The label inputs work in training as in recording: ``label_success`` at step 5
    labels frame 5 onward positive (source human), and the episode is kept."""
    store = CorrectionStore(tmp_path / "c")
    env = LearnedReward(EventEnv([0.1] * 20, events={5: ("label_success",)}),
                        ScoreClassifier(), warmup_steps=0, corrections=store,
                        max_episode_steps=8)
    rows = run(env)
    assert len(rows) == 8 and rows[-1]["trunc"] and not rows[-1]["success"]
    labels, sources = env.episode_labels()
    assert labels.tolist() == [-1] * 5 + [1] * 4
    assert sources[5:].tolist() == [fl.SOURCE_HUMAN] * 4
    (ep,) = load_corrections(store.folder)
    assert ep.frame_labels.tolist() == labels.tolist()
