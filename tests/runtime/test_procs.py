"""``runtime.procs``: a child that will not stop leaves its threads' stacks in its log
before the SIGKILL, so a hung shutdown says where it hangs."""

from __future__ import annotations

import signal
import sys
import textwrap

from silri_jax.runtime import procs

# Ignores SIGTERM and blocks in a function whose name the dump must show, in a second
# thread as well as the main one.
_STUCK_CHILD = textwrap.dedent("""
    import signal, threading, time
    from silri_jax.runtime import procs
    procs.install_stack_dump()
    signal.signal(signal.SIGTERM, signal.SIG_IGN)

    def stuck_in_the_update_thread():
        threading.Event().wait()

    threading.Thread(target=stuck_in_the_update_thread, daemon=True).start()

    def stuck_in_the_main_thread():
        print("ready", flush=True)
        while True:
            time.sleep(0.05)

    stuck_in_the_main_thread()
""")


def _wait_for(path, text, timeout=60.0):
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and text in path.read_text():
            return
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared in {path}")


def test_a_child_that_ignores_sigterm_dumps_its_stacks_then_is_killed(tmp_path):
    log = tmp_path / "child.log"
    child = procs.spawn([sys.executable, "-c", _STUCK_CHILD], str(log))
    _wait_for(log, "ready")
    code = procs.stop(child, signal.SIGTERM, timeout=1.0)
    assert code == -signal.SIGKILL, code
    text = log.read_text()
    assert "stuck_in_the_update_thread" in text, text
    assert "stuck_in_the_main_thread" in text, text


def test_a_stop_that_overruns_its_deadline_dumps_the_stacks_by_itself(tmp_path):
    log = tmp_path / "child.log"
    script = _STUCK_CHILD.replace(
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)",
        "signal.signal(signal.SIGTERM, lambda *_: procs.install_stack_dump(0.5))")
    child = procs.spawn([sys.executable, "-c", script], str(log))
    try:
        _wait_for(log, "ready")
        child.send_signal(signal.SIGTERM)
        _wait_for(log, "stuck_in_the_update_thread", timeout=30.0)
        assert child.poll() is None  # the deadline dump reports, it does not kill
    finally:
        procs.kill_group(child)
        child.wait()
