"""The worker's semantics over a scripted driver: command() never waits, the latest
command wins, the refractory time spaces motions, repeats are not re-sent, faults stick
until recover()."""

from __future__ import annotations

import itertools
import statistics
import time

import pytest
from gripper_fakes import ScriptedDriver, unreachable_error, wait_until

from silri_jax.grippers import GripperConnectionError, GripperError, GripperWorker
from silri_jax.specs import GRIPPER_CLOSE, GRIPPER_OPEN, GRIPPER_STAY


@pytest.fixture
def make_worker():
    workers: list[GripperWorker] = []

    def make(driver: ScriptedDriver, **kwargs) -> GripperWorker:
        kwargs.setdefault("poll_s", 0.01)
        worker = GripperWorker(driver, **kwargs).start()
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        worker.close()


def test_command_returns_at_once_while_the_driver_is_busy(make_worker):
    # every driver call takes 20 ms: the worker is almost always inside one
    driver = ScriptedDriver(motion_call_s=0.02, read_call_s=0.02)
    worker = make_worker(driver, refractory_s=0.0)
    durations = []
    for i in range(2000):
        g = GRIPPER_CLOSE if i % 2 else GRIPPER_OPEN
        t0 = time.perf_counter()
        worker.command(g)
        durations.append(time.perf_counter() - t0)
    assert statistics.median(durations) < 1e-3
    # the max only guards against a call that waits on I/O (a driver call is 20 ms); a
    # loaded 2-core machine may deschedule the caller for a few ms now and then
    assert max(durations) < 0.5
    t0 = time.perf_counter()
    for _ in range(1000):
        worker.state()
    assert (time.perf_counter() - t0) / 1000 < 1e-3


def test_latest_command_wins_and_an_old_one_never_runs_after_it(make_worker):
    driver = ScriptedDriver(motion_call_s=0.1)
    worker = make_worker(driver, refractory_s=0.0)
    worker.command(GRIPPER_CLOSE)
    assert wait_until(lambda: driver.commands() == [GRIPPER_CLOSE])
    # the close is still being sent (0.1 s): these replace each other while waiting
    worker.command(GRIPPER_OPEN)
    worker.command(GRIPPER_CLOSE)
    worker.command(GRIPPER_OPEN)
    assert worker.state().busy
    assert wait_until(lambda: driver.commands() == [GRIPPER_CLOSE, GRIPPER_OPEN])
    time.sleep(0.3)
    assert driver.commands() == [GRIPPER_CLOSE, GRIPPER_OPEN]
    assert wait_until(lambda: worker.state().command == GRIPPER_OPEN
                      and worker.state().width_m == 0.08)


def test_a_waiting_command_is_replaced_before_it_is_sent(make_worker):
    driver = ScriptedDriver()
    worker = make_worker(driver, refractory_s=0.5)
    worker.command(GRIPPER_OPEN)
    assert wait_until(lambda: driver.commands() == [GRIPPER_OPEN])
    worker.command(GRIPPER_CLOSE)  # waits for the refractory time ...
    worker.command(GRIPPER_OPEN)   # ... and is cancelled: open is what was sent last
    time.sleep(0.8)
    assert driver.commands() == [GRIPPER_OPEN]
    assert not worker.state().busy


def test_refractory_time_spaces_the_starts_of_motions(make_worker):
    driver = ScriptedDriver()
    refractory = 0.15
    worker = make_worker(driver, refractory_s=refractory)
    t_end = time.monotonic() + 1.0
    i = 0
    while time.monotonic() < t_end:  # a policy flapping every 10 ms
        worker.command(GRIPPER_CLOSE if i % 2 else GRIPPER_OPEN)
        i += 1
        time.sleep(0.01)
    assert wait_until(lambda: not worker.state().busy)
    starts = [t for t, _ in driver.sent]
    assert len(starts) >= 3
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert min(gaps) >= refractory - 0.005, gaps
    # the command standing last is the one the gripper ends with
    assert driver.commands()[-1] == (GRIPPER_CLOSE if (i - 1) % 2 else GRIPPER_OPEN)


def test_identical_commands_are_not_resent_and_stay_does_nothing(make_worker):
    driver = ScriptedDriver()
    worker = make_worker(driver, refractory_s=0.2)
    for _ in range(50):
        worker.command(GRIPPER_CLOSE)
    assert wait_until(lambda: driver.commands() == [GRIPPER_CLOSE])
    worker.command(GRIPPER_OPEN)   # waits out the refractory time
    worker.command(GRIPPER_STAY)   # must not cancel it
    assert worker.state().busy
    assert wait_until(lambda: driver.commands() == [GRIPPER_CLOSE, GRIPPER_OPEN])
    for _ in range(20):
        worker.command(GRIPPER_OPEN)
        worker.command(GRIPPER_STAY)
    time.sleep(0.4)
    assert driver.commands() == [GRIPPER_CLOSE, GRIPPER_OPEN]
    assert worker.commands_sent == 2


def test_invalid_command_is_rejected():
    worker = GripperWorker(ScriptedDriver())
    with pytest.raises(ValueError, match="0 \\(open\\), 1 \\(stay\\) or 2 \\(close\\)"):
        worker.command(3)


def test_a_driver_error_is_a_fault_that_stays_until_recover(make_worker, caplog):
    driver = ScriptedDriver()
    worker = make_worker(driver, refractory_s=0.0)
    driver.read_error = unreachable_error()
    assert wait_until(lambda: worker.state().fault != "")
    fault = worker.state().fault
    assert "scripted gripper (test:1)" in fault and "connection to test:1 dropped" in fault
    assert "fault" in caplog.text
    # nothing is retried: no driver call at all while faulted, commands are dropped
    reads, connects = driver.reads, driver.connects
    worker.command(GRIPPER_CLOSE)
    time.sleep(0.3)
    assert (driver.reads, driver.connects, driver.commands()) == (reads, connects, [])
    assert worker.state().fault == fault and not worker.state().busy
    # the cause is gone, yet the fault stays until recover()
    driver.read_error = None
    time.sleep(0.1)
    assert worker.state().fault == fault
    state = worker.recover(timeout_s=5)
    assert state.fault == "" and driver.connects == connects + 1
    assert driver.disconnects >= 1
    assert "recover" in caplog.text
    worker.command(GRIPPER_CLOSE)
    assert wait_until(lambda: driver.commands() == [GRIPPER_CLOSE])


def test_recover_failure_raises_and_keeps_a_fault(make_worker):
    driver = ScriptedDriver()
    worker = make_worker(driver)
    driver.read_error = unreachable_error()
    assert wait_until(lambda: worker.state().fault != "")
    driver.connect_error = GripperConnectionError("cannot reach test:1; check the cable")
    with pytest.raises(GripperError, match="recovery failed: cannot reach test:1"):
        worker.recover(timeout_s=5)
    assert "recovery failed" in worker.state().fault
    driver.connect_error = driver.read_error = None
    assert worker.recover(timeout_s=5).fault == ""


def test_start_raises_the_drivers_connection_error():
    driver = ScriptedDriver()
    driver.connect_error = GripperConnectionError("cannot reach test:1; check the cable")
    with pytest.raises(GripperConnectionError, match="check the cable"):
        GripperWorker(driver).start()


def test_close_stops_the_worker_and_disconnects(make_worker):
    driver = ScriptedDriver()
    worker = make_worker(driver)
    thread = worker._thread
    worker.close()
    assert thread is not None and not thread.is_alive()
    assert driver.disconnects == 1
    worker.close()  # idempotent
    with pytest.raises(GripperError, match="after close"):
        worker.command(GRIPPER_CLOSE)
