"""Every entry point's command line: ``--help`` lists every config field with its default
and a doc and exits 0 from any folder; a config mistake is one line naming the field, the
value and the rule, with no traceback and exit code 2."""

from __future__ import annotations

import subprocess
import sys

import pytest

ENTRY_POINTS = ("learner", "actor", "launch", "sync_train")


def _run(tmp_path, module: str, *args: str) -> subprocess.CompletedProcess:
    # From a folder outside the repository: the defaults must resolve anyway.
    return subprocess.run([sys.executable, "-m", f"silri_jax.{module}", *args],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("module", ENTRY_POINTS)
def test_help_lists_every_field_with_a_doc(tmp_path, module):
    out = _run(tmp_path, module, "--help")
    assert out.returncode == 0, out.stderr[-2000:]
    text = out.stdout
    assert "(undocumented)" not in text, [
        line for i, line in enumerate(text.splitlines())
        if "(undocumented)" in text.splitlines()[min(i + 1, len(text.splitlines()) - 1)]]
    assert all(len(line) <= 80 for line in text.splitlines()), \
        [line for line in text.splitlines() if len(line) > 80]
    # one schema under every entry point: sync_train differs only in its budget
    budget = "12000" if module == "sync_train" else "0"
    fields = (f"--config.runtime.env_steps={budget}",
              "--config.agent.overrides.lagrange_lr=3e-06")
    for f in fields:
        assert f in text, f
    if module == "actor":
        assert "--actor_id=0" in text and "--eval_operator=False" in text


@pytest.mark.parametrize(("module", "args", "expected"), [
    ("learner", ["--config.nonexistent_key=1"], "--config.nonexistent_key: no such config"),
    ("learner", ["--config.agent.batchsize=64"], "did you mean 'batch_size'"),
    ("launch", ["--config=configs/nope.py"], "no such config file"),
    ("learner", ["--config=configs/train.py:nope"], "unknown config variant 'nope'"),
    ("actor", ["--config.agent.batch_size=abc"], "--config.agent.batch_size=abc"),
    ("learner", ["--config.agent.overrides.actor_lr=inf"],
     "config.agent.overrides.actor_lr=inf: must be a finite learning rate > 0"),
    ("sync_train", ["--config.agent.overrides.critic_lr=-0.001"],
     "config.agent.overrides.critic_lr=-0.001: must be a finite learning rate > 0"),
    ("sync_train", ["--config.agent.overrides.lagrange_lr=nan"], "lagrange_lr=nan"),
    ("sync_train", ["--config.agent.batch_size=0"], "config.agent.batch_size=0"),
    ("sync_train", ["--config.runtime.updates_per_env_step=1.5"],
     "sync_train runs a whole number of update calls per env step"),
    ("launch", ["--config.runtime.control_hz=-1"], "config.runtime.control_hz=-1"),
    ("launch", ["--config.runtime.push_period_s=0"], "push_period_s must be positive"),
    ("sync_train", ["--config.agent.algo=sac", "--config.agent.overrides.kappa=2.0"],
     "the sac agent config has no field 'kappa'"),
    ("learner", ["--config.task.operator_profile=godlike"], "operator_profile='godlike'"),
    ("learner", ["--config.demos.path=/no/such/demos.npz"], "config.demos.path="),
])
def test_config_mistakes_are_one_line_and_exit_2(tmp_path, module, args, expected):
    out = _run(tmp_path, module, *args)
    assert out.returncode == 2, (out.returncode, out.stderr[-3000:])
    assert "Traceback" not in out.stderr, out.stderr[-3000:]
    lines = [x for x in out.stderr.splitlines() if x.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith(f"silri_jax.{module}: config error: ")
    assert expected in lines[0], lines[0]
