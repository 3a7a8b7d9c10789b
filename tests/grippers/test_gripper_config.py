"""The ``gripper`` config section: every field documented for --help, errors naming the
field, and make_gripper's kinds and injection points."""

from __future__ import annotations

import pytest
from gripper_fakes import wait_until

from silri_jax import cli
from silri_jax.grippers import GripperWorker, gripper_config, make_gripper
from silri_jax.grippers.config import CONFIG_FILE, KINDS
from silri_jax.specs import GRIPPER_CLOSE


def test_every_field_has_a_help_comment():
    docs = cli.field_docs(CONFIG_FILE)
    missing = [f for f in gripper_config() if ("_gripper", f) not in docs]
    assert not missing, missing
    # each comment states the default too, so the config file reads on its own
    undocumented_default = [f for f in gripper_config() if "default" not in docs[("_gripper", f)]]
    assert not undocumented_default, undocumented_default
    assert "franka_hand" in docs[("_gripper", "kind")]
    assert "63352" in docs[("_gripper", "port")]


def test_defaults():
    cfg = gripper_config()
    assert cfg.kind == "none" and cfg.port == 63352 and cfg.slave_id == 9
    assert cfg.refractory_s == 0.3
    assert set(KINDS) == {"franka_hand", "robotiq_socket", "robotiq_rtu", "sim", "none"}


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("kind", "robotiq", "gripper.kind='robotiq' is not one of"),
    ("refractory_s", -1.0, "gripper.refractory_s=-1.0 must be >= 0"),
    ("poll_s", 0.0, "gripper.poll_s=0.0 must be > 0"),
    ("model", "3f", "gripper.model='3f' is not one of"),
])
def test_config_errors_name_the_field(field, value, needle):
    cfg = gripper_config()
    cfg.update(kind="robotiq_rtu")
    cfg[field] = value
    with pytest.raises(ValueError, match=None) as e:
        make_gripper(cfg, serial_factory=lambda *a: None)
    assert needle in str(e.value)


def test_none_kind_is_a_worker_that_does_nothing():
    with make_gripper(gripper_config()) as gripper:
        assert isinstance(gripper, GripperWorker)
        gripper.command(GRIPPER_CLOSE)
        assert wait_until(lambda: gripper.state().command == GRIPPER_CLOSE)
        state = gripper.state()
        assert state.fault == "" and not state.grasped


def test_unexpected_injection_is_a_type_error():
    with pytest.raises(TypeError, match="unexpected arguments \\['serial_factory'\\]"):
        make_gripper(gripper_config(), serial_factory=None)
    cfg = gripper_config()
    cfg.kind = "sim"
    with pytest.raises(TypeError, match="env="):
        make_gripper(cfg)
