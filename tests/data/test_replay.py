"""ReplayBuffer: true next observations, frame sharing, wrap-around, validation, sampling."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from replay_helpers import (
    ACTION_DIM,
    STATE_DIM,
    check_links,
    grey,
    insert_step,
    make_obs,
    pixel_spec,
)

from silri_jax import specs
from silri_jax.data import ReplayBuffer


def all_rows(buf: ReplayBuffer) -> dict:
    return buf.get(np.arange(len(buf)))


def test_episode_end_next_obs_is_the_terminal_frame():
    buf = ReplayBuffer(pixel_spec(), 100)
    for t in range(5):
        insert_step(buf, 0, t, terminated=t == 4)
    for t in range(4):
        insert_step(buf, 1, t, truncated=t == 3)
    insert_step(buf, 2, 0)
    rows = all_rows(buf)
    assert check_links(rows) == 10
    s, ns = rows["observations"]["state"], rows["next_observations"]["state"]
    # The terminal transition's next obs is (0, 5), not episode 1's first frame (1, 0).
    np.testing.assert_array_equal(ns[4, :2], [0, 5])
    np.testing.assert_array_equal(s[5, :2], [1, 0])
    np.testing.assert_array_equal(ns[8, :2], [1, 4])
    np.testing.assert_array_equal(rows["terminated"], [0, 0, 0, 0, 1, 0, 0, 0, 0, 0])
    np.testing.assert_array_equal(rows["truncated"], [0, 0, 0, 0, 0, 0, 0, 0, 1, 0])
    # Frames stored once: one per transition plus one per episode start.
    assert buf.frames_written == 10 + 3


def test_intervention_segment_edges_in_d_i():
    online = ReplayBuffer(pixel_spec(), 100)
    interv = ReplayBuffer(pixel_spec(), 100)
    for t in range(15):
        human = 5 <= t <= 9 or 12 <= t <= 13
        insert_step(online, 0, t, is_intervention=human)
        if human:
            insert_step(interv, 0, t, is_intervention=True)
    assert len(online) == 15 and len(interv) == 7
    rows = all_rows(interv)
    check_links(rows)
    s, ns = rows["observations"]["state"], rows["next_observations"]["state"]
    np.testing.assert_array_equal(s[:, 1], [5, 6, 7, 8, 9, 12, 13])
    np.testing.assert_array_equal(s[0, :2], [0, 5])  # true obs of the segment's first step
    np.testing.assert_array_equal(ns[4, :2], [0, 10])  # true next obs of its last step
    np.testing.assert_array_equal(s[5, :2], [0, 12])  # a gap starts a new frame
    np.testing.assert_array_equal(rows["is_intervention"], np.ones(7))
    assert interv.frames_written == 7 + 2
    np.testing.assert_array_equal(all_rows(online)["is_intervention"],
                                  [0] * 5 + [1] * 5 + [0, 0, 1, 1, 0])


def test_same_ids_but_different_obs_is_stored_not_linked():
    """A caller that restarts an episode under the same id still gets its true obs."""
    spec = pixel_spec()
    buf = ReplayBuffer(spec, 10)
    insert_step(buf, 3, 0)
    odd = make_obs(spec, 9, 9)  # not the previous next obs (3, 1)
    buf.insert(odd, np.zeros(ACTION_DIM, np.float32), 1.0, False, False,
               make_obs(spec, 9, 10), False, 3, 1)
    rows = all_rows(buf)
    np.testing.assert_array_equal(rows["observations"]["state"][1, :2], [9, 9])
    np.testing.assert_array_equal(rows["next_observations"]["state"][0, :2], [3, 1])


@pytest.mark.parametrize("capacity,frame_ratio", [(7, 1.25), (16, 1.0), (5, 2.0), (1, 1.0)])
def test_wrap_around_never_links_an_overwritten_frame(capacity, frame_ratio):
    rng = np.random.default_rng(capacity)
    buf = ReplayBuffer(pixel_spec(), capacity, frame_ratio=frame_ratio)
    inserted = 0
    for ep in range(60):
        length = int(rng.integers(1, 9))
        skip = int(rng.integers(0, 3))  # D_I-like gaps inside an episode
        for t in range(length):
            if skip and t == length // 2:
                continue
            insert_step(buf, ep, t, terminated=t == length - 1)
            inserted += 1
            assert buf.num_inserted == inserted
            assert 1 <= len(buf) <= capacity
            check_links(all_rows(buf))
            # The newest transition is always kept and the window is the most recent ones.
            eids, steps = buf.episode_info([len(buf) - 1])
            assert (eids[0], steps[0]) == (ep, t)
        check_links(buf.sample(rng, 64))
    assert buf.frame_capacity >= 2


def test_long_episodes_fill_the_whole_capacity():
    buf = ReplayBuffer(pixel_spec(), 20)
    for ep in range(5):
        for t in range(10):
            insert_step(buf, ep, t)
    assert len(buf) == 20 and buf.num_inserted == 50
    eids, steps = buf.episode_info(np.arange(20))
    np.testing.assert_array_equal(eids, [3] * 10 + [4] * 10)
    np.testing.assert_array_equal(steps, list(range(10)) * 2)
    check_links(all_rows(buf))


def test_short_segments_evict_by_frames_not_by_wrong_links():
    """Every transition a chain start: 2 frames each, so frames bound the length."""
    buf = ReplayBuffer(pixel_spec(), 10, frame_ratio=1.0)
    for ep in range(30):
        insert_step(buf, ep, 0)
    assert len(buf) == 5  # 10 frame slots / 2 frames per transition
    check_links(all_rows(buf))


def test_insert_many_matches_insert_one_by_one():
    spec = pixel_spec(gripper=True)
    a, b = ReplayBuffer(spec, 13), ReplayBuffer(spec, 13)
    obs, nxt, acts, eids, steps = [], [], [], [], []
    for ep in range(4):
        for t in range(6):
            insert_step(a, ep, t)
            obs.append(make_obs(spec, ep, t))
            nxt.append(make_obs(spec, ep, t + 1))
            acts.append(np.full(ACTION_DIM, (t % 10) / 10.0, np.float32))
            eids.append(ep)
            steps.append(t)
    n = len(eids)
    stack = lambda ds: {k: np.stack([d[k] for d in ds]) for k in ds[0]}  # noqa: E731
    b.insert_many(stack(obs), np.stack(acts), np.array(steps, np.float32), np.zeros(n),
                  np.zeros(n), stack(nxt), np.zeros(n, bool), np.array(eids), np.array(steps),
                  np.full(n, specs.GRIPPER_STAY))
    assert (len(a), a.num_inserted, a.frames_written) == (len(b), b.num_inserted,
                                                          b.frames_written)
    ra, rb = all_rows(a), all_rows(b)
    for key in ("actions", "rewards", "gripper_actions"):
        np.testing.assert_array_equal(ra[key], rb[key])
    for key in spec.observation.entries:
        np.testing.assert_array_equal(ra["next_observations"][key], rb["next_observations"][key])
    np.testing.assert_array_equal(ra["gripper_actions"], specs.GRIPPER_STAY)
    assert ra["gripper_actions"].dtype == np.int32


def test_sample_layout_matches_example_batch_and_utd_groups():
    spec = pixel_spec(size=16, gripper=True)
    buf = ReplayBuffer(spec, 50)
    for t in range(20):
        insert_step(buf, 0, t)
    rng = np.random.default_rng(0)
    batch = buf.sample(rng, 8)
    ref = specs.example_batch(spec, 8)

    def same_layout(x, y, lead):
        if isinstance(y, dict):
            assert set(x) == set(y)
            for k in y:
                same_layout(x[k], y[k], lead)
        else:
            assert x.shape == lead + y.shape[1:] and x.dtype == y.dtype

    same_layout(batch, ref, (8,))
    group = buf.sample(rng, 8, num_batches=3)
    same_layout(group, ref, (3, 8))
    check_links(group)


def test_decode_false_returns_stored_form_and_a_jax_decoder():
    jax = pytest.importorskip("jax")
    spec = pixel_spec(size=16)
    buf = ReplayBuffer(spec, 50)
    rng = np.random.default_rng(1)
    o = make_obs(spec, 0, 0)
    for t in range(10):  # random (not grey) images exercise the chroma path
        n = make_obs(spec, 0, t + 1)
        for key in spec.observation.image_keys:
            n[key] = rng.integers(0, 256, n[key].shape, dtype=np.uint8)
        buf.insert(o, np.zeros(ACTION_DIM, np.float32), 0.0, False, False, n, False, 0, t)
        o = n
    stored, decoder = buf.sample(np.random.default_rng(5), 6, decode=False)
    assert stored["observations"]["images/front"].shape == (6, 24, 16)  # 1.5 bytes a pixel
    host = buf.sample(np.random.default_rng(5), 6)
    on_device = jax.jit(decoder.jax)(stored)
    for field in ("observations", "next_observations"):
        for key in spec.observation.entries:
            np.testing.assert_array_equal(np.asarray(on_device[field][key]), host[field][key])


def test_sizes_and_two_128_cameras_fit_64kb():
    spec = specs.pixel_env_spec(20, 7, ("front", "wrist"), 128, has_gripper=True)
    yuv = ReplayBuffer(spec, 200)
    rgb = ReplayBuffer(spec, 200, image_codec="rgb")
    raw_frame = 2 * 128 * 128 * 3
    assert yuv.bytes_per_transition <= 64 * 1024
    assert yuv.bytes_per_transition >= 0.5 * raw_frame  # really holds the frames
    assert rgb.bytes_per_transition > raw_frame  # why the codec is needed
    assert yuv.nbytes == pytest.approx(yuv.bytes_per_transition * 200)


def test_empty_buffer_sample_raises():
    with pytest.raises(ValueError, match="empty"):
        ReplayBuffer(pixel_spec(), 4).sample(np.random.default_rng(0), 2)


def _bad_inputs(spec):
    good = dict(obs=make_obs(spec, 0, 1), action=np.zeros(ACTION_DIM, np.float32), reward=1.0,
                terminated=False, truncated=False, next_obs=make_obs(spec, 0, 2),
                is_intervention=False, episode_id=0, step=1)
    nan_state = make_obs(spec, 0, 2)
    nan_state["state"][2] = np.nan
    extra = make_obs(spec, 0, 1) | {"images/top": np.zeros((8, 8, 3), np.uint8)}
    missing = {k: v for k, v in make_obs(spec, 0, 1).items() if k != "images/wrist"}
    wrong_shape = make_obs(spec, 0, 1) | {"state": np.zeros(STATE_DIM + 1, np.float32)}
    wrong_dtype = make_obs(spec, 0, 1) | {"images/front": np.zeros((8, 8, 3), np.float32)}
    return good, [
        (dict(next_obs=nan_state), "next_obs.*state.*NaN"),
        (dict(obs=extra), "obs.*images/top"),
        (dict(obs=missing), "obs.*images/wrist"),
        (dict(obs=wrong_shape), "obs.*state.*shape"),
        (dict(obs=wrong_dtype), "obs.*images/front.*dtype"),
        (dict(action=np.array([0.0, np.inf, 0.0], np.float32)), "action.*NaN or infinite"),
        (dict(action=np.array([0.0, 1.5, 0.0], np.float32)), r"action outside \[-1, 1\]"),
        (dict(action=np.zeros(ACTION_DIM + 1, np.float32)), "action has shape"),
        (dict(reward=float("nan")), "reward.*NaN"),
        (dict(terminated=0.5), "terminated must be 0/1"),
        (dict(is_intervention="yes"), "is_intervention"),
        (dict(episode_id=1.5), "episode_id must be an integer"),
        (dict(step=-1), "step must be >= 0"),
        (dict(gripper_action=1), "gripper_action given"),
    ]


def test_bad_input_names_the_field_and_loses_nothing():
    spec = pixel_spec()
    buf = ReplayBuffer(spec, 10)
    insert_step(buf, 0, 0)
    before = all_rows(buf)
    good, cases = _bad_inputs(spec)
    for change, pattern in cases:
        with pytest.raises(ValueError, match=pattern):
            buf.insert(**(good | change))
        assert len(buf) == 1 and buf.num_inserted == 1
    after = all_rows(buf)
    np.testing.assert_array_equal(after["next_observations"]["state"],
                                  before["next_observations"]["state"])
    buf.insert(**good)  # the episode continues, sharing the stored frame
    assert buf.frames_written == 3
    check_links(all_rows(buf))


def test_gripper_is_required_and_checked():
    spec = pixel_spec(gripper=True)
    buf = ReplayBuffer(spec, 10)
    args = dict(obs=make_obs(spec, 0, 0), action=np.zeros(ACTION_DIM, np.float32), reward=0.0,
                terminated=False, truncated=False, next_obs=make_obs(spec, 0, 1),
                is_intervention=True, episode_id=0, step=0)
    with pytest.raises(ValueError, match="gripper_action is required"):
        buf.insert(**args)
    with pytest.raises(ValueError, match="gripper_action must be in"):
        buf.insert(**args, gripper_action=3)
    assert len(buf) == 0


def test_bad_row_in_insert_many_stores_nothing():
    spec = pixel_spec()
    buf = ReplayBuffer(spec, 10)
    obs = {k: np.stack([make_obs(spec, 0, t)[k] for t in range(3)]) for k in
           spec.observation.entries}
    nxt = {k: np.stack([make_obs(spec, 0, t + 1)[k] for t in range(3)]) for k in
           spec.observation.entries}
    nxt["state"][2, 3] = np.inf
    with pytest.raises(ValueError, match=r"next_obs.*state"):
        buf.insert_many(obs, np.zeros((3, ACTION_DIM), np.float32), np.zeros(3), np.zeros(3),
                        np.zeros(3), nxt, np.zeros(3), np.zeros(3, int), np.arange(3))
    assert len(buf) == 0 and buf.frames_written == 0


def test_concurrent_insert_and_sample():
    buf = ReplayBuffer(pixel_spec(), 64)
    insert_step(buf, 0, 0)
    stop = threading.Event()
    errors: list[BaseException] = []

    def writer():
        ep, t = 0, 1
        try:
            while not stop.is_set():
                end = t == 9
                insert_step(buf, ep, t, terminated=end)
                ep, t = (ep + 1, 0) if end else (ep, t + 1)
                # yield the GIL after each insert (as an ingest thread between batches):
                # a writer that never does can starve the sampler for the whole deadline
                time.sleep(0.0002)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    thread = threading.Thread(target=writer)
    thread.start()
    rng = np.random.default_rng(0)
    # Run until the ring has wrapped under the sampler and enough pairs were checked; the
    # deadline only bounds a hang, it is not a speed requirement.
    checked, deadline = 0, time.monotonic() + 120.0
    try:
        while time.monotonic() < deadline and (checked < 1000 or buf.num_inserted <= 64 * 2):
            checked += check_links(buf.sample(rng, 32))
    finally:
        stop.set()
        thread.join()
    assert not errors, errors
    assert buf.num_inserted > 64 * 2  # the ring wrapped while sampling
    assert checked >= 1000


def test_grey_helper_is_distinct_across_neighbours():
    """The link checks rely on consecutive frames differing."""
    assert grey(0, 1, 0) != grey(0, 2, 0) and grey(1, 0, 0) != grey(0, 1, 0)
