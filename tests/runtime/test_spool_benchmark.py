"""``benchmarks/actor_spool.py`` and ``benchmarks/codec.py`` run and report what they
measured: one JSON line each, whose sizes agree with the wire codec's encoding."""

from __future__ import annotations

import json
import subprocess
import sys

from helpers import ROOT

from silri_jax.runtime.wal import RECORD_HEADER_BYTES
from silri_jax.transport import codec


def test_spool_benchmark_prints_one_consistent_json_line():
    out = subprocess.run([sys.executable, "benchmarks/actor_spool.py", "--steps", "64"],
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    r = json.loads(lines[0])
    assert r["benchmark"] == "actor_spool" and r["steps"] == 64
    assert 0 < r["append_us_p50"] <= r["append_us_p99"] and r["steps_per_s"] > 0

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import actor_spool

    spec = actor_spool.make_spec("state", 128)
    sizes = [RECORD_HEADER_BYTES + len(codec.encode_batch(
        spec, "bench", 1, codec.stack_transitions(spec, [t]), share_frames=True))
        for t in actor_spool.transitions(spec, 8)]
    assert min(sizes) - 1 <= r["bytes_per_step"] <= max(sizes) + 1, (r, sizes)


def test_codec_benchmark_shares_frames_like_an_actor_stream():
    """``benchmarks/codec.py``: one JSON line; a 32-step episode is sent with each frame
    once (2 cameras, 33 frames each), not twice per transition."""
    out = subprocess.run([sys.executable, "benchmarks/codec.py", "--image_size", "16",
                          "--repeats", "2"], cwd=ROOT, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    lines = [x for x in out.stdout.splitlines() if x.strip()]
    assert len(lines) == 1, lines
    r = json.loads(lines[0])
    assert r["benchmark"] == "codec" and r["encode_ms"] > 0 and r["decode_ms"] > 0
    frame = 16 * 16 * 3
    shared = 2 * frame * 33 / 32
    assert shared <= r["bytes_per_transition"] < shared + 400, r
