"""Update-to-data pacing (``silri_jax.runtime.pacing``) over the real transport.

A ``LearnerServer`` whose progress the test controls stands in for the learner (no agent,
no JAX), and an actor thread does what ``silri_jax.actor`` does per step: wait on the
pacer, then send one transition. Checked: the actor stops exactly at the ratio's bound
while the learner does not update, resumes when updates come, loses and duplicates
nothing; pacing 0 never waits; a learner that is not training yet never blocks; Ctrl-C
(the stop flag) ends a wait promptly; an unreachable learner ends it with a clear error.
"""

from __future__ import annotations

import threading
import time

import grpc
import pytest

from silri_jax.runtime.pacing import Pacer, learner_may_update
from silri_jax.transport.client import ActorClient
from silri_jax.transport.common import Progress
from silri_jax.transport.server import LearnerServer
from tests.transport.transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

SPEC = state_spec()


class FakeLearner:
    """Progress the test sets by hand; env steps are what the server really ingested."""

    def __init__(self, training: bool = True, train_from: int = 0) -> None:
        self.recorder = Recorder()
        self.updates = 0
        self.training, self.train_from = training, train_from
        self.server = LearnerServer(SPEC, CONFIG_HASH, self.recorder, progress=self.progress)

    def progress(self) -> Progress:
        return Progress(self.updates, self.recorder.count(), self.training, self.train_from)

    def update(self, n: int) -> None:
        self.updates += n
        self.server.notify_progress()


class PacedActor(threading.Thread):
    """Waits on the pacer before every step, then sends the step's transition."""

    def __init__(self, client: ActorClient, pacer: Pacer, steps: int) -> None:
        super().__init__(daemon=True)
        self.client, self.pacer, self.steps = client, pacer, steps
        self.stop = threading.Event()
        self.sent = 0
        self.error: BaseException | None = None
        self.batch = make_batch(SPEC, steps, seed=1)

    def run(self) -> None:
        try:
            for i in range(self.steps):
                self.pacer.wait(self.client, self.stop)
                if self.stop.is_set():
                    return
                self.client.send(row(self.batch, i), timeout=None)
                self.sent += 1
        except BaseException as e:  # surfaced by the test
            self.error = e


def _settle(actor: PacedActor, seconds: float = 1.0) -> int:
    """The actor's sent count once it stopped moving for ``seconds``."""
    last, since = -1, time.monotonic()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        now = actor.sent
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= seconds:
            return now
        time.sleep(0.05)
    raise AssertionError(f"the actor never settled (sent {actor.sent})")


@pytest.fixture
def learner():
    fake = FakeLearner()
    yield fake
    fake.server.stop(grace=0.2)


def _client(address: str) -> ActorClient:
    return ActorClient(address, SPEC, CONFIG_HASH, "actor-0", linger_s=0.01,
                       subscribe_params=False, call_timeout_s=1.0)


def test_the_actor_stops_at_the_bound_and_resumes_with_updates(learner):
    ratio, slack = 0.5, 8
    pacer = Pacer(ratio, slack)
    with _client(learner.server.address) as client:
        actor = PacedActor(client, pacer, steps=60)
        actor.start()
        # No updates yet: train_from 0 + 0 / ratio + slack steps, and no more.
        assert _settle(actor) == slack, actor.error
        learner.update(5)  # 5 updates at 0.5 per step pay for 10 more steps
        assert _settle(actor) == slack + 10
        learner.update(100)
        actor.join(30)
        assert not actor.is_alive() and actor.error is None and actor.sent == 60
        assert client.flush(10)
    assert learner.recorder.seqs == [("actor-0", s) for s in range(1, 61)]  # once, in order
    assert pacer.waits >= 2 and pacer.waited_s > 1.0


def test_pacing_zero_never_asks_the_learner():
    class Unreachable:
        def progress(self):
            raise AssertionError("pacing 0 must not look at the learner")

        wait_progress = stats = progress

    pacer = Pacer(0.0, 8)
    t0 = time.monotonic()
    for _ in range(1000):
        assert pacer.wait(Unreachable(), threading.Event()) == 0.0
    assert time.monotonic() - t0 < 1.0 and pacer.waits == 0


def test_a_learner_that_is_not_training_yet_never_blocks():
    fake = FakeLearner(training=False)
    try:
        with _client(fake.server.address) as client:
            actor = PacedActor(client, Pacer(1.0, 4), steps=50)
            actor.start()
            actor.join(30)
            assert actor.sent == 50 and actor.error is None
    finally:
        fake.server.stop(grace=0.2)


def test_a_learner_without_progress_reports_never_blocks():
    """An older learner (no progress fields, no WaitProgress) reads as not training."""
    recorder = Recorder()
    server = LearnerServer(SPEC, CONFIG_HASH, recorder)
    try:
        with _client(server.address) as client:
            actor = PacedActor(client, Pacer(1.0, 4), steps=50)
            actor.start()
            actor.join(30)
            assert actor.sent == 50 and actor.error is None and actor.pacer.waits == 0
            assert client.flush(10)
        assert recorder.count() == 50
    finally:
        server.stop(grace=0.2)


