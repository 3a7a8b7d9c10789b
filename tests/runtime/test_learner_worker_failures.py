"""Each worker of the learner, poisoned in turn, ends the learner with an error naming the
worker and the cause, and ``Health`` (``server.stopped()``) names it too: a thread never
dies silently while the process logs on. (The ingest thread's own cases are in
``tests/transport/test_sessions.py``; a hung update thread in ``test_learner_stop.py``.)

- update: an update call that raises. No final checkpoint (the state may be mid-update).
- checkpoint: a periodic save that raises, from the update thread.
- push: a parameter publish that raises in the main thread. The state is intact, so the
  final checkpoint and the policy are still written.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest
import tiny_config

from silri_jax import learner as learner_mod

pytestmark = pytest.mark.timeout(300)


class Poison(RuntimeError):
    pass


def _learner(tmp_path, demos) -> learner_mod.Learner:
    cfg = tiny_config.get_config()
    cfg.demos.path = demos
    cfg.runtime.run_dir = str(tmp_path / "run")
    cfg.runtime.address = "127.0.0.1:0"
    cfg.agent.pretrain_steps = 0
    cfg.runtime.start_training_after = 0
    cfg.runtime.updates_per_env_step = 0.0  # trains on the demos alone, no actor needed
    cfg.runtime.checkpoint_every_updates = 3
    cfg.runtime.push_period_s = 0.05
    cfg.runtime.log_every_s = 0.2
    return learner_mod.Learner(cfg)


def _run(learner: learner_mod.Learner) -> BaseException | None:
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            learner.run()
        except BaseException as e:  # checked by the caller
            outcome["error"] = e

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(240)
    if t.is_alive():
        learner.stop(reason="test timeout")
        t.join(60)
        raise AssertionError("the learner did not stop on its own after the poisoning")
    return outcome.get("error")


def _after(n: int, real: Any, what: str) -> Any:
    """``real`` for the first ``n`` calls, then a ``Poison`` naming ``what``."""
    calls = {"n": 0}

    def poisoned(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] > n:
            raise Poison(f"poisoned {what}")
        return real(*args, **kwargs)

    return poisoned


def test_a_failing_update_stops_the_learner_naming_it(tmp_path, demos, capfd):
    learner = _learner(tmp_path, demos)
    learner.trainer.update = _after(2, learner.trainer.update, "update call")
    err = _run(learner)
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, Poison), err
    assert "the learner's update (update thread) stopped: Poison: poisoned update call" \
        in str(err)
    assert learner.server.stopped() == {"update": "Poison: poisoned update call"}
    assert "the learner's update (update thread) stopped" in capfd.readouterr().out
    assert not learner.paths["policy"].exists()  # no save of a possibly torn state


def test_a_failing_checkpoint_stops_the_learner_naming_it(tmp_path, demos):
    learner = _learner(tmp_path, demos)
    learner.ckpt.save = _after(0, learner.ckpt.save, "checkpoint save")
    err = _run(learner)
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, Poison), err
    assert "the learner's checkpoint (update thread) stopped: Poison: poisoned checkpoint " \
        "save" in str(err)
    assert set(learner.server.stopped()) == {"checkpoint"}
    assert learner.counts["updates"] == 3  # it failed at the first periodic save


def test_a_failing_push_stops_the_learner_and_keeps_the_state(tmp_path, demos):
    learner = _learner(tmp_path, demos)
    # serve() publishes the initial parameters (call 1); the first trained ones fail
    learner._publish = _after(1, learner._publish, "params publish")
    err = _run(learner)
    assert isinstance(err, RuntimeError) and isinstance(err.__cause__, Poison), err
    assert "the learner's push (main thread) stopped: Poison: poisoned params publish" \
        in str(err)
    assert set(learner.server.stopped()) == {"push"}
    assert learner.paths["policy"].exists()  # the state was intact: saved as usual
    ckpts = [p for p in learner.paths["checkpoints"].iterdir() if p.name.isdigit()]
    assert ckpts, "the final checkpoint is written"
