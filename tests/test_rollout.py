"""The step both trainers share: what is stored is what was executed, and takeovers are
counted once per run of intervention steps, never across an episode boundary."""

from __future__ import annotations

import numpy as np

from silri_jax import specs
from silri_jax.data.transitions import chunk_from_columns
from silri_jax.training import rollout


def test_the_row_stores_the_executed_action_not_the_proposed_one():
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    obs = {"state": np.zeros(3, np.float32)}
    nxt = {"state": np.ones(3, np.float32)}
    info = {"executed_action": [0.5, -0.25], "executed_gripper_action": 2,
            "is_intervention": True}
    row = rollout.transition_row(obs, nxt, 1.0, True, False, info, episode_id=7, step=3,
                                 has_gripper=True)
    chunk = chunk_from_columns(spec, rollout.row_as_columns(row))
    np.testing.assert_array_equal(chunk.actions, [[0.5, -0.25]])
    assert chunk.gripper_actions.tolist() == [2]
    assert chunk.is_intervention.tolist() == [1] and chunk.terminated.tolist() == [1]
    assert chunk.episode_id.tolist() == [7] and chunk.step.tolist() == [3]
    np.testing.assert_array_equal(chunk.next_observations["state"], [[1, 1, 1]])


def test_takeovers_count_runs_of_interventions_and_restart_at_each_episode():
    run = rollout.Tally()
    ep = rollout.Tally()
    for interv in (False, True, True, False, True):
        ep.add(0.5, interv)
        run.add(0.5, interv)
    assert (ep.length, ep.interventions, ep.takeovers) == (5, 3, 2)
    assert ep.ret == 2.5 and ep.intervention_rate == 0.6
    run.new_episode()  # the next episode starts while the operator still holds the arm
    run.add(0.0, True)
    assert run.takeovers == 3 and run.interventions == 4
    assert rollout.Tally().intervention_rate == 0.0
