"""Child processes of the launcher (and of the tests): start, signal, reap, no orphans.

Children run in their own process group so a terminal's Ctrl-C reaches the launcher
only, which then stops them in order (actors first, so the learner's final checkpoint
holds everything they sent). On Linux each child also asks the kernel to SIGTERM it when
its parent dies (``PR_SET_PDEATHSIG``, see ``die_with_parent``): a launcher killed with
SIGKILL leaves no orphans.
"""

from __future__ import annotations

import ctypes
import faulthandler
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Callable, Sequence
from typing import Any

_PR_SET_PDEATHSIG = 1


def free_port() -> int:
    """A TCP port free on loopback now (the learner binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Set by ``spawn`` to the parent's pid; a child that calls ``die_with_parent`` reads it.
PARENT_ENV = "SILRI_JAX_PARENT_PID"


def die_with_parent() -> None:
    """Asks the kernel to SIGTERM this process when the process that spawned it dies.

    Called by the child itself, first thing in its ``main``, rather than from a
    ``preexec_fn``: code between fork and exec in a multithreaded parent (JAX, gRPC) can
    deadlock. A parent that died before the request is caught by comparing the parent pid
    ``spawn`` recorded. No-op outside Linux or when not started by ``spawn``."""
    expected = os.environ.pop(PARENT_ENV, None)  # not inherited by our own children
    if not expected or not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        return
    if os.getppid() != int(expected):
        os.kill(os.getpid(), signal.SIGTERM)


def spawn(args: Sequence[str], log_path: str | None = None,
          env: dict[str, str] | None = None) -> subprocess.Popen:
    """Starts ``python -m ...``-style ``args`` in its own process group; the child should
    call ``die_with_parent`` (the learner and actor mains do)."""
    child_env = dict(os.environ if env is None else env)
    child_env[PARENT_ENV] = str(os.getpid())
    out = open(log_path, "ab") if log_path else None
    try:
        return subprocess.Popen(
            list(args), stdout=out, stderr=subprocess.STDOUT if out else None,
            process_group=0, env=child_env,
        )
    finally:
        if out is not None:
            out.close()


# A child that called ``handle_stop_signals`` writes every thread's stack to its log on this
# signal; ``stop`` sends it before a SIGKILL, so a hung shutdown leaves its cause behind.
STACK_DUMP_SIGNAL = signal.SIGUSR1


def handle_stop_signals(on_stop: Callable[[str], None], dump_after_s: float) -> None:
    """SIGTERM and SIGINT call ``on_stop(signal name)``; a stop still running
    ``dump_after_s`` later writes every thread's stack to stderr (the child's log), and
    ``STACK_DUMP_SIGNAL`` writes them at any time.

    ``on_stop`` runs in a signal handler, on the main thread between two bytecodes: it
    should only set flags (printing could re-enter a write the main thread is in)."""
    faulthandler.register(STACK_DUMP_SIGNAL, all_threads=True, chain=False)

    def handler(signum: int, _frame: Any) -> None:
        on_stop(signal.Signals(signum).name)
        faulthandler.dump_traceback_later(dump_after_s, repeat=False)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def stop(proc: subprocess.Popen, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
    """Sends ``sig``, waits ``timeout`` s, then SIGKILLs the child's group; returns its code.

    Before the SIGKILL the child gets ``STACK_DUMP_SIGNAL`` and two seconds to write its
    threads' stacks to its log (a child without the handler just dies of it)."""
    if proc.poll() is None:
        try:
            proc.send_signal(sig)
        except ProcessLookupError:
            pass
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        try:
            proc.send_signal(STACK_DUMP_SIGNAL)
            return proc.wait(2.0)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    kill_group(proc)
    return proc.wait()


def kill_group(proc: subprocess.Popen) -> None:
    """SIGKILL to the child's whole process group (it leads its own)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
