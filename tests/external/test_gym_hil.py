"""gym-hil installed beside silri_jax in one environment (gym-hil needs mujoco < 3.9):
SAC with demonstrations on ``gym_hil/PandaPickCubeBase-v0`` through the external-env
path, with the user's operator in ``gym_hil_pick.py``. The demonstrations are kept only
when gym-hil's ``succeed`` says so, so recording them at all shows success is read.

Skipped unless gym-hil is installed; CI's gym-hil step installs it (which moves MuJoCo to
3.8.x) and runs this together with the MuJoCo bridge and sim tests.
"""

from __future__ import annotations

import pytest

pytest.importorskip("gym_hil", reason="gym-hil is not installed; CI's gym-hil step "
                    "(pip install gym-hil, then this file) runs it")

from silri_jax import sync_train

TASK = "gym:gym_hil:gym_hil/PandaPickCubeBase-v0"


def test_sac_with_demonstrations_on_gym_hil_pick_cube(tmp_path):
    c = sync_train.default_config()
    c.task.name = TASK
    c.task.operator = "tests.external.gym_hil_pick:make_operator"
    c.agent.name = "sac"
    c.agent.hidden_dims = (64, 64)
    c.agent.batch_size = 64
    c.agent.pretrain_steps = 50
    c.demos.num = 4
    c.runtime.env_steps = 300
    c.runtime.start_training_after = 50
    c.runtime.eval_every_steps = 0
    c.runtime.eval_episodes = 2
    c.runtime.log_every_steps = 100
    c.runtime.replay_capacity = 5000
    c.runtime.run_dir = str(tmp_path)
    results = sync_train.train(c, quiet=True)
    assert results["demo_transitions"] > 0  # 4 demonstrations judged successful
    assert results["pretrain_steps"] == 50 and results["updates"] > 0
    assert results["env_steps"] == 300 and results["train_episodes"] >= 1
    assert results["takeovers"] >= 0 and 0.0 <= results["intervention_rate"] <= 1.0
    assert (tmp_path / "policy.npz").exists()
