"""The learner's stop when its update thread hangs: it gives the thread a bounded time,
then ends with an error naming the cause and writes no final checkpoint or policy (the
state could be mid-update), leaving the last checkpoint and the write-ahead log."""

from __future__ import annotations

import threading

import tiny_config

from silri_jax import learner as learner_mod


def test_a_hung_update_thread_means_an_error_and_no_torn_checkpoint(tmp_path, demos,
                                                                    monkeypatch, capfd):
    cfg = tiny_config.get_config()
    cfg.demos.path = demos
    cfg.runtime.run_dir = str(tmp_path / "run")
    cfg.runtime.address = "127.0.0.1:0"
    cfg.agent.pretrain_steps = 0
    monkeypatch.setattr(learner_mod, "UPDATE_JOIN_TIMEOUT_S", 1.0)
    learner = learner_mod.Learner(cfg)
    release, entered = threading.Event(), threading.Event()

    def hang() -> None:  # the update thread's first call never returns until released
        entered.set()
        release.wait()

    learner._beta_steps = hang
    outcome: dict = {}

    def run() -> None:
        try:
            learner.run()
        except BaseException as e:  # checked below
            outcome["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    try:
        assert entered.wait(120), "the update thread never started"
        learner.stop(reason="SIGTERM")
        t.join(60)
        assert not t.is_alive(), "run() did not return"
    finally:
        release.set()
    err = outcome.get("error")
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, TimeoutError), err
    assert "did not stop within" in str(err.__cause__)
    ckpts = learner.paths["checkpoints"]
    assert not ckpts.exists() or not any(ckpts.iterdir()), \
        "no checkpoint of a state that may be mid-update"
    assert not learner.paths["policy"].exists()
    out = capfd.readouterr()
    assert "SIGTERM: checkpointing and stopping" in out.out
    assert "hang" in out.err  # the stacks name the function the update thread is stuck in
