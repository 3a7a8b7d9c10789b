"""``config.demos.path`` takes any format ``silri_jax.datasets`` reads, in both trainers.

A LeRobotDataset v3.0 folder written from the expert demo file, with the first half of
every episode flagged as driven by the policy: the learner and the synchronous trainer
put exactly the human-driven steps in ``D_I`` and the policy's in ``D_R``, with the values
the file holds; a dataset of another env spec, and a path that is no dataset, are refused
by name before anything starts.
"""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.data import load_demos
from silri_jax.datasets import DatasetEpisode
from silri_jax.datasets.lerobot_episodes import write_episodes
from silri_jax.learner import Learner
from silri_jax.training import build


def _config(tmp, demos: str):
    from tests.runtime import tiny_config

    c = tiny_config.get_config()
    c.runtime.run_dir = str(tmp / "run")
    c.demos.path = demos
    c.agent.pretrain_steps = 2
    return c


@pytest.fixture()
def lerobot_demos(tmp_path, demos):
    spec, episodes = load_demos(demos)
    flagged = []
    for ep in episodes:
        flags = np.ones(len(ep), np.uint8)
        flags[: len(ep) // 2] = 0
        flagged.append(DatasetEpisode(ep.observations, ep.actions, ep.rewards, ep.terminated,
                                      ep.truncated, ep.gripper_actions, is_intervention=flags))
    root = tmp_path / "lerobot_demos"
    write_episodes(root, spec, flagged, fps=10, task="reach")
    human = sum(int(e.is_intervention.sum()) for e in flagged)
    total = sum(len(e) for e in flagged)
    return str(root), human, total, flagged


def test_the_learner_routes_a_lerobot_dataset_by_its_intervention_flags(tmp_path,
                                                                         lerobot_demos):
    root, human, total, flagged = lerobot_demos
    learner = Learner(_config(tmp_path, root), quiet=True)
    try:
        assert len(learner.d_i) == human and learner.counts["demo_transitions"] == human
        assert len(learner.trainer.batches.d_r) == total - human
        rows = learner.d_i._data
        assert rows["is_intervention"][:human].all()
        expected = np.concatenate([e.actions[e.is_intervention == 1] for e in flagged])
        np.testing.assert_allclose(rows["actions"][:human], expected, rtol=0, atol=1e-7)
    finally:
        learner.wal.close()


def test_the_synchronous_trainer_loads_the_same_dataset(tmp_path, lerobot_demos,
                                                        monkeypatch):
    from silri_jax import sync_train

    root, human, total, _ = lerobot_demos
    seen = {}
    original = build.load_demo_episodes

    def spy(config, spec):
        episodes = original(config, spec)
        seen["n"] = sum(len(e) for e in episodes)
        return episodes

    monkeypatch.setattr(build, "load_demo_episodes", spy)
    c = _config(tmp_path, root)
    c.runtime.env_steps = 30
    c.runtime.start_training_after = 10
    c.runtime.eval_episodes = 1
    result = sync_train.train(c, quiet=True)
    assert seen["n"] == total and result["demo_transitions"] == human


def test_a_dataset_of_another_spec_or_no_dataset_is_refused_by_name(tmp_path, demos):
    from silri_jax.specs import ActionSpec, EnvSpec

    spec, episodes = load_demos(demos)
    other = EnvSpec(spec.observation, ActionSpec(spec.action.dim, has_gripper=True))
    eps = [DatasetEpisode(e.observations, e.actions, e.rewards, e.terminated, e.truncated,
                          np.ones(len(e), np.int32)) for e in episodes[:2]]
    root = tmp_path / "other"
    write_episodes(root, other, eps, fps=10)
    with pytest.raises(ValueError, match=r"config\.demos\.path=.*another env spec"):
        build.load_demo_episodes(_config(tmp_path, str(root)), spec)
    (tmp_path / "empty").mkdir()
    c = _config(tmp_path, str(tmp_path / "empty"))
    with pytest.raises(ValueError, match=r"config\.demos\.path=.*neither a LeRobot"):
        build.validate(c)
