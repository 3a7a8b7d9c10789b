"""An actor SIGKILLed with unacknowledged transitions loses nothing when it has a spool.

One learner (no updates: only ingest matters here) serves two actors: actor 0 with the
default spool, actor 1 with the spool off. The learner is SIGKILLed (an outage: acks stop
while both actors keep stepping into their outboxes), both actors are SIGKILLed, the
learner is resumed (its write-ahead log holds what it had acked) and both actors are
restarted with the same ids, each taking only what is left of its id's share of the budget.
Checked against what the dead actors wrote (their traces and
the spool left on disk): actor 0's transitions all reach D_R exactly once and in order,
followed by the restarted actor's; actor 1 shows the behaviour without a spool (its
unacknowledged transitions are gone and their numbers are reused, nothing is duplicated).
"""

from __future__ import annotations

import json
import pathlib
import signal
import time

import pytest
from helpers import Run, latest_replay, replay_rows

from silri_jax.runtime.spool import read_spool, rows_of

PER_ACTOR = 300


def _wait_lines(path: pathlib.Path, n: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().count("\n") >= n:
            return
        time.sleep(0.1)
    raise AssertionError(f"{path}: fewer than {n} lines in {timeout} s")


def _spec():
    import tiny_config

    from silri_jax import envs
    from silri_jax.training import build

    return envs.env_spec(build.make_env(tiny_config.get_config()))


def _trace(path: pathlib.Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory, demos: str):
    tmp = tmp_path_factory.mktemp("actor_kill_spool")
    r = Run(tmp, demos, **{"runtime.env_steps": 2 * PER_ACTOR, "runtime.num_actors": 2,
                           "runtime.start_training_after": 10**6, "agent.pretrain_steps": 0,
                           "runtime.updates_per_env_step": 0, "runtime.control_hz": 100})
    facts: dict = {}
    try:
        learner = r.learner()
        r.wait_log("learner.log", r'"event": "serving"', 120, learner)
        a0 = r.actor(0)
        a1 = r.actor(1, "--config.runtime.actor_spool_dir=")
        _wait_lines(tmp / "trace-0.jsonl", 40, 90)
        _wait_lines(tmp / "trace-1.jsonl", 40, 90)
        learner.kill()  # a learner outage: acks stop, the actors go on stepping
        learner.wait()
        n0 = (tmp / "trace-0.jsonl").read_text().count("\n")
        _wait_lines(tmp / "trace-0.jsonl", n0 + 60, 30)
        for a in (a0, a1):
            a.kill()
            a.wait()
        spool0 = r.run_dir / "spool" / "actor-0"
        facts["spooled"] = [x for b in read_spool(spool0, _spec()) for x in rows_of(b)]
        facts["spool1_exists"] = (r.run_dir / "spool" / "actor-1").exists()
        learner = r.learner("--resume", log="learner2.log")  # its log has what was acked
        r.wait_log("learner2.log", r'"event": "serving"', 120, learner)
        b0 = r.actor(0, f"--trace={tmp / 'trace-0b.jsonl'}")
        b1 = r.actor(1, f"--trace={tmp / 'trace-1b.jsonl'}", "--config.runtime.actor_spool_dir=")
        b0.wait(120)
        b1.wait(120)
        learner.send_signal(signal.SIGTERM)
        learner.wait(120)
        facts["rows"] = replay_rows(latest_replay(r.run_dir)[0])
        yield r, facts, (b0, b1, learner)
    finally:
        r.cleanup()


def test_spooled_transitions_reach_the_learner_exactly_once_in_order(run):
    r, facts, (b0, _, learner) = run
    assert learner.returncode == 0, r.log("learner.log")[-3000:]
    assert b0.returncode == 0, r.log("actor-0.log")[-3000:]
    dead = {t["seq"]: (t["episode_id"], t["step"], t["is_intervention"])
            for t in _trace(r.tmp / "trace-0.jsonl")}
    acked_before_kill = min(s for s, *_ in facts["spooled"]) - 1
    unacked = [s for s, *_ in facts["spooled"] if s > max(acked_before_kill, 0)]
    assert len(unacked) > 20, "the kill must leave unacknowledged transitions to recover"
    for seq, *key in facts["spooled"]:  # spool and trace agree where both hold a seq
        assert dead.setdefault(seq, tuple(key)) == tuple(key), seq
    last = max(dead)
    assert sorted(dead) == list(range(1, last + 1)), "the dead actor's numbers have a hole"
    recovered = r.json_lines("actor-0.log", "spool_recovered")
    assert recovered and recovered[-1]["last_seq"] == last, recovered
    restarted = _trace(r.tmp / "trace-0b.jsonl")
    assert last < PER_ACTOR, "the dead actor must leave part of its share to its successor"
    # the id's budget counts the dead actor's (recovered) steps: only the rest is taken
    assert len(restarted) == PER_ACTOR - last
    assert restarted[0]["seq"] == last + 1  # numbering continues after the recovered ones
    assert min(t["episode_id"] for t in restarted) > max(e for e, _, _ in dead.values())
    want = [dead[s] for s in range(1, last + 1)] + [
        (t["episode_id"], t["step"], t["is_intervention"]) for t in restarted]
    stored = [x for x in facts["rows"] if x[0] // 10**10 == 0]
    assert stored == want  # every transition, once, in the order it was produced
    done = r.json_lines("actor-0.log", "actor_done")[-1]
    assert done["recovered"] == recovered[-1]["transitions"] and done["flushed"], done
    assert done["steps"] == PER_ACTOR - last and done["id_steps"] == PER_ACTOR, done
    spool = r.run_dir / "spool" / "actor-0"
    assert not list(spool.glob("segment-*.log")), "acked segments must be deleted"


def test_without_a_spool_the_behaviour_is_unchanged(run):
    r, facts, (_, b1, _) = run
    assert b1.returncode == 0, r.log("actor-1.log")[-3000:]
    assert not facts["spool1_exists"]
    assert not r.json_lines("actor-1.log", "spool_recovered")
    dead = _trace(r.tmp / "trace-1.jsonl")
    restarted = _trace(r.tmp / "trace-1b.jsonl")
    stored = [x for x in facts["rows"] if x[0] // 10**10 == 1]
    assert len(stored) == len(set(stored))  # never a duplicate
    # the unacknowledged tail died with the process: its numbers are handed out again
    assert restarted[0]["seq"] <= dead[-1]["seq"]
    # what the learner had acked counts towards the id's budget, the lost tail does not
    assert len(stored) == PER_ACTOR