def test_training_counts_from_where_it_started():
    pacer = Pacer(1.0, 10)
    p = Progress(updates=5, env_steps=200, training=True, train_from=200)
    assert pacer.allowed_total(p) == 215
    assert pacer.may_step(p, produced=14) and not pacer.may_step(p, produced=15)
    assert pacer.updates_for(p, 216) == 6
    assert pacer.allowed_total(Progress(updates=5, env_steps=200)) is None


def test_stop_ends_a_wait_promptly(learner):
    pacer = Pacer(1.0, 4)
    with _client(learner.server.address) as client:
        actor = PacedActor(client, pacer, steps=100)
        actor.start()
        assert _settle(actor, 0.5) == 4
        t0 = time.monotonic()
        actor.stop.set()
        actor.join(5)
        assert not actor.is_alive() and time.monotonic() - t0 < 2.0


def test_an_unreachable_learner_ends_the_wait_with_a_clear_error():
    fake = FakeLearner()
    pacer = Pacer(1.0, 4, timeout_s=1.0)
    with _client(fake.server.address) as client:
        actor = PacedActor(client, pacer, steps=100)
        actor.start()
        assert _settle(actor, 0.5) == 4
        fake.server.stop(grace=0.1)
        actor.join(30)
        assert isinstance(actor.error, TimeoutError), actor.error
        assert "unreachable" in str(actor.error) and "pacing_timeout_s" in str(actor.error)


def test_progress_rides_on_acks_and_the_long_poll_refuses_bad_input(learner):
    learner.update(7)
    with _client(learner.server.address) as client:
        batch = make_batch(SPEC, 5)
        client.send(batch)
        assert client.flush(10)
        got, _ = client.progress()
        assert got == Progress(updates=7, env_steps=5, training=True, train_from=0)
        t0 = time.monotonic()
        assert client.wait_progress(8, 0.3).updates == 7  # times out, answers anyway
        assert 0.25 < time.monotonic() - t0 < 3.0
        threading.Timer(0.2, learner.update, (1,)).start()
        t0 = time.monotonic()
        assert client.wait_progress(8, 3.0).updates == 8  # woken by notify_progress
        assert time.monotonic() - t0 < 2.0
    raw = grpc.insecure_channel(learner.server.address).unary_unary(
        "/silri_jax.v1.Learner/WaitProgress")
    from silri_jax.transport import common as c
    from silri_jax.transport import silri_pb2 as pb

    md = [(c.MD_PROTOCOL, str(c.PROTOCOL_VERSION)), (c.MD_CONFIG, CONFIG_HASH)]
    with pytest.raises(grpc.RpcError) as e:
        raw(pb.WaitProgressRequest(min_updates=1, max_wait_s=float("nan")).SerializeToString(),
            metadata=md, timeout=5)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "max_wait_s" in e.value.details()


def test_bad_pacing_settings_are_refused_by_name():
    with pytest.raises(ValueError, match="updates_per_env_step"):
        Pacer(-1.0, 8)
    with pytest.raises(ValueError, match="pacing_slack_steps"):
        Pacer(1.0, 0)
    with pytest.raises(ValueError, match="pacing_timeout_s"):
        Pacer(1.0, 8, timeout_s=0)


def test_settings_that_would_deadlock_are_refused_and_accepted_ones_never_deadlock():
    # the actors stop at s steps, the learner needs 1/r steps before its first update
    with pytest.raises(ValueError, match=r"pacing_slack_steps=4 is too small.*at least 6"):
        Pacer(0.1, 4)
    for ratio in (0.005, 0.1, 0.25, 0.37, 0.5, 1.0, 2.0, 3.3):
        slack = next(s for s in range(1, 1000) if _accepted(ratio, s))
        pacer = Pacer(ratio, slack)
        steps = updates = 0
        for _ in range(3000):  # the actor's rule and the learner's rule, in turn
            progress = Progress(updates=updates, env_steps=steps, training=True, train_from=0)
            moved = pacer.may_step(progress, produced=0)
            steps += moved
            if learner_may_update(ratio, slack, updates, steps):
                updates, moved = updates + 1, True
            assert moved, f"deadlock at ratio {ratio}, slack {slack}: {steps} steps, {updates}"


def _accepted(ratio: float, slack: int) -> bool:
    try:
        Pacer(ratio, slack)
    except ValueError:
        return False
    return True


def test_an_actor_blocked_on_a_full_outbox_still_answers_a_stop():
    """While the learner is away the outbox fills; a stop must end the wait (the row is
    already in the spool) instead of blocking until the launcher kills the actor."""
    from types import SimpleNamespace

    from silri_jax.actor import Actor
    from silri_jax.transport.client import OutboxFull

    stop = threading.Event()
    calls = []

    class FullClient:
        def send(self, row, timeout=None):
            calls.append(timeout)
            assert timeout is not None, "a send without a timeout cannot see the stop"
            if len(calls) == 3:
                stop.set()
            raise OutboxFull("full")

    actor = SimpleNamespace(client=FullClient(), _stop=stop)
    assert Actor._send(actor, {"rewards": 0.0}) is None
    assert len(calls) == 3
