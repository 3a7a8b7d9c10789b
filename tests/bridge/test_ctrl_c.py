"""Ctrl-C interrupts a blocking bridge call (step in lockstep, wait in real-time mode)."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import pytest

SCRIPT = """
import faulthandler, signal, sys
faulthandler.register(signal.SIGUSR1)  # the test asks for a stack dump if this hangs
# Python keeps SIGINT ignored when its parent ignored it (a background job of a
# non-interactive shell does): install the usual Ctrl-C handler explicitly.
signal.signal(signal.SIGINT, signal.default_int_handler)
from silri_jax.bridge import Bridge
run = sys.argv[1]
b = Bridge("test", run=run)
if run == "realtime":
    b.start()
print("ready", flush=True)
try:
    if run == "realtime":
        b.wait(120.0)
    else:
        b.step(10**12)
except KeyboardInterrupt:
    b.close()
    print("interrupted", flush=True)
    sys.exit(3)
print("finished", flush=True)
"""


@pytest.mark.parametrize("run", ["lockstep", "realtime"])
def test_sigint_interrupts_blocking_call(run: str) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SCRIPT, run], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let the call block
        sent = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        try:
            rc = proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGUSR1)  # where it hangs, for the failure message
            time.sleep(1.0)
            proc.kill()
            out, err = proc.communicate()
            pytest.fail(f"no exit 20 s after SIGINT; stdout {out!r}; stacks:\n{err}")
        latency = time.perf_counter() - sent
        out, err = proc.communicate()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rc == 3, out + err
    assert "interrupted" in out
    assert latency < 10.0
