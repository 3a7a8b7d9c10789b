"""A Python thread keeps running while the bridge steps (the GIL is released)."""

from __future__ import annotations

import threading
import time

from silri_jax.bridge import Bridge


def _counter(stop: threading.Event, counts: list[int]) -> None:
    while not stop.is_set():
        counts[0] += 1


def test_python_thread_runs_during_lockstep_step() -> None:
    b = Bridge("test", plant={"initial_position": [0.3, 0.0, 0.3]})
    b.step(10)
    stop = threading.Event()
    counts = [0]
    t = threading.Thread(target=_counter, args=(stop, counts))
    t.start()
    try:
        time.sleep(0.05)
        before = counts[0]
        start = time.perf_counter()
        b.step(300_000)
        elapsed = time.perf_counter() - start
        during = counts[0] - before
    finally:
        stop.set()
        t.join()
    assert elapsed > 0.05, "step too short to observe the other thread"
    # With the GIL held for the whole call the counter could not move at all.
    assert during > 1000


def test_python_thread_runs_during_realtime_wait() -> None:
    stop = threading.Event()
    counts = [0]
    with Bridge("test", run="realtime") as b:
        t = threading.Thread(target=_counter, args=(stop, counts))
        t.start()
        try:
            b.wait(0.2)
            ticks = b.state().tick
        finally:
            stop.set()
            t.join()
    assert counts[0] > 1000
    assert ticks > 50
