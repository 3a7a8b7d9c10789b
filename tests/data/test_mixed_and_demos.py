"""MixedSampler proportions and empty-buffer rules; demo files and their insertion."""

from __future__ import annotations

import numpy as np
import pytest
from replay_helpers import ACTION_DIM, check_links, insert_step, make_obs, pixel_spec

from silri_jax import specs
from silri_jax.data import Episode, MixedSampler, ReplayBuffer, insert_demos, load_demos, save_demos


def buffers():
    online, interv = ReplayBuffer(pixel_spec(), 200), ReplayBuffer(pixel_spec(), 200)
    for t in range(30):  # online: policy only, episodes >= 0
        insert_step(online, 0, t)
    for t in range(10):  # intervention: a demo episode with a negative id
        insert_step(interv, -1, t, is_intervention=True)
    return online, interv


def test_mixed_batches_are_half_and_half():
    online, interv = buffers()
    sampler = MixedSampler(online, interv, batch_size=256)
    batch = sampler.sample(np.random.default_rng(0))
    assert batch["actions"].shape == (256, ACTION_DIM)
    check_links(batch)
    source_is_demo = batch["observations"]["state"][:, 0] < 0
    assert source_is_demo.sum() == 128
    assert batch["is_intervention"].sum() == 128
    np.testing.assert_array_equal(source_is_demo[128:], True)  # D_I rows come last


def test_mixed_utd_groups_and_other_ratios():
    online, interv = buffers()
    group = MixedSampler(online, interv, batch_size=64, ratio=0.25).sample(
        np.random.default_rng(1), num_batches=2)
    assert group["rewards"].shape == (2, 64)
    np.testing.assert_array_equal(group["is_intervention"].sum(axis=1), [16, 16])
    check_links(group)


def test_empty_d_i_gives_the_whole_batch_from_d_r_and_vice_versa():
    online, interv = buffers()
    empty = ReplayBuffer(pixel_spec(), 10)
    batch = MixedSampler(online, empty, batch_size=32).sample(np.random.default_rng(2))
    assert batch["rewards"].shape == (32,) and batch["is_intervention"].sum() == 0
    batch = MixedSampler(empty, interv, batch_size=32).sample(np.random.default_rng(2))
    assert batch["is_intervention"].sum() == 32
    with pytest.raises(ValueError, match="both D_R and D_I are empty"):
        MixedSampler(empty, ReplayBuffer(pixel_spec(), 10), 8).sample(np.random.default_rng(0))


def test_mixed_rejects_mismatched_buffers():
    online, _ = buffers()
    with pytest.raises(ValueError, match="codec"):
        MixedSampler(online, ReplayBuffer(pixel_spec(), 10, image_codec="rgb"))
    with pytest.raises(ValueError, match="spec"):
        MixedSampler(online, ReplayBuffer(pixel_spec(gripper=True), 10))


def demo_episode(spec: specs.EnvSpec, eid: int, length: int, truncated: bool) -> Episode:
    return Episode(
        observations={k: np.stack([make_obs(spec, eid, t)[k] for t in range(length + 1)])
                      for k in spec.observation.entries},
        actions=np.stack([np.full(ACTION_DIM, (t % 10) / 10.0, np.float32)
                          for t in range(length)]),
        rewards=np.arange(length, dtype=np.float32),
        terminated=np.eye(length, dtype=np.uint8)[-1] * (not truncated),
        truncated=np.eye(length, dtype=np.uint8)[-1] * truncated,
        gripper_actions=np.full(length, specs.GRIPPER_CLOSE, np.int32),
    )


def test_demo_file_round_trip_and_insertion(tmp_path):
    spec = pixel_spec(gripper=True)
    episodes = [demo_episode(spec, -1, 4, False), demo_episode(spec, -2, 3, True)]
    save_demos(tmp_path / "demos.npz", spec, episodes)
    with np.load(tmp_path / "demos.npz", allow_pickle=False) as z:
        assert z["frames/images/front"].shape == (4 + 3 + 2, 8, 8, 3)
        np.testing.assert_array_equal(z["lengths"], [4, 3])
    loaded_spec, loaded = load_demos(tmp_path / "demos.npz")
    assert loaded_spec == spec and [len(e) for e in loaded] == [4, 3]
    for a, b in zip(episodes, loaded, strict=True):
        np.testing.assert_array_equal(a.observations["state"], b.observations["state"])
        np.testing.assert_array_equal(a.truncated, b.truncated)
        np.testing.assert_array_equal(a.gripper_actions, b.gripper_actions)

    d_i = ReplayBuffer(spec, 50)
    assert insert_demos(d_i, loaded) == 7
    rows = d_i.get(np.arange(7))
    check_links(rows)
    np.testing.assert_array_equal(rows["is_intervention"], np.ones(7))
    # Episode ends link to their own final frame, not the next demo's first frame.
    np.testing.assert_array_equal(rows["next_observations"]["state"][3, :2], [-1, 4])
    np.testing.assert_array_equal(rows["observations"]["state"][4, :2], [-2, 0])
    np.testing.assert_array_equal(rows["terminated"], [0, 0, 0, 1, 0, 0, 0])
    np.testing.assert_array_equal(rows["truncated"], [0, 0, 0, 0, 0, 0, 1])
    eids, _ = d_i.episode_info(np.arange(7))
    np.testing.assert_array_equal(eids, [-1] * 4 + [-2] * 3)


def test_bad_demo_names_the_episode_and_field(tmp_path):
    spec = pixel_spec(gripper=True)
    ep = demo_episode(spec, -1, 4, False)
    ep.observations["state"] = ep.observations["state"][:-1]  # forgot the final frame
    with pytest.raises(ValueError, match=r"episode 0: observations 'state' has 4 frames"):
        save_demos(tmp_path / "d.npz", spec, [ep])
    assert not (tmp_path / "d.npz").exists()
