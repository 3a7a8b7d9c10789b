"""Faults with real processes: a learner SIGKILLed (during a checkpoint save when one can
be caught) and resumed, and an actor SIGKILLed then restarted.

The actors are paced (``runtime.updates_per_env_step``), so the survivor also waits on a
learner that is gone and then resumed. Checked: the newest committed checkpoint loads
after the kill; the resumed learner
continues from the checkpointed update count; the surviving actor never stops and every
transition it produced is in the final replay exactly once (the write-ahead log covers
what was acked after the last checkpoint, sequence numbers what was not acked); the
killed actor's stored transitions are unique, and the restarted one continues its
numbering, loses nothing and takes only the rest of the id's share of the budget.
"""

from __future__ import annotations

import collections
import re
import signal
import time

import pytest
from helpers import Run, latest_replay, replay_rows

PER_ACTOR = 2500


def _saving(run_dir) -> bool:
    ck = run_dir / "checkpoints"
    return ck.exists() and any("tmp" in p.name for p in ck.iterdir())


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, demos: str):
    tmp = tmp_path_factory.mktemp("faults")
    r = Run(tmp, demos, **{"runtime.env_steps": 2 * PER_ACTOR, "runtime.num_actors": 2,
                           "runtime.start_training_after": 0, "runtime.control_hz": 150,
                           "runtime.checkpoint_every_updates": 40,
                           # paced (the survivor waits through the learner's kill and resume),
                           # at a low ratio: a checkpoint every 40 updates makes updates slow
                           "runtime.updates_per_env_step": 0.25})
    facts: dict = {}
    try:
        learner = r.learner()
        r.wait_log("learner.log", r'"event": "serving"', 120, learner)
        r.wait_updates("learner.log", 1, 120, learner)
        a0, a1 = r.actor(0), r.actor(1)
        r.wait_log("actor-1.log", r"actor-1 ep 20 ", 60, a1)
        a1.kill()  # SIGKILL an actor: the learner and actor 0 go on
        a1.wait()
        facts["updates_after_actor_kill"] = r.updates()
        r.wait_updates("learner.log", facts["updates_after_actor_kill"] + 40, 60, learner)
        deadline = time.monotonic() + 5
        while not _saving(r.run_dir) and time.monotonic() < deadline:
            time.sleep(0.002)
        facts["killed_mid_save"] = _saving(r.run_dir)
        learner.kill()  # SIGKILL the learner
        learner.wait()
        facts["a0_alive_after_learner_kill"] = a0.poll() is None
        _, _, meta = latest_replay(r.run_dir)  # the newest committed checkpoint loads
        facts["ckpt_updates"] = int(meta["counts"]["updates"])
        time.sleep(1.0)  # actor 0 keeps stepping into its outbox meanwhile
        learner2 = r.learner("--resume", log="learner2.log")
        r.wait_log("learner2.log", r'"event": "serving"', 120, learner2)
        a1b = r.actor(1, f"--trace={tmp / 'trace-1b.jsonl'}")
        a0.wait(150)
        a1b.wait(150)
        learner2.send_signal(signal.SIGTERM)
        learner2.wait(120)
        # the same run resumed under a changed agent field is refused, naming the field
        learner3 = r.learner("--resume", "--config.agent.batch_size=48", log="learner3.log")
        facts["changed_config_rc"] = learner3.wait(120)
        yield r, facts, (a0, a1b, learner2)
    finally:
        r.cleanup()


def test_checkpoint_survives_the_kill_and_learning_resumes(run):
    r, facts, (_, _, learner2) = run
    assert learner2.returncode == 0, r.log("learner2.log")[-3000:]
    m = re.search(r"resumed step \d+: .* updates (\d+)", r.log("learner2.log"))
    assert m, r.log("learner2.log")[-2000:]
    assert int(m.group(1)) == facts["ckpt_updates"]
    done = r.json_lines("learner2.log", "learner_done")[-1]
    assert done["updates"] > facts["ckpt_updates"], done
    print("killed during a checkpoint save:", facts["killed_mid_save"])


def test_a_changed_config_is_refused_naming_the_field(run):
    r, facts, _ = run
    log = r.log("learner3.log")
    assert facts["changed_config_rc"] != 0, log[-2000:]
    assert "refusing to resume: checkpoint" in log, log[-2000:]
    assert "agent.batch_size:" in log and "48 (now)" in log, log[-2000:]
    assert "Traceback" not in log, log[-2000:]


def test_surviving_actor_went_on_and_lost_nothing(run):
    r, facts, (a0, _, _) = run
    assert facts["a0_alive_after_learner_kill"]
    assert a0.returncode == 0, r.log("actor-0.log")[-3000:]
    assert r.json_lines("actor-0.log", "actor_done")[-1]["steps"] == PER_ACTOR
    d_r, _, _ = latest_replay(r.run_dir)
    stored = collections.Counter(replay_rows(d_r))
    produced = [(t["episode_id"], t["step"], t["is_intervention"]) for t in r.trace(0)]
    assert len(produced) == PER_ACTOR
    assert all(stored[p] == 1 for p in produced), [p for p in produced if stored[p] != 1][:5]


def test_killed_actor_restarts_without_duplicates(run):
    r, _, (_, a1b, _) = run
    assert a1b.returncode == 0, r.log("actor-1.log")[-3000:]
    d_r, _, _ = latest_replay(r.run_dir)
    rows = replay_rows(d_r)
    actor1 = [x for x in rows if x[0] // 10**10 == 1]
    assert len(actor1) == len(set(actor1))
    restarted = [json_row for json_row in _trace(r, "trace-1b.jsonl")]
    # the id's budget counts what the killed actor produced (acked or spooled)
    assert 0 < len(restarted) == PER_ACTOR - (restarted[0]["seq"] - 1)
    assert len(actor1) == PER_ACTOR
    stored = collections.Counter(rows)
    assert all(stored[(t["episode_id"], t["step"], t["is_intervention"])] == 1
               for t in restarted)
    first = r.trace(1)
    assert restarted[0]["seq"] > first[-1]["seq"] - 1  # numbering continued, not reused


def _trace(r: Run, name: str) -> list[dict]:
    import json

    return [json.loads(x) for x in (r.tmp / name).read_text().splitlines() if x.strip()]
