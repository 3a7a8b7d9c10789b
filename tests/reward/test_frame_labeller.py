"""``FrameLabeller``: hold-to-label, "from this press onward", failure, undo, and other
writers' marks, each frame labelled by the step that produced it."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.data import frame_labels as fl
from silri_jax.reward.labelling import FrameLabeller

U, N, P = fl.UNLABELLED, fl.NEGATIVE, fl.POSITIVE
H, C, V, Z = fl.SOURCE_HUMAN, fl.SOURCE_CLASSIFIER, fl.SOURCE_VETO, fl.SOURCE_NONE


Step = tuple[bool, tuple[str, ...]]


def run(*parts: Step | list[Step]) -> FrameLabeller:
    """Steps (held, events), given one by one or as lists."""
    lab = FrameLabeller()
    for part in parts:
        for held, events in part if isinstance(part, list) else [part]:
            lab.step(held, events)
    return lab


def labels(lab: FrameLabeller) -> list[int]:
    return lab.arrays()[0].tolist()


def sources(lab: FrameLabeller) -> list[int]:
    return lab.arrays()[1].tolist()


def idle(n: int) -> list[Step]:
    return [(False, ())] * n


def held(n: int) -> list[Step]:
    return [(True, ())] * n


def test_nothing_pressed_leaves_every_frame_unlabelled() -> None:
    lab = run(idle(4))
    assert labels(lab) == [U] * 5 and sources(lab) == [Z] * 5 and lab.steps == 4
    assert not lab.any_labelled()
    a, s = lab.arrays()
    assert a.dtype == np.int8 and s.dtype == np.int8
    fl.check_labels(a, s, 5, "labeller")


def test_a_press_labels_the_frame_after_the_step_and_every_later_one() -> None:
    lab = run(idle(2), (False, ("label_success",)), idle(3))
    # the press came during step 2 (0-based), so frame 3 is the first positive
    assert labels(lab) == [U, U, U, P, P, P, P]
    assert sources(lab) == [Z, Z, Z, H, H, H, H]
    assert lab.any_labelled()


def test_failure_latches_negative_and_success_after_it_switches_back() -> None:
    lab = run((False, ("label_failure",)), idle(2), (False, ("label_success",)),
              idle(1))
    assert labels(lab) == [U, N, N, N, P, P]
    lab = run((False, ("label_success",)), idle(1), (False, ("label_failure",)),
              idle(1))
    assert labels(lab) == [U, P, P, N, N]


def test_hold_labels_the_frames_produced_while_held_and_wins_over_the_latch() -> None:
    lab = run(idle(1), held(2), idle(2))
    assert labels(lab) == [U, U, P, P, U, U]
    assert sources(lab) == [Z, Z, H, H, Z, Z]
    lab = run((False, ("label_failure",)), held(2), idle(2))
    assert labels(lab) == [U, N, P, P, N, N]  # the failure latch labels on after release


def test_undo_reverts_the_last_press_including_frames_labelled_since() -> None:
    lab = run(idle(1), (False, ("label_success",)), idle(3), (False, ("label_undo",)),
              idle(2))
    assert labels(lab) == [U] * 9 and sources(lab) == [Z] * 9
    assert not lab.any_labelled()


def test_undo_of_a_failure_press_lets_the_earlier_success_latch_label_again() -> None:
    lab = run((False, ("label_success",)), idle(1), (False, ("label_failure",)),
              idle(2), (False, ("label_undo",)), idle(1))
    assert labels(lab) == [U, P, P, P, P, P, P, P]
    # undo twice: both presses go
    lab.step(False, ("label_undo",))
    assert labels(lab) == [U] * 9
    # a third undo with nothing left does nothing
    lab.step(False, ("label_undo",))
    assert labels(lab) == [U] * 10


def test_undo_takes_back_a_hold_as_one_action() -> None:
    lab = run((False, ("label_failure",)), held(3), idle(1),
              (False, ("label_undo",)))
    assert labels(lab) == [U, N, N, N, N, N, N]  # the hold's frames: back to the latch
    lab.step(False, ("label_undo",))  # then the failure press
    assert labels(lab) == [U] * 8


def test_undo_while_holding_ends_that_hold_and_a_new_one_begins_at_this_frame() -> None:
    lab = run(idle(1), held(2), (True, ("label_undo",)), (True, ()))
    assert labels(lab) == [U, U, U, U, P, P]
    lab.step(False, ("label_undo",))
    assert labels(lab) == [U] * 7


def test_actions_are_undone_in_the_order_they_began() -> None:
    # a hold begins, a success press comes during it: the press is the most recent
    lab = run((True, ()), (True, ("label_success",)), (True, ()), idle(2))
    assert labels(lab) == [U, P, P, P, P, P]
    lab.step(False, ("label_undo",))
    assert labels(lab) == [U, P, P, P, U, U, U]  # the press went, the hold stays
    lab.step(False, ("label_undo",))
    assert labels(lab) == [U] * 8


def test_press_and_undo_in_one_step_cancel() -> None:
    lab = run((False, ("label_failure",)), idle(1),
              (False, ("label_success", "label_undo")), idle(1))
    assert labels(lab) == [U, N, N, N, N]
    lab = run((False, ("label_undo", "label_success")), idle(1))
    assert labels(lab) == [U, P, P]


def test_other_events_are_ignored() -> None:
    lab = run((False, ("success", "continue", "toggle_intervention")), idle(1))
    assert labels(lab) == [U, U, U]


def test_marks_from_other_writers_stay_through_undo_and_presses_label_only_later_frames(
) -> None:
    lab = run(idle(3))
    lab.mark(3, P, C)
    lab.mark_range(1, 2, N, V)
    assert labels(lab) == [U, N, N, P] and sources(lab) == [Z, V, V, C]
    lab.step(False, ("label_success",))
    lab.step(False, ())
    assert labels(lab) == [U, N, N, P, P, P] and sources(lab) == [Z, V, V, C, H, H]
    lab.mark(5, N, V)
    lab.step(False, ())
    assert labels(lab) == [U, N, N, P, P, N, P]
    lab.step(False, ("label_undo",))
    # the press and its frames went; the marks stand
    assert labels(lab) == [U, N, N, P, U, N, U, U]
    assert sources(lab) == [Z, V, V, C, Z, V, Z, Z]


def test_mark_range_is_inclusive_and_clipped_and_mark_checks_its_arguments() -> None:
    lab = run(idle(4))
    lab.mark_range(-3, 2, P, H)
    assert labels(lab) == [U, P, P, U, U]  # the reset frame is not part of a range
    lab.mark_range(3, 99, N, C)
    assert labels(lab) == [U, P, P, N, N]
    lab.mark_range(4, 3, P, H)  # empty
    assert labels(lab) == [U, P, P, N, N]
    lab.mark(0, P, H)  # one frame, any of them
    assert labels(lab)[0] == P
    lab.mark(2, U, H)  # unlabelling clears the source
    assert labels(lab)[2] == U and sources(lab)[2] == Z
    with pytest.raises(IndexError):
        lab.mark(5, P, H)
    with pytest.raises(ValueError, match="label"):
        lab.mark(1, 2, H)
    with pytest.raises(ValueError, match="source"):
        lab.mark(1, P, 9)


def test_reset_starts_a_new_episode() -> None:
    lab = run((False, ("label_success",)), idle(2))
    lab.reset()
    assert labels(lab) == [U] and lab.steps == 0
    lab.step(False, ("label_undo",))  # nothing of the last episode to undo
    lab.step(True, ())
    assert labels(lab) == [U, U, P]


def test_a_long_random_session_matches_its_definition() -> None:
    """Undo is 'as if the press never happened': the same script without the undone
    presses (and without the undos) gives the same labels."""
    rng = np.random.default_rng(0)
    names = ["label_success", "label_failure", "label_undo"]
    for _ in range(40):
        script: list[Step] = []
        stack: list[tuple[int, int]] = []
        undone: set[tuple[int, int]] = set()
        for t in range(40):
            events = tuple(str(e) for e in rng.choice(names, size=int(rng.integers(0, 3))))
            for j, e in enumerate(events):
                if e == "label_undo":
                    if stack:
                        undone.add(stack.pop())
                else:
                    stack.append((t, j))
            script.append((False, events))
        plain = [(False, tuple(e for j, e in enumerate(ev)
                               if e != "label_undo" and (t, j) not in undone))
                 for t, (_, ev) in enumerate(script)]
        lab, ref = run(script), run(plain)
        assert labels(lab) == labels(ref) and sources(lab) == sources(ref)
        a, s = lab.arrays()
        fl.check_labels(a, s, 41, "random")
        assert ((a == U) == (s == Z)).all()
