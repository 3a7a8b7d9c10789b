"""The learned reward as the only reward of a training run, watched by the simulated
operator's judge: ``sync_train`` with ``reward.loop.model``, ``confirm_window`` and
``judge="simulated"`` runs, every false declaration is vetoed (and kept on disk as a
correction), the simulator's verdict is logged beside the learned one, the reward's
TensorBoard rates are written, and evaluation is judged by the simulator.

The classifier here is deliberately bad (threshold 0: it calls every frame a success), so
what is under test is the loop around it, deterministically: it declares at the end of the
warm-up of every episode, the judge vetoes while the cube is down, and nothing that a
wrong classifier says ends an episode in "success" unless the judge lets it stand.
"""

from __future__ import annotations

import pathlib
import sys

import jax

from silri_jax import sync_train
from silri_jax.reward.corrections import load_corrections
from silri_jax.reward.model import ModelSpec, RewardModel
from silri_jax.reward.model_file import header_of, save_classifier
from silri_jax.reward.preprocessing import Predicate, Preprocessing

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))
from test_sync_train_pixels import pixel_config


def always_success_model(folder: pathlib.Path) -> pathlib.Path:
    prep = Preprocessing(("front", "wrist"), {c: (32, 32, 3) for c in ("front", "wrist")}, 16)
    model = RewardModel(ModelSpec(num_spatial_features=2, latent_dim=4, hidden_dims=(4,)),
                        prep)
    params = model.init(jax.random.PRNGKey(0))
    header = header_of(model, temperature=1.0, threshold=0.0, consecutive=1,
                       predicate=Predicate.parse(""))
    return save_classifier(folder, params, header)


def test_training_on_the_learned_reward_with_the_simulated_judge(tmp_path) -> None:
    c = pixel_config(tmp_path)
    c.task.intervention = False  # only the judge watches: every correction is its own
    c.demos.num = 0
    c.agent.pretrain_steps = 0
    c.reward.loop.model = str(always_success_model(tmp_path / "clf"))
    c.reward.loop.consecutive = 1
    c.reward.loop.warmup_steps = 2
    c.reward.loop.confirm_window = 3
    c.reward.loop.judge = "simulated"
    c.reward.loop.judge_reaction_steps = 1
    c.runtime.eval_episodes = 1
    results = sync_train.train(c, quiet=True)
    run_dir = pathlib.Path(c.runtime.run_dir)
    corrections = load_corrections(run_dir / "reward_corrections")
    # every episode that ended before the 40 steps ran out vetoed at least once
    assert corrections, "the judge vetoed nothing"
    for ep in corrections:
        assert (ep.label_sources == 3).any()  # SOURCE_VETO
        vetoed = ep.label_sources == 3
        assert (ep.frame_labels[vetoed] == 0).all()
    assert any(p.name.startswith("events") for p in (run_dir / "tb_reward").iterdir())
    assert results["env_steps"] == 40
    # evaluation ran on the simulator's verdict, not on a classifier that says yes to all
    assert results["success_rate"] == 0.0
