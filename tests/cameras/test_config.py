"""Every camera config field is documented where it is set (the --help text)."""

from __future__ import annotations

from silri_jax import cli
from silri_jax.cameras.config import CONFIG_FILE, camera_config


def test_every_field_has_a_comment_with_its_default():
    docs = cli.field_docs(CONFIG_FILE)
    for field in camera_config():
        doc = docs.get(("_camera", field), "")
        assert doc, f"camera config field {field!r} has no comment above it"
        assert "Default" in doc, f"camera config field {field!r}: doc names no default"


def test_defaults():
    c = camera_config()
    assert c.backend == "opencv" and c.crop == () and c.exposure == -1.0
    assert c.max_age_s > 0 and c.size == 128
