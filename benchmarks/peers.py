"""Running a peer's measuring script (``../shared/peers/``) from a benchmark.

The peer runs in its own Python (a LeRobot environment the user names) after ours, so the
two never compete for the machine, and it prints one JSON line like ours. A failing peer
gives ``{"error": ...}`` instead of an exception, so our own figure is still printed.
"""

from __future__ import annotations

import json
import pathlib
import subprocess
from collections.abc import Sequence
from typing import Any

PEERS_DIR = pathlib.Path(__file__).resolve().parents[2] / "shared" / "peers"


def run_peer_script(python: str, script: str, args: Sequence[str],
                    timeout: float | None = None) -> dict[str, Any]:
    """Runs ``python PEERS_DIR/script *args``; its last JSON line, or ``{"error": ...}``
    naming the script, its exit code and the end of its output."""
    path = PEERS_DIR / script
    try:
        out = subprocess.run([python, str(path), *args], capture_output=True, text=True,
                             timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as e:
        return {"error": f"{script}: {e}"}
    lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
    if out.returncode != 0 or not lines:
        return {"error": f"{script} exited {out.returncode}: "
                         f"{(out.stderr or out.stdout)[-500:]}"}
    return json.loads(lines[-1])
