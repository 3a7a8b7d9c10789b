"""``runtime.procs``: a child that will not stop leaves its threads' stacks in its log
before the SIGKILL, so a hung shutdown says where it hangs."""

from __future__ import annotations

import signal
import sys
import textwrap

from silri_jax.runtime import procs

# Its stop does nothing (and its own dump comes late), and it blocks in a function whose
# name the dump must show, in a second thread as well as the main one.
_STUCK_CHILD = textwrap.dedent("""
    import threading, time
    from silri_jax.runtime import procs
    procs.handle_stop_signals(lambda name: None, 600.0)

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


def test_a_child_that_does_not_stop_dumps_its_stacks_then_is_killed(tmp_path):
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
    script = _STUCK_CHILD.replace("600.0", "0.5")
    child = procs.spawn([sys.executable, "-c", script], str(log))
    try:
        _wait_for(log, "ready")
        child.send_signal(signal.SIGTERM)
        _wait_for(log, "stuck_in_the_update_thread", timeout=30.0)
        assert child.poll() is None  # the deadline dump reports, it does not kill
    finally:
        procs.kill_group(child)
        child.wait()


# Spawns a child that asks to die with its parent, prints the child's pid, then waits.
_PARENT = textwrap.dedent("""
    import sys, time
    from silri_jax.runtime import procs
    child = procs.spawn([sys.executable, "-c",
                         "from silri_jax.runtime import procs; procs.die_with_parent(); "
                         "import time; print('child ready', flush=True); time.sleep(600)"],
                        sys.argv[1])
    print(child.pid, flush=True)
    time.sleep(600)
""")


def test_a_child_dies_with_its_sigkilled_parent(tmp_path):
    import os
    import subprocess
    import time

    log = tmp_path / "child.log"
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(log)],
                              stdout=subprocess.PIPE, text=True)
    try:
        child_pid = int(parent.stdout.readline())
        _wait_for(log, "child ready")
        parent.kill()
        parent.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                os.kill(child_pid, 0)
            except ProcessLookupError:
                break
            # a zombie (reparented, not yet reaped) counts as gone
            with open(f"/proc/{child_pid}/stat") as f:
                if f.read().split(") ")[1].startswith("Z"):
                    break
            time.sleep(0.1)
        else:
            os.kill(child_pid, signal.SIGKILL)
            raise AssertionError("the child outlived its SIGKILLed parent")
    finally:
        parent.kill()
