"""Holding Ctrl-C back while an episode's files are being written.

An episode is written to several files (a data row group, video frames, then metadata).
A KeyboardInterrupt between two of them would leave rows that no metadata describes, so
the writer runs that stretch inside :func:`deferred_sigint`: a SIGINT arriving there is
remembered and raised as KeyboardInterrupt right after it, once the episode is complete.
Only the main thread receives signals, so elsewhere this does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


@contextlib.contextmanager
def deferred_sigint() -> Iterator[None]:
    """Runs the block without interruption by SIGINT; re-raises one that came meanwhile."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield  # a program with its own SIGINT handling keeps it
        return
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        received.append(signum)

    signal.signal(signal.SIGINT, remember)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if received:
        raise KeyboardInterrupt
