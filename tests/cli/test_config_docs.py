"""The config docs ``--help`` shows come from the comment above each field, once; the
agent override sections carry one algorithm's defaults and apply only what changed."""

from __future__ import annotations

import pytest

from silri_jax import cli, config_files
from silri_jax.agents import config as agent_config


def test_field_docs_reads_comments_above_and_beside_assignments(tmp_path):
    f = tmp_path / "c.py"
    f.write_text(
        "def _runtime():\n"
        "    r = X()\n"
        "    # first line of the doc\n"
        "    # second line\n"
        "    r.alpha = 1\n"
        "    r.beta = 2  # beside it\n"
        "    r.gamma = 3\n"
        "    return {\n"
        "        # a dict key\n"
        "        \"delta\": 4,\n"
        "    }\n"
        "def get_config():\n"
        "    # top\n"
        "    c.alpha = 0\n")
    docs = cli.field_docs(f)
    assert docs[("_runtime", "alpha")] == "first line of the doc second line"
    assert docs[("_runtime", "beta")] == "beside it"
    assert ("_runtime", "gamma") not in docs
    assert docs[("_runtime", "delta")] == "a dict key"
    assert docs[("get_config", "alpha")] == "top"


@pytest.mark.parametrize("variant", config_files.load_module(
    config_files.CONFIG_DIR / "train.py").VARIANTS)
def test_every_field_of_every_variant_is_documented(variant):
    config = config_files.train_config(variant)
    rows = cli.config_field_docs(config, str(config_files.CONFIG_DIR / "train.py"))
    missing = [name for name, _, doc in rows if not doc]
    assert not missing, missing
    assert any(name == "config.agent.overrides.kappa" for name, _, _ in rows) == \
        (config.agent.algo == "silri")


def test_sync_train_fields_are_documented():
    rows = cli.config_field_docs(config_files.sync_train_config(),
                                 str(config_files.CONFIG_DIR / "sync_train.py"))
    assert not [name for name, _, doc in rows if not doc]


def test_override_section_applies_only_what_changed_to_another_algorithm():
    section = agent_config.override_section("silri")
    assert "batch_size" not in section and "hidden_dims" not in section.network
    section.actor_lr = 1e-3
    sac = agent_config.apply_overrides(agent_config.get_config("sac"), section)
    # silri's grad_clip 40 is its default, not a change: sac keeps its own (None)
    assert sac.actor_lr == 1e-3 and sac.grad_clip is None
    section.kappa = 2.0  # a silri-only field, changed: refused for sac by name
    with pytest.raises(ValueError, match="no field 'kappa'"):
        agent_config.apply_overrides(agent_config.get_config("sac"), section, "x.")
    # a plain dict (no name) is taken as changes of the target algorithm
    silri = agent_config.apply_overrides(agent_config.get_config("silri"), {"discount": 0.9})
    assert silri.discount == 0.9


@pytest.mark.parametrize(("field", "value", "message"), [
    ("actor_lr", float("inf"), "actor_lr=inf: must be a finite learning rate > 0"),
    ("critic_lr", 0.0, "critic_lr=0.0: must be a finite learning rate > 0"),
    ("discount", 1.5, "discount=1.5: must be in (0, 1]"),
    ("tau", float("nan"), "tau=nan: must be a finite number"),
    ("batch_size", 0, "batch_size=0: must be an integer >= 1"),
    ("grad_clip", -1.0, "grad_clip=-1.0"),
    ("uncertainty", "stdev", "uncertainty='stdev': must be one of ['std', 'variance']"),
    ("distance", "l1", "distance='l1': must be one of ['squared', 'l2']"),
])
def test_agent_validation_names_field_value_and_rule(field, value, message):
    cfg = agent_config.get_config("silri")
    cfg[field] = value
    with pytest.raises(ValueError) as e:
        agent_config.validate(cfg, "config.agent.overrides.")
    assert message in str(e.value)
    agent_config.validate(agent_config.get_config("silri"))  # the defaults pass
