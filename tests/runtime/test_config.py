"""configs/train.py: every variant builds, flags override fields, an unknown key is an
error naming it, and the processes refuse a bad value with the field's name."""

from __future__ import annotations

import subprocess
import sys

import pytest
from helpers import ROOT

sys.path.insert(0, str(ROOT))

from silri_jax import config_files


def _load(variant: str):
    mod = config_files.load_module(config_files.CONFIG_DIR / "train.py")
    return mod, mod.get_config(variant)


def test_every_variant_builds_with_its_sections():
    mod, _ = _load("silri_pick_cube_state")
    for v in mod.VARIANTS:
        c = mod.get_config(v)
        assert {"agent", "task", "demos", "runtime"} <= set(c.keys())
        assert v.startswith(c.agent.algo) and c.task.name in v
    assert mod.get_config("silri_pick_cube_pixels").task.obs_mode == "pixels"
    with pytest.raises(ValueError, match="unknown config variant 'nope'"):
        mod.get_config("nope")


def _flags(*args: str) -> subprocess.CompletedProcess:
    code = (
        "import sys\n"
        "from absl import flags\n"
        "from ml_collections import config_flags\n"
        "C = config_flags.DEFINE_config_file('config')\n"
        "flags.FLAGS(sys.argv)\n"
        "print(C.value.agent.batch_size, C.value.task.name)\n"
    )
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_flags_override_and_unknown_keys_are_named():
    ok = _flags("--config=configs/train.py:silri_insert_peg_state",
                "--config.agent.batch_size=64")
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.split() == ["64", "insert_peg"]
    bad = _flags("--config=configs/train.py:silri_pick_cube_state",
                 "--config.agent.batchsize=64")
    assert bad.returncode != 0
    assert "batchsize" in bad.stderr, bad.stderr[-2000:]


def test_learner_refuses_a_bad_value_naming_the_field(tmp_path):
    out = subprocess.run(
        [sys.executable, "-m", "silri_jax.learner", "--config=configs/train.py",
         f"--config.runtime.run_dir={tmp_path}", "--config.runtime.replay_capacity=0"],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode != 0
    assert "config.runtime.replay_capacity must be positive" in out.stderr, out.stderr[-2000:]


def test_pick_cube_defaults_match_the_synchronous_loop():
    """One schema: the synchronous loop's config is the main job's, but for its budget and
    output folder (so it learns like the main job: same sizes, demos, operator, ratio)."""
    s = config_files.sync_train_config()
    _, c = _load("silri_pick_cube_state")

    def flat(d, prefix=""):
        out = {}
        for k, v in d.items():
            out.update(flat(v, f"{prefix}{k}.") if isinstance(v, dict) and v
                       else {f"{prefix}{k}": v})
        return out

    a, b = flat(c.to_dict()), flat(s.to_dict())
    assert set(a) == set(b)
    assert {k for k in a if a[k] != b[k]} == {"runtime.env_steps", "runtime.run_dir"}


@pytest.mark.parametrize("field,value,message", [
    ("updates_per_env_step", "-1", "updates_per_env_step must be a finite number >= 0"),
    ("pacing_slack_steps", "0", "pacing_slack_steps must be >= 1"),
    ("pacing_timeout_s", "0", "pacing_timeout_s must be positive"),
])
def test_bad_pacing_values_are_refused_naming_the_field(field, value, message):
    from silri_jax.training import build

    _, c = _load("silri_pick_cube_state")
    c.runtime[field] = type(c.runtime[field])(value)
    with pytest.raises(ValueError, match=f"config.runtime.{message}"):
        build.validate(c)
