"""Atomic save/load of replay buffers: exact round trip, and a killed save loses nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from replay_helpers import check_links, insert_step, pixel_spec

from silri_jax.data import ReplayBuffer
from silri_jax.data import replay as replay_module


def filled(capacity: int = 11, episodes: int = 4, length: int = 5, gripper: bool = True):
    buf = ReplayBuffer(pixel_spec(gripper=gripper), capacity)
    for ep in range(episodes):
        for t in range(length):
            insert_step(buf, ep, t, terminated=t == length - 1, is_intervention=t % 2 == 0)
    return buf


def assert_same(a: ReplayBuffer, b: ReplayBuffer) -> None:
    assert (len(a), a.num_inserted, a.frames_written) == (len(b), b.num_inserted,
                                                          b.frames_written)
    assert a.nbytes == b.nbytes
    ra, rb = a.get(np.arange(len(a))), b.get(np.arange(len(b)))
    for key in ra:
        if isinstance(ra[key], dict):
            for k in ra[key]:
                np.testing.assert_array_equal(ra[key][k], rb[key][k])
        else:
            np.testing.assert_array_equal(ra[key], rb[key])
    sa = a.sample(np.random.default_rng(7), 16)
    sb = b.sample(np.random.default_rng(7), 16)
    np.testing.assert_array_equal(sa["observations"]["state"], sb["observations"]["state"])


def test_round_trip_is_exact_and_resumes_the_episode(tmp_path):
    buf = filled()
    insert_step(buf, 9, 0)  # an episode in progress at save time
    buf.save(tmp_path / "d_r")
    loaded = ReplayBuffer.load(tmp_path / "d_r")
    assert loaded.spec == buf.spec and loaded.capacity == buf.capacity
    assert_same(buf, loaded)
    # Both continue the same way: the next step shares the stored frame after loading too.
    insert_step(buf, 9, 1)
    insert_step(loaded, 9, 1)
    assert_same(buf, loaded)
    assert loaded.frames_written == buf.frames_written
    check_links(loaded.get(np.arange(len(loaded))))


def test_restore_into_existing_buffer_checks_the_spec(tmp_path):
    buf = filled()
    buf.save(tmp_path / "d_i")
    same = ReplayBuffer(buf.spec, buf.capacity)
    same.restore(tmp_path / "d_i")
    assert_same(buf, same)
    other = ReplayBuffer(pixel_spec(gripper=False), buf.capacity)
    with pytest.raises(ValueError, match="different spec"):
        other.restore(tmp_path / "d_i")


def test_repeated_saves_keep_one_snapshot(tmp_path):
    buf = filled()
    for ep in range(3):
        insert_step(buf, 20 + ep, 0)
        buf.save(tmp_path / "r")
    names = sorted(p.name for p in (tmp_path / "r").iterdir())
    assert len([n for n in names if n.startswith("snapshot-")]) == 1
    assert not [n for n in names if n.startswith(".tmp")]
    assert_same(buf, ReplayBuffer.load(tmp_path / "r"))


def test_exception_between_writing_and_renaming_keeps_previous_save(tmp_path, monkeypatch):
    buf = filled()
    buf.save(tmp_path / "r")
    before = ReplayBuffer.load(tmp_path / "r")
    insert_step(buf, 30, 0)

    def broken_replace(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(replay_module.os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        buf.save(tmp_path / "r")
    monkeypatch.undo()
    after = ReplayBuffer.load(tmp_path / "r")
    assert_same(before, after)
    assert after.num_inserted == buf.num_inserted - 1


def test_missing_or_corrupt_snapshot_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="LATEST"):
        ReplayBuffer.load(tmp_path / "nothing")
    snap = filled().save(tmp_path / "r")
    np.save(snap / "rewards.npy", np.zeros(3, np.float32))
    with pytest.raises(ValueError, match="rewards"):
        ReplayBuffer.load(tmp_path / "r")


SAVER = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[2])
    from replay_helpers import insert_step, pixel_spec
    from silri_jax.data import ReplayBuffer, replay
    buf = ReplayBuffer(pixel_spec(), 50)
    for t in range(40):
        insert_step(buf, 1, t)
    real_save, written = replay._save_npy, []

    def save_then_stall(path, arr):
        real_save(path, arr)
        written.append(path)
        if len(written) == 3:  # part of the snapshot is on disk: stall to be killed here
            print("midway", flush=True)
            time.sleep(600)

    replay._save_npy = save_then_stall
    buf.save(sys.argv[1])
    """
)


def test_save_killed_midway_leaves_previous_save_loadable(tmp_path):
    target = tmp_path / "r"
    first = filled()
    first.save(target)
    proc = subprocess.Popen(
        [sys.executable, "-c", SAVER, str(target), str(Path(__file__).parent)],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "midway"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == -signal.SIGKILL
    partial = [p for p in target.iterdir() if p.name.startswith(".tmp-snapshot-")]
    assert partial and len(list(partial[0].iterdir())) == 3
    loaded = ReplayBuffer.load(target)
    assert_same(first, loaded)
    # The next save cleans up the partial snapshot.
    first.save(target)
    assert not any(p.name.startswith(".tmp") for p in target.iterdir())
