"""One learner over two processes with two CPU devices each (``jax.distributed`` with gloo
CPU collectives, a local coordinator on a free port).

- 20 SiLRI trainer steps (pre-training, the beta steps that fall due, UTD-2 updates) on a
  seeded synthetic replay of the pick_cube state spec, process 0 drawing and broadcasting
  every batch, give the parameters of 1 process with 4 devices to float tolerance, and
  the follower's equal process 0's exactly; process 0's checkpoint of the state spread
  over both processes restores in a single process.
- ``python -m silri_jax.learner`` with ``--num_processes=2``: process 0 loads demos,
  trains, checkpoints and stops on SIGTERM; process 1 follows every update call and ends
  when process 0 does.

Every process runs in a subprocess: the device count is fixed when XLA starts.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from silri_jax.runtime import procs

ROOT = pathlib.Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "runtime" / "multihost_worker.py"
TIMEOUT_S = 600

needs_gloo = pytest.mark.skipif(
    not hasattr(jax.config, "jax_cpu_collectives_implementation"),
    reason="this jaxlib has no CPU cross-process collectives (gloo)")


def _env(devices: int) -> dict[str, str]:
    return dict(os.environ, JAX_PLATFORMS="cpu",
                XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}")


def _start(cmd: list[str], devices: int, log: pathlib.Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=ROOT, env=_env(devices), stdout=open(log, "w"),
                            stderr=subprocess.STDOUT)


def _group(n: int) -> list[str]:
    """The distributed flags of process ``i`` are ``_group(n) + [str(i)]``."""
    return [f"--coordinator_address=127.0.0.1:{procs.free_port()}", f"--num_processes={n}",
            "--process_id"]


def _wait_all(ps: dict[str, subprocess.Popen], logs: dict[str, pathlib.Path],
              timeout: float) -> None:
    deadline = time.monotonic() + timeout
    try:
        for p in ps.values():
            p.wait(max(deadline - time.monotonic(), 1))
    except subprocess.TimeoutExpired:
        for p in ps.values():
            procs.stop(p, timeout=5)
        raise AssertionError("timed out:\n" + "\n".join(
            f"== {k}\n{logs[k].read_text(errors='replace')[-2000:]}" for k in logs)) from None
    for name, p in ps.items():
        assert p.returncode == 0, f"{name} exited {p.returncode}:\n" + \
            logs[name].read_text(errors="replace")[-4000:]


def _json(log: pathlib.Path, key: str = "") -> dict:
    lines = [json.loads(x) for x in log.read_text(errors="replace").splitlines()
             if x.startswith("{")]
    lines = [x for x in lines if not key or x.get("event") == key]
    assert lines, log.read_text(errors="replace")[-3000:]
    return lines[-1]


@pytest.mark.slow
@needs_gloo
def test_two_processes_of_two_devices_equal_one_process_of_four(tmp_path):
    group = _group(2)
    logs = {k: tmp_path / f"{k}.log" for k in ("ref", "p0", "p1")}
    base = [sys.executable, str(WORKER), "--updates", "20"]
    ps = {"ref": _start([*base, f"--out={tmp_path / 'ref'}"], 4, logs["ref"])}
    for i in range(2):
        ps[f"p{i}"] = _start([*base, f"--out={tmp_path / 'mh'}",
                              f"--checkpoint={tmp_path / 'ckpt'}", *group, str(i)], 2,
                             logs[f"p{i}"])
    _wait_all(ps, logs, TIMEOUT_S)

    ref, p0, p1 = (_json(logs[k]) for k in ("ref", "p0", "p1"))
    assert (ref["devices"], ref["local_devices"]) == (4, 4)
    assert (p0["devices"], p0["local_devices"], p1["local_devices"]) == (4, 2, 2)
    assert p0["updates"] == ref["updates"] == 20
    assert p0["beta_steps"] == ref["beta_steps"] > 0  # the schedule's steps ran too
    assert p1["calls"] == p0["calls"] > 20  # the follower ran every call process 0 ran

    one, lead, follow = (np.load(tmp_path / f"{k}.npz") for k in ("ref.0", "mh.0", "mh.1"))
    assert sorted(lead.files) == sorted(one.files) == sorted(follow.files)
    assert int(lead["step"]) == 20 and int(lead["beta_updates"]) == int(one["beta_updates"])
    worst = 0.0
    for k in lead.files:
        np.testing.assert_array_equal(lead[k], follow[k], err_msg=k)  # one state, everywhere
        np.testing.assert_allclose(lead[k], one[k], rtol=1e-5, atol=1e-5, err_msg=k)
        worst = max(worst, float(np.max(np.abs(lead[k] - one[k]))))
    moved = max(float(np.max(np.abs(one[k]))) for k in one.files if "kernel" in k)
    assert moved > 0 and worst <= 1e-5, (worst, moved)

    # process 0's checkpoint of the spread state: host arrays, restored there and here
    assert p0["restored_equal"] and p0["restored_types"] == ["ndarray"]
    _restores_in_one_process(tmp_path / "ckpt", lead)


def _restores_in_one_process(directory: pathlib.Path, params: np.lib.npyio.NpzFile) -> None:
    from flax import traverse_util

    from silri_jax import specs
    from silri_jax.agents import make_agent
    from silri_jax.checkpoint import Checkpointer

    sys.path.insert(0, str(WORKER.parent))
    import multihost_worker

    spec = specs.state_env_spec(multihost_worker.STATE_DIM, multihost_worker.ACTION_DIM,
                                has_gripper=True)
    agent = make_agent(multihost_worker.agent_config(), spec, devices=jax.devices()[:1])
    with Checkpointer(directory) as ckpt:
        state, meta = ckpt.restore(agent.init(jax.random.PRNGKey(5)))
    assert meta == {"processes": 2}
    flat = traverse_util.flatten_dict(jax.device_get(state.params), sep="/")
    for k, v in flat.items():
        np.testing.assert_array_equal(np.asarray(v), params[k], err_msg=k)


def _learners(tmp_path: pathlib.Path, args: list[str], name: str, updates: int
              ) -> tuple[dict, dict, str]:
    """Starts process 0 and 1 of the learner, SIGTERMs process 0 once its history shows
    ``updates`` update calls, waits for both; (learner_done, follower_done, log 0)."""
    run_dir = tmp_path / "run"
    group = _group(2)
    logs = {f"p{i}": tmp_path / f"{name}-{i}.log" for i in range(2)}
    ps = {f"p{i}": _start([sys.executable, "-m", "silri_jax.learner", *args, *group, str(i)],
                          2, logs[f"p{i}"]) for i in range(2)}
    try:
        deadline = time.monotonic() + TIMEOUT_S
        history = run_dir / "history.jsonl"
        while time.monotonic() < deadline:
            rows = [json.loads(x) for x in history.read_text().splitlines()] \
                if history.exists() else []
            if rows and rows[-1]["updates"] >= updates:
                break
            for key, p in ps.items():
                assert p.poll() is None, f"{key} exited:\n{logs[key].read_text()[-4000:]}"
            time.sleep(0.5)
        else:
            raise AssertionError("no updates:\n" + logs["p0"].read_text()[-3000:])
        ps["p0"].send_signal(signal.SIGTERM)
        _wait_all(ps, logs, 300)
    finally:
        for p in ps.values():
            if p.poll() is None:
                procs.stop(p, timeout=5)
    assert _json(logs["p1"], "following")["devices"] == 4
    log0 = logs["p0"].read_text(errors="replace")
    assert '"event": "serving"' in log0 and "serving" not in logs["p1"].read_text()
    return _json(logs["p0"], "learner_done"), _json(logs["p1"], "follower_done"), log0


@pytest.mark.slow
@needs_gloo
def test_learner_follower_path_end_to_end(tmp_path, demos):
    """Process 0 trains on the demos alone (no actor, no pacing), checkpoints from its
    update thread and stops on SIGTERM; process 1 runs each update call and ends with it.
    Then both resume: process 0 restores its checkpoint and shares the state."""
    run_dir = tmp_path / "run"
    args = ["--config=tests/runtime/tiny_config.py", f"--config.demos.path={demos}",
            f"--config.runtime.run_dir={run_dir}",
            f"--config.runtime.address=127.0.0.1:{procs.free_port()}",
            "--config.agent.pretrain_steps=0", "--config.runtime.start_training_after=0",
            "--config.runtime.updates_per_env_step=0",
            "--config.runtime.checkpoint_every_updates=3", "--config.runtime.log_every_s=0.5"]
    done, followed, _ = _learners(tmp_path, args, "first", 4)
    assert done["updates"] >= 4 and done["checkpoints"] >= 2  # periodic, then the final
    assert followed["calls"] == {"update": done["updates"]}, (followed, done)
    assert followed["reason"] == "process 0 stopped"
    assert (run_dir / "policy.npz").exists()
    steps = sorted(int(p.name) for p in (run_dir / "checkpoints").iterdir() if p.name.isdigit())
    assert steps and steps[-1] == done["checkpoints"]

    again, followed, log0 = _learners(tmp_path, [*args, "--resume"], "resumed",
                                      done["updates"] + 2)
    assert f'"resumed_step": {steps[-1]}' in log0
    assert followed["calls"] == {"update": again["updates"] - done["updates"]}, (followed,
                                                                                 again)


SLURM_STEP = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "gpu[01-02]", "SLURM_NTASKS": "2",
              "SLURM_PROCID": "1", "SLURM_LOCALID": "0"}


def test_one_process_starts_nothing():
    """No flags outside a multi-process launch, or --num_processes=1: nothing starts (the
    learner then builds its agent on this process's devices, with no batch hook)."""
    from silri_jax import distributed

    assert distributed.initialize() == distributed.ProcessInfo(0, 1)
    assert distributed.initialize(num_processes=1) == distributed.ProcessInfo(0, 1)
    assert not jax.distributed.is_initialized()
    with pytest.raises(ValueError, match="--process_id=2: must be in"):
        distributed.initialize(num_processes=2, process_id=2)
    with pytest.raises(ValueError, match="--num_processes=0"):
        distributed.initialize(num_processes=0)


def test_launcher_environments_jax_reads():
    from silri_jax import distributed

    assert distributed.launcher_processes({}) == 1
    assert distributed.launcher_processes(SLURM_STEP) == 2
    # an salloc shell (no job step: no SLURM_PROCID / SLURM_STEP_NODELIST) is one process
    shell = {k: v for k, v in SLURM_STEP.items() if k not in ("SLURM_PROCID",
                                                               "SLURM_STEP_NODELIST")}
    assert distributed.launcher_processes(shell) == 1
    assert distributed.launcher_processes({"OMPI_MCA_orte_hnp_uri": "x",
                                           "OMPI_COMM_WORLD_SIZE": "3"}) == 3
