"""Every camera config field is documented where it is set (the --help text)."""

from __future__ import annotations

import pytest

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


# ml_collections loads config files with the importlib API Python 3.12 removes
@pytest.mark.filterwarnings("ignore:the load_module:DeprecationWarning")
def test_printed_crop_line_overrides_a_config(tmp_path, monkeypatch):
    """The line ``crop`` prints is a valid --config override (the empty-tuple default)."""
    from absl import flags
    from ml_collections import config_flags

    path = tmp_path / "robot.py"
    path.write_text("import ml_collections\n"
                    "from silri_jax.cameras import camera_config, cameras_section\n"
                    "def get_config():\n"
                    "    c = ml_collections.ConfigDict()\n"
                    "    c.cameras = cameras_section(front=camera_config())\n"
                    "    return c\n")
    argv = ["prog", f"--config={path}", "--config.cameras.front.crop=0,80,480,480"]
    monkeypatch.setattr("sys.argv", argv)
    values = flags.FlagValues()
    holder = config_flags.DEFINE_config_file("config", str(path), flag_values=values)
    values(argv)
    assert holder.value.cameras.front.crop == (0, 80, 480, 480)
