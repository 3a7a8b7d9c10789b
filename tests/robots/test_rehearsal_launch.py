"""The rehearsal of a real session, end to end through the processes: the launcher's
learner and actor on ``--config.robot=sim_franka`` and on ``sim_ur`` (the robot env on the
bridge's MuJoCo backend, two MuJoCo-rendered cameras through the camera rig, the
simulated gripper on its worker, the simulated operator at the controls), then the saved
policy's evaluation as the last line. This is how CI exercises the real-robot path.

Checked: the run ends with ``final_eval``; every step the actor took reached the
learner; the operator intervened; the stored observations are the robot env's keys
(proprioception and both cameras, no simulator state).
"""

from __future__ import annotations

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "runtime"))
from helpers import ROOT, latest_replay

STEPS = 48
CONFIG = "--config=tests/robots/tiny_rehearsal_config.py"


@pytest.mark.parametrize("robot", ["sim_franka", "sim_ur"])
def test_the_rehearsal_trains_and_ends_with_its_evaluation_line(tmp_path, robot):
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "silri_jax.launch", CONFIG, "--num_actors=1",
         f"--config.robot={robot}",
         f"--config.runtime.run_dir={run_dir}", "--config.runtime.address=127.0.0.1:0",
         f"--config.runtime.env_steps={STEPS}"],
        cwd=ROOT, capture_output=True, text=True, timeout=900)
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    final = json.loads(lines[-1])
    assert final["event"] == "final_eval", lines[-5:]
    assert final["env_steps"] == STEPS and final["updates"] > 0, final
    assert final["intervention_rate"] > 0, final
    assert 0.0 <= final["success_rate"] <= 1.0 and final["eval_episodes"] == 1

    d_r, d_i, _ = latest_replay(run_dir)
    assert len(d_r) == STEPS and len(d_i) > 0
    batch = d_r.get(np.arange(STEPS))
    assert set(batch["observations"]) == {"tcp_pose", "tcp_vel", "gripper", "images/front",
                                          "images/wrist"}
    front = np.asarray(batch["observations"]["images/front"])
    assert front.dtype == np.uint8 and front.shape == (STEPS, 64, 64, 3)
    assert front.std() > 1.0  # rendered pictures, not blank frames
