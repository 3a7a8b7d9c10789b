"""The actor's durable spool on its own (no processes): what is written comes back
unacknowledged-only and in order, acknowledged segments go, a torn or corrupt tail keeps
the intact prefix with a warning naming the file, and misuse is refused by name."""

from __future__ import annotations

import logging
import pathlib
import sys

import ml_collections
import numpy as np
import pytest

from silri_jax.runtime import setup
from silri_jax.runtime.spool import ActorSpool, SpoolError, read_spool, rows_of
from silri_jax.specs import pixel_env_spec

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "transport"))
from transport_helpers import make_batch, row  # noqa: E402

SPEC = pixel_env_spec(5, 3, cameras=("front",), image_size=8, has_gripper=True)
HASH = "cfg-a"


def _rows(n: int, seed: int = 0) -> list[dict]:
    b = make_batch(SPEC, n, seed=seed, episode=7)
    b["terminated"] = np.zeros(n, np.float32)  # valid flags for every row
    b["truncated"] = np.zeros(n, bool)
    return [row(b, i) for i in range(n)]


def _open(path: pathlib.Path, **kw) -> ActorSpool:
    return ActorSpool(path, SPEC, "actor-0", HASH, **kw)


def _write(path: pathlib.Path, rows: list[dict], first: int = 1, acked: int = 0,
           **kw) -> ActorSpool:
    sp = _open(path, **kw)
    sp.recover(acked)
    for i, r in enumerate(rows):
        sp.append(first + i, r)
    return sp


def _seqs(rec) -> list[int]:
    return [int(s) for b in rec.batches for s in b.seqs]


def _same(a: dict, b: dict) -> bool:
    if isinstance(a, dict):
        return all(_same(a[k], b[k]) for k in a)
    return np.array_equal(np.asarray(a, np.float64), np.asarray(b, np.float64))


def test_unacked_transitions_come_back_in_order_with_their_data(tmp_path):
    rows = _rows(10)
    _write(tmp_path, rows, segment_records=4).close()  # a dead actor: nothing acked
    sp = _open(tmp_path)
    rec = sp.recover(acked_seq=4)
    assert _seqs(rec) == list(range(5, 11))
    assert (rec.first_seq, rec.next_seq) == (5, 11)
    got = [row(b.data, i) for b in rec.batches for i in range(len(b))]
    for want, have in zip(rows[4:], got, strict=True):
        assert _same({k: want[k] for k in have if k in want}, {k: have[k] for k in have
                                                                if k in want})
    # the segment holding only 1..4 is gone, the rest stays until acked
    assert min(int(s) for b in read_spool(tmp_path, SPEC) for s in b.seqs) == 5
    sp.append(11, rows[0])  # numbering continues after the recovered ones
    with pytest.raises(ValueError, match="consecutive"):
        sp.append(13, rows[0])
    sp.close()


def test_acknowledged_segments_are_deleted_and_a_clean_close_leaves_nothing(tmp_path):
    sp = _write(tmp_path, _rows(10), segment_records=3)
    assert len(sp.unacked_segments()) == 4
    assert sp.release(6) == 2  # segments 1..3 and 4..6
    assert [int(s) for b in read_spool(tmp_path, SPEC) for s in b.seqs] == list(range(7, 11))
    sp.close(acked_seq=10)
    assert not list(tmp_path.glob("segment-*.log"))
    assert len(_open(tmp_path).recover(10)) == 0


def test_a_torn_tail_keeps_the_intact_prefix_and_names_the_file(tmp_path, caplog):
    _write(tmp_path, _rows(10)).close()
    (seg,) = sorted(tmp_path.glob("segment-*.log"))
    size = seg.stat().st_size
    with open(seg, "r+b") as f:  # killed in the middle of writing record 10
        f.truncate(size - 50)
    with caplog.at_level(logging.WARNING):
        sp = _open(tmp_path)
        rec = sp.recover(0)
    assert _seqs(rec) == list(range(1, 10))
    assert rec.dropped_torn == 1
    assert any(str(seg) in m and "torn" in m for m in caplog.messages), caplog.messages
    sp.append(10, _rows(1, seed=5)[0])  # the lost number is reused: the learner never saw it
    sp.close()
    caplog.clear()
    with caplog.at_level(logging.WARNING):
        rec = _open(tmp_path).recover(0)
    assert _seqs(rec) == list(range(1, 11))
    assert not caplog.messages  # the damage was cut off once, not reported forever


