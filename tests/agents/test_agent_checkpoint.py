"""A learner interrupted, checkpointed and resumed equals one that ran straight through.

Uses a real SiLRI agent state (every network, the Lagrange net and beta, targets, one
optimizer state per network, rng and counters) saved asynchronously with Orbax.
"""

from __future__ import annotations

import jax
import numpy as np
from conftest import build, fixed_batch

from silri_jax import specs
from silri_jax.checkpoint import Checkpointer


def _run(agent, state, batches):
    for b in batches:
        state, _ = agent.update(state, b)
    return state


def test_silri_resume_is_bit_identical(tmp_path):
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    agent, st = build("silri", spec)
    batches = [fixed_batch(spec, n=8, seed=i, utd=2) for i in range(6)]
    st, _ = agent.pretrain(st, fixed_batch(spec, n=8, seed=99, utd=2))
    st, _ = agent.update_behavior(st, fixed_batch(spec, n=8, seed=98, utd=2))

    straight = _run(agent, st, batches)
    straight = jax.tree.map(np.asarray, straight)

    agent2, st2 = build("silri", spec)
    st2, _ = agent2.pretrain(st2, fixed_batch(spec, n=8, seed=99, utd=2))
    st2, _ = agent2.update_behavior(st2, fixed_batch(spec, n=8, seed=98, utd=2))
    st2 = _run(agent2, st2, batches[:3])
    with Checkpointer(tmp_path / "ckpt") as ckpt:
        ckpt.save(3, st2, metadata={"algo": "silri"})
        ckpt.wait()

    # A fresh process-like restart: new agent, a template from a different seed.
    agent3, template = build("silri", spec, seed=123)
    with Checkpointer(tmp_path / "ckpt") as ckpt:
        restored, meta = ckpt.restore(template)
    assert meta["algo"] == "silri"
    assert int(restored.counters["beta_updates"]) == int(straight.counters["beta_updates"])
    resumed = jax.tree.map(np.asarray, _run(agent3, restored, batches[3:]))

    flat_a = jax.tree_util.tree_flatten_with_path(straight)[0]
    flat_b = jax.tree_util.tree_flatten_with_path(resumed)[0]
    assert len(flat_a) == len(flat_b)
    for (path, a), (_, b) in zip(flat_a, flat_b, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=jax.tree_util.keystr(path))
    # the state really covers the Lagrange net, beta, targets and optimizer states
    assert {"actor", "critic", "beta", "lagrange", "gripper"} <= set(resumed.params)
    assert {"actor", "critic"} <= set(resumed.target_params)
    assert set(resumed.opt_states) == set(resumed.params)
