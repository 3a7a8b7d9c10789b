"""A checkpoint the learner cannot resume is refused by its cause: a changed checkpoint
format, the agent and task fields that differ (named, with both values), or, when none
differ, a config schema from another silri_jax; the metadata is read without the state."""

from __future__ import annotations

import json

import jax.numpy as jnp
import pytest
from tiny_config import get_config

from silri_jax import learner
from silri_jax.checkpoint import Checkpointer, CheckpointNotFoundError
from silri_jax.runtime import resume
from silri_jax.training import build


def _meta(config, **changes):
    meta = {"format_version": learner.FORMAT_VERSION, "step": 3,
            "config_hash": build.config_hash(config), "config": json.loads(config.to_json())}
    meta.update(changes)
    return meta


def test_the_same_config_resumes():
    c = get_config()
    assert resume.refusal(3, _meta(c), learner.FORMAT_VERSION, build.config_hash(c),
                          json.loads(c.to_json())) is None


def test_changed_fields_are_named_with_both_values():
    old = get_config()
    new = get_config()
    new.agent.batch_size = 2 * int(old.agent.batch_size)
    why = resume.refusal(3, _meta(old), learner.FORMAT_VERSION, build.config_hash(new),
                         json.loads(new.to_json()))
    assert why.startswith("checkpoint 3 was written under config hash")
    assert (f"agent.batch_size: {old.agent.batch_size} (checkpoint) vs "
            f"{new.agent.batch_size} (now)") in why
    assert "task." not in why  # only what differs


def test_a_runtime_only_change_is_not_a_config_change():
    old = get_config()
    new = get_config()
    new.runtime.checkpoint_every_updates = 123  # not part of the hash: resumes
    assert resume.refusal(3, _meta(old), learner.FORMAT_VERSION, build.config_hash(new),
                          json.loads(new.to_json())) is None


def test_same_fields_under_another_hash_blame_the_schema_not_the_user():
    c = get_config()
    why = resume.refusal(3, _meta(c, config_hash="0123456789abcdef"), learner.FORMAT_VERSION,
                         build.config_hash(c), json.loads(c.to_json()))
    assert "every agent and task field is the same" in why
    assert "config schema differed" in why and "differ (" not in why


def test_another_format_and_a_checkpoint_without_its_config():
    c = get_config()
    h, cfg = build.config_hash(c), json.loads(c.to_json())
    why = resume.refusal(5, _meta(c, format_version=0), learner.FORMAT_VERSION, h, cfg)
    assert why.startswith(f"checkpoint 5 has checkpoint format 0, this silri_jax reads "
                          f"format {learner.FORMAT_VERSION}")
    meta = _meta(c, config_hash="0123456789abcdef")
    del meta["config"]
    assert "does not record its config" in resume.refusal(3, meta, learner.FORMAT_VERSION,
                                                          h, cfg)


def test_the_metadata_is_read_without_the_state(tmp_path):
    with Checkpointer(tmp_path / "ckpt", async_save=False) as ckpt:
        with pytest.raises(CheckpointNotFoundError):
            ckpt.read_metadata()
        for step in (1, 2):
            ckpt.save(step, {"w": jnp.full((3,), float(step))},
                      metadata={"step": step, "config_hash": f"h{step}"})
        assert ckpt.read_metadata() == (2, {"step": 2, "config_hash": "h2"})
        assert ckpt.read_metadata(1) == (1, {"step": 1, "config_hash": "h1"})
        with pytest.raises(CheckpointNotFoundError, match="available steps"):
            ckpt.read_metadata(7)
