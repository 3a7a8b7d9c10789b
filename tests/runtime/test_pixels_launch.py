"""``configs/train.py:silri_pick_cube_pixels`` end to end through the processes: the
launcher's learner and actor with camera observations (32x32 here), then the saved
policy's evaluation as the last line.

Checked: the stored transitions have the pixel spec's shapes and dtypes, every step the
actor took is in D_R once, the first stored frame is the one the env renders for that
episode's reset seed (the images arrived intact, up to the replay's lossy frame codec),
update calls happened, newer parameters reached the actor, and the run ends with the
``final_eval`` JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from helpers import ROOT, latest_replay

STEPS = 48
CONFIG = "--config=tests/runtime/tiny_pixels_config.py"


def test_pixel_run_through_learner_and_actor(tmp_path):
    run_dir = tmp_path / "run"
    out = subprocess.run(
        [sys.executable, "-m", "silri_jax.launch", CONFIG, "--num_actors=1",
         f"--config.runtime.run_dir={run_dir}", "--config.runtime.address=127.0.0.1:0",
         f"--config.runtime.env_steps={STEPS}"],
        cwd=ROOT, capture_output=True, text=True, timeout=400)
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    final = json.loads(lines[-1])
    assert final["event"] == "final_eval", lines[-5:]
    assert final["env_steps"] == STEPS and final["updates"] > 0, final
    assert 0.0 <= final["success_rate"] <= 1.0 and final["eval_episodes"] == 1

    actor_log = (run_dir / "logs" / "actor-0.log").read_text()
    done = [json.loads(x) for x in actor_log.splitlines() if '"event": "actor_done"' in x][-1]
    assert done["steps"] == STEPS and done["flushed"], done
    learner_log = (run_dir / "logs" / "learner.log").read_text()
    started = [x for x in learner_log.splitlines() if "training from" in x]
    assert done["param_swaps"] > 0, ("no parameters newer than the first reached the actor",
                                     done, started)

    import tiny_pixels_config

    from silri_jax import envs
    from silri_jax.actor import SEED_STRIDE
    from silri_jax.training import build

    cfg = tiny_pixels_config.get_config()
    env = build.make_env(cfg)  # the actor's env, without an operator
    spec = envs.env_spec(env)
    images = [k for k, s in spec.observation.entries.items() if s.dtype == "uint8"]
    assert images, spec

    d_r, _, _ = latest_replay(run_dir)
    assert len(d_r) == STEPS
    eids, steps = d_r.episode_info(np.arange(STEPS))
    assert len(set(zip(eids.tolist(), steps.tolist(), strict=True))) == STEPS
    batch = d_r.get(np.arange(STEPS))
    for group in ("observations", "next_observations"):
        for k, s in spec.observation.entries.items():
            arr = np.asarray(batch[group][k])
            assert arr.shape == (STEPS, *s.shape) and arr.dtype == np.dtype(s.dtype), (
                group, k, arr.shape, arr.dtype)
    for k in images:
        assert tuple(spec.observation.entries[k].shape) == (32, 32, 3)

    # The first stored transition is step 0 of the actor's first episode, reset with the
    # actor's seed: rendering that reset here must give the same frames and state.
    first = int(np.flatnonzero(steps == 0)[0])
    obs, _ = env.reset(seed=SEED_STRIDE * 1 + int(cfg.seed) * 100_000)
    for k, s in spec.observation.entries.items():
        got = np.asarray(batch["observations"][k][first])
        if s.dtype == "uint8":
            diff = np.abs(got.astype(np.int16) - np.asarray(obs[k]).astype(np.int16))
            assert diff.mean() < 4.0, (k, diff.mean())  # yuv420 in the replay is lossy
            assert got.std() > 1.0, k  # a real picture, not a blank frame
        else:
            np.testing.assert_allclose(got, obs[k], rtol=1e-5, atol=1e-5, err_msg=k)