def test_a_corrupt_record_ends_its_segment_without_crashing(tmp_path, caplog):
    _write(tmp_path, _rows(10)).close()
    (seg,) = sorted(tmp_path.glob("segment-*.log"))
    data = bytearray(seg.read_bytes())
    per = len(data) // 10
    data[per * 6 + 40] ^= 0xFF  # a flipped byte in record 7's payload
    seg.write_bytes(bytes(data))
    with caplog.at_level(logging.WARNING):
        rec = _open(tmp_path).recover(0)
    assert _seqs(rec) == list(range(1, 7))
    assert any(str(seg) in m for m in caplog.messages)


def test_a_hole_between_segments_is_rewritten_contiguously(tmp_path, caplog):
    _write(tmp_path, _rows(9), segment_records=3).close()
    segs = sorted(tmp_path.glob("segment-*.log"))
    assert len(segs) == 3
    segs[1].write_bytes(segs[1].read_bytes()[:-10])  # 4..6 lose 6: a hole before 7
    with caplog.at_level(logging.WARNING):
        sp = _open(tmp_path)
        rec = sp.recover(0)
    assert _seqs(rec) == list(range(1, 9))
    assert rec.renumbered == 3
    sp.close()
    assert _seqs(_open(tmp_path).recover(0)) == list(range(1, 9))  # durable, once each


def test_a_second_process_with_the_same_id_is_refused(tmp_path):
    sp = _open(tmp_path)
    with pytest.raises(SpoolError, match=f"{tmp_path}.*in use"):
        _open(tmp_path)
    sp.close()
    _open(tmp_path).close()  # released on close (and by the kernel on any death)


def test_records_of_another_config_are_refused_naming_both(tmp_path):
    _write(tmp_path, _rows(2)).close()
    with pytest.raises(SpoolError, match="config_hash: 'cfg-a' there, 'cfg-b' here"):
        ActorSpool(tmp_path, SPEC, "actor-0", "cfg-b")
    ActorSpool(tmp_path / "empty", SPEC, "actor-0", "cfg-b").close()


def test_a_bad_transition_is_refused_before_anything_is_written(tmp_path):
    sp = _open(tmp_path)
    sp.recover(0)
    bad = _rows(1)[0]
    bad["rewards"] = np.float32("nan")
    with pytest.raises(ValueError, match="rewards"):
        sp.append(1, bad)
    sp.close()
    assert not read_spool(tmp_path, SPEC)


def test_rows_of_reports_sequence_episode_step_and_flag(tmp_path):
    rows = _rows(3)
    _write(tmp_path, rows).close()
    got = [r for b in read_spool(tmp_path, SPEC) for r in rows_of(b)]
    assert [g[0] for g in got] == [1, 2, 3]
    assert [g[1:3] for g in got] == [(7, 0), (7, 1), (7, 2)]
    assert [g[3] for g in got] == [int(r["is_intervention"]) for r in rows]


def _cfg(spool: object) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"runtime": {"run_dir": "/r", "actor_spool_dir": spool}})


def test_spool_dir_setting():
    assert setup.spool_dir(_cfg("{run_dir}/spool"), "actor-3") == pathlib.Path(
        "/r/spool/actor-3")
    assert setup.spool_dir(_cfg(""), "actor-3") is None
    with pytest.raises(ValueError, match="actor_spool_dir"):
        setup.spool_dir(_cfg("{rundir}/x"), "actor-3")
