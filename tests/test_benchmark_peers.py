"""``benchmarks/peers.py``: a peer script's last JSON line comes back as a dict; a peer that
cannot start or fails comes back as ``{"error": ...}`` naming it, never as an exception."""

from __future__ import annotations

import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

import peers  # noqa: E402  (a script folder, not a package)


def test_peer_json_line_and_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(peers, "PEERS_DIR", tmp_path)
    (tmp_path / "ok.py").write_text(
        "import json, sys\nprint('warming up')\nprint(json.dumps({'n': int(sys.argv[1])}))\n")
    (tmp_path / "bad.py").write_text("import sys\nsys.stderr.write('no torch here')\n"
                                     "sys.exit(3)\n")
    assert peers.run_peer_script(sys.executable, "ok.py", ["7"]) == {"n": 7}
    bad = peers.run_peer_script(sys.executable, "bad.py", [])
    assert "bad.py exited 3" in bad["error"] and "no torch here" in bad["error"]
    missing = peers.run_peer_script(str(tmp_path / "no-python"), "ok.py", ["1"])
    assert "ok.py" in missing["error"]
