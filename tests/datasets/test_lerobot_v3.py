"""LeRobotDataset v3.0 writer, reader and validator: round trips, file rollover, random
access, interrupted writing and damaged files."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import dataset_helpers as h
import numpy as np
import pyarrow.parquet as pq
import pytest

from silri_jax.datasets.errors import DatasetError
from silri_jax.datasets.lerobot_episodes import read_episodes, write_episodes
from silri_jax.datasets.lerobot_v3 import LeRobotReader, LeRobotWriter, validate

FIELDS = ("actions", "rewards", "terminated", "truncated", "gripper_actions", "is_intervention")


def _assert_same(originals, loaded, min_psnr: float = 35.0) -> None:
    assert len(originals) == len(loaded)
    for i, (a, b) in enumerate(zip(originals, loaded, strict=True)):
        for name in FIELDS:
            np.testing.assert_array_equal(getattr(a, name), getattr(b, name),
                                          err_msg=f"episode {i} {name}")
        assert a.observations.keys() == b.observations.keys()
        for key, want in a.observations.items():
            got = b.observations[key]
            assert got.shape == want.shape and got.dtype == want.dtype, key
            if key.startswith("images/"):
                assert h.psnr(want, got) >= min_psnr, (i, key, h.psnr(want, got))
            else:
                np.testing.assert_array_equal(want, got, err_msg=f"episode {i} {key}")
        assert a.task == b.task


def test_round_trip_project_episodes(tmp_path: Path) -> None:
    spec = h.spec(gripper=True)
    eps = h.episodes(spec, [12, 7, 20])
    summary = write_episodes(tmp_path / "ds", spec, eps, fps=10)
    assert summary == {"episodes": 3, "frames": 42, "format": "lerobot_v3",
                       "cameras": ["observation.images.front", "observation.images.wrist"]}
    assert validate(tmp_path / "ds")["frames"] == 42
    spec2, back = read_episodes(tmp_path / "ds")
    assert spec2 == spec
    _assert_same(eps, back)


def test_round_trip_state_only_without_gripper(tmp_path: Path) -> None:
    from silri_jax import specs

    spec = specs.state_env_spec(state_dim=4, action_dim=2)
    eps = h.episodes(spec, [5, 1, 9])
    write_episodes(tmp_path / "ds", spec, eps, fps=30)
    spec2, back = read_episodes(tmp_path / "ds")
    assert spec2 == spec
    _assert_same(eps, back)


def test_metadata_files_match_lerobot_layout(tmp_path: Path) -> None:
    spec = h.spec()
    write_episodes(tmp_path / "ds", spec, h.episodes(spec, [4, 6]), fps=15, task="stack")
    root = tmp_path / "ds"
    info = json.loads((root / "meta/info.json").read_text())
    assert info["codebase_version"] == "v3.0" and info["fps"] == 15
    assert (info["total_episodes"], info["total_frames"], info["total_tasks"]) == (2, 12, 1)
    assert info["splits"] == {"train": "0:2"}
    assert info["data_path"] == "data/chunk-{chunk_index:03d}/file-{file_index:03d}.parquet"
    assert info["video_path"] == \
        "videos/{video_key}/chunk-{chunk_index:03d}/file-{file_index:03d}.mp4"
    cam = info["features"]["observation.images.front"]
    assert cam["dtype"] == "video" and cam["names"] == ["height", "width", "channels"]
    assert cam["info"]["video.pix_fmt"] == "yuv420p" and cam["info"]["video.fps"] == 15
    assert list(info["features"])[-5:] == ["timestamp", "frame_index", "episode_index",
                                           "index", "task_index"]
    stats = json.loads((root / "meta/stats.json").read_text())
    for key in ("observation.state", "action", "next.reward", "observation.images.front"):
        assert set(stats[key]) == {"min", "max", "mean", "std", "count", "q01", "q10", "q50",
                                   "q90", "q99"}
    img = stats["observation.images.front"]
    assert np.shape(img["mean"]) == (3, 1, 1) and 0 <= np.min(img["min"]) <= 1
    assert stats["index"]["count"] == [12]
    eps = pq.read_table(root / "meta/episodes/chunk-000/file-000.parquet").to_pylist()
    assert [e["length"] for e in eps] == [5, 7]
    assert eps[1]["dataset_from_index"] == 5 and eps[1]["dataset_to_index"] == 12
    assert eps[0]["tasks"] == ["stack"]
    assert eps[1]["videos/observation.images.front/from_timestamp"] == pytest.approx(5 / 15)
    assert "stats/observation.state/q50" in eps[0]
    tasks = pq.read_table(root / "meta/tasks.parquet")
    assert tasks.column("__index_level_0__").to_pylist() == ["stack"]


def test_chunk_and_file_rollover(tmp_path: Path) -> None:
    spec = h.spec(gripper=False)
    eps = h.episodes(spec, [6, 25, 8, 30, 7, 26])
    root = tmp_path / "ds"
    write_episodes(root, spec, eps, fps=10, chunks_size=2, data_files_size_in_mb=0.001,
                   video_files_size_in_mb=0.001)
    data = sorted(p.relative_to(root).as_posix() for p in (root / "data").rglob("*.parquet"))
    assert data[:3] == ["data/chunk-000/file-000.parquet", "data/chunk-000/file-001.parquet",
                        "data/chunk-001/file-000.parquet"]
    videos = sorted((root / "videos/observation.images.front").rglob("*.mp4"))
    assert len(videos) >= 3 and any("chunk-001" in str(p) for p in videos)
    validate(root)
    _, back = read_episodes(root)
    _assert_same(eps, back)


def test_several_episodes_share_a_file_with_true_start_times(tmp_path: Path) -> None:
    spec = h.spec(gripper=False, cameras=("front",))
    write_episodes(tmp_path / "ds", spec, h.episodes(spec, [3, 4, 5]), fps=30)
    with LeRobotReader(tmp_path / "ds") as r:
        starts = [ep["videos/observation.images.front/from_timestamp"] for ep in r.episodes]
        files = {ep["videos/observation.images.front/file_index"] for ep in r.episodes}
    assert files == {0}
    assert starts == [0.0, 4 / 30, 9 / 30]  # frame counts (T + 1 rows) over fps, exact


def test_random_frame_read_matches_episode(tmp_path: Path) -> None:
    spec = h.spec()
    eps = h.episodes(spec, [15, 9, 11])
    write_episodes(tmp_path / "ds", spec, eps, fps=10, video_files_size_in_mb=0.002)
    rng = np.random.default_rng(3)
    with LeRobotReader(tmp_path / "ds") as r:
        whole = [r.episode(i) for i in range(r.num_episodes)]
        for index in rng.permutation(r.num_frames)[:25]:
            f = r.frame(int(index))
            e, j = int(f["episode_index"]), int(f["frame_index"])
            assert f["index"] == index
            for key in ("observation.state", "action", "next.reward"):
                np.testing.assert_array_equal(f[key], whole[e][key][j])
            for key in r.camera_keys:
                np.testing.assert_array_equal(f[key], whole[e][key][j])
                assert f[key].shape == (h.SIZE, h.SIZE, 3) and f[key].dtype == np.uint8
                cam = "images/" + key.rsplit(".", 1)[1]
                assert h.psnr(f[key], eps[e].observations[cam][j]) > 30
        with pytest.raises(IndexError):
            r.frame(r.num_frames)


def _writer(root: Path, **kw) -> LeRobotWriter:
    feats = {
        "observation.state": {"dtype": "float32", "shape": (3,), "names": None},
        "observation.images.cam": {"dtype": "video", "shape": (3, 32, 32),
                                   "names": ["channels", "height", "width"]},
        "action": {"dtype": "float32", "shape": (2,), "names": None},
        "next.reward": {"dtype": "float32", "shape": (1,), "names": None},
    }
    return LeRobotWriter(root, 10, feats, **kw)


def _frame(t: int) -> dict:
    return {"observation.state": np.full(3, t, np.float32),
            "observation.images.cam": np.transpose(h.frame(0, t, 0, 32), (2, 0, 1)),
            "action": np.full(2, -t, np.float32), "next.reward": np.float32(t)}


def test_channel_first_camera_per_names(tmp_path: Path) -> None:
    with _writer(tmp_path / "ds") as w:
        for t in range(4):
            w.add_frame(_frame(t), task="x")
        w.save_episode()
    with LeRobotReader(tmp_path / "ds") as r:
        assert r.camera_shape("observation.images.cam") == (32, 32, 3)
        img = r.episode(0)["observation.images.cam"]
    assert img.shape == (4, 32, 32, 3)
    assert h.psnr(img[2], h.frame(0, 2, 0, 32)) > 30


def test_exception_mid_episode_keeps_saved_episodes(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    with pytest.raises(RuntimeError, match="operator stopped"), _writer(root) as w:
        for ep in range(2):
            for t in range(5 + ep):
                w.add_frame(_frame(t), task="x")
            w.save_episode()
        for t in range(3):
            w.add_frame(_frame(t), task="x")
        raise RuntimeError("operator stopped")
    assert validate(root) == {"episodes": 2, "frames": 11, "format": "lerobot_v3",
                              "cameras": ["observation.images.cam"]}
    with LeRobotReader(root) as r:
        np.testing.assert_array_equal(r.episode(1)["observation.state"][:, 0], np.arange(6))


def test_keyboard_interrupt_without_context_manager_finalizes_at_exit(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_lerobot_v3 import _frame, _writer
        from pathlib import Path
        w = _writer(Path({str(root)!r}))
        for t in range(4):
            w.add_frame(_frame(t), task="x")
        w.save_episode()
        w.add_frame(_frame(0), task="x")
        raise KeyboardInterrupt
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0 and "KeyboardInterrupt" in proc.stderr
    assert validate(root)["episodes"] == 1
    with LeRobotReader(root) as r:
        assert r.episode(0)["observation.images.cam"].shape == (4, 32, 32, 3)


def test_writer_rejects_bad_input_before_writing(tmp_path: Path) -> None:
    with _writer(tmp_path / "ds") as w:
        with pytest.raises(ValueError, match="missing"):
            w.add_frame({"action": np.zeros(2, np.float32)}, task="x")
        bad = _frame(0)
        bad["observation.state"] = np.zeros(4, np.float32)
        with pytest.raises(ValueError, match=r"observation.state"):
            w.add_frame(bad, task="x")
        with pytest.raises(ValueError, match="no frames"):
            w.save_episode()
    with pytest.raises(FileExistsError):
        _writer(tmp_path / "ds")


def _small_dataset(root: Path) -> None:
    spec = h.spec(gripper=False, cameras=("front",))
    write_episodes(root, spec, h.episodes(spec, [6, 8]), fps=10)


def test_corrupt_parquet_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _small_dataset(root)
    data = root / "data/chunk-000/file-000.parquet"
    data.write_bytes(data.read_bytes()[:-40])
    with pytest.raises(DatasetError, match=r"data/chunk-000/file-000\.parquet: unreadable"):
        validate(root)
    with LeRobotReader(root) as r, pytest.raises(DatasetError, match=r"file-000\.parquet"):
        r.episode(0)


def test_truncated_mp4_names_the_file(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _small_dataset(root)
    video = root / "videos/observation.images.front/chunk-000/file-000.mp4"
    video.write_bytes(video.read_bytes()[: video.stat().st_size // 2])
    with pytest.raises(DatasetError, match=r"observation\.images\.front/chunk-000/file-000\.mp4"):
        validate(root)
    with LeRobotReader(root) as r, pytest.raises(DatasetError, match=r"file-000\.mp4"):
        r.episode(1)


@pytest.mark.parametrize("text, problem", [
    ("{not json", "not valid JSON"),
    (json.dumps({"codebase_version": "v3.0"}), "lacks the keys"),
    (json.dumps({"codebase_version": "v2.1", "total_episodes": 1, "total_frames": 1,
                 "total_tasks": 1, "chunks_size": 1, "fps": 1, "data_path": "x",
                 "features": {"a": {"dtype": "float32", "shape": [1]}}}), "v2.1"),
])
def test_bad_info_json_names_the_file(tmp_path: Path, text: str, problem: str) -> None:
    root = tmp_path / "ds"
    _small_dataset(root)
    (root / "meta/info.json").write_text(text)
    with pytest.raises(DatasetError, match=r"meta/info\.json: .*" + problem):
        validate(root)
    with pytest.raises(DatasetError, match=r"meta/info\.json"):
        LeRobotReader(root)


def test_inconsistent_episode_metadata_is_reported(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    _small_dataset(root)
    info = json.loads((root / "meta/info.json").read_text())
    info["total_frames"] += 3
    (root / "meta/info.json").write_text(json.dumps(info))
    with pytest.raises(DatasetError, match="total_frames"):
        validate(root)


def test_ctrl_c_while_saving_an_episode_waits_until_it_is_written(tmp_path: Path) -> None:
    root = tmp_path / "ds"
    script = textwrap.dedent(f"""
        import os, signal, sys
        # Ctrl-C as in a terminal, also when this test runs under a shell that started it
        # with SIGINT ignored (a background job does)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from pathlib import Path
        from silri_jax.datasets.lerobot_writer import LeRobotWriter
        from test_lerobot_v3 import _frame, _writer

        original = LeRobotWriter._write_video
        def interrupted(self, key, frames):
            if self.num_episodes == 1:
                os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C between the data and the video
            return original(self, key, frames)
        LeRobotWriter._write_video = interrupted
        with _writer(Path({str(root)!r})) as w:
            for ep in range(3):
                for t in range(4):
                    w.add_frame(_frame(t), task="x")
                w.save_episode()
                print("saved", ep, flush=True)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=120)
    assert "KeyboardInterrupt" in proc.stderr
    assert proc.stdout.split() == ["saved", "0"]  # the interrupt surfaced after episode 1
    assert validate(root)["episodes"] == 2


def test_takeover_segments_are_stored_per_step_and_read_back(tmp_path: Path) -> None:
    from silri_jax import specs
    from silri_jax.datasets.episodes import segments_of

    spec = specs.state_env_spec(state_dim=4, action_dim=2)
    numbered, derived = h.episodes(spec, [6, 6])
    numbered.is_intervention = np.array([0, 1, 1, 0, 1, 1], np.uint8)
    numbered.intervention_segment = np.array([-1, 4, 4, -1, 7, 7], np.int64)
    derived.is_intervention = np.array([1, 0, 1, 1, 0, 1], np.uint8)
    assert segments_of(derived).tolist() == [0, -1, 1, 1, -1, 2]
    write_episodes(tmp_path / "ds", spec, [numbered, derived], fps=10)
    _, back = read_episodes(tmp_path / "ds")
    assert back[0].intervention_segment.tolist() == [-1, 4, 4, -1, 7, 7]
    assert back[1].intervention_segment.tolist() == [0, -1, 1, 1, -1, 2]
    validate(tmp_path / "ds")  # raises listing any problem


def test_frame_labels_are_per_row_columns_and_read_back(tmp_path: Path) -> None:
    from silri_jax import specs
    from silri_jax.data import frame_labels as fl
    from silri_jax.datasets.lerobot_episodes import LABEL_SOURCE, REWARD_LABEL

    spec = specs.state_env_spec(state_dim=4, action_dim=2)
    labelled, plain = h.episodes(spec, [5, 4])
    labelled.frame_labels = np.array([-1, 0, 0, 1, 1, 1], np.int8)
    labelled.label_sources = np.array([0, 1, 3, 1, 2, 1], np.int8)
    write_episodes(tmp_path / "ds", spec, [labelled, plain], fps=10)
    validate(tmp_path / "ds")
    with LeRobotReader(tmp_path / "ds") as reader:
        for name in (REWARD_LABEL, LABEL_SOURCE):
            assert reader.features[name]["dtype"] == "int64"
            assert list(reader.features[name]["shape"]) == [1]
        rows = reader.episode(0)
        assert len(rows["index"]) == 6  # T + 1 rows, one label each
        assert np.asarray(rows[REWARD_LABEL]).reshape(-1).tolist() == [-1, 0, 0, 1, 1, 1]
    _, back = read_episodes(tmp_path / "ds")
    assert back[0].frame_labels.tolist() == [-1, 0, 0, 1, 1, 1]
    assert back[0].label_sources.tolist() == [0, 1, 3, 1, 2, 1]
    # an unlabelled episode is written as unlabelled frames
    assert (back[1].frame_labels == fl.UNLABELLED).all()
    assert (back[1].label_sources == fl.SOURCE_NONE).all()
    assert back[1].frame_labels.shape == (5,)


def test_datasets_without_label_columns_read_with_no_labels(tmp_path: Path) -> None:
    from silri_jax import specs
    from silri_jax.datasets import lerobot_episodes as le

    spec = specs.state_env_spec(state_dim=4, action_dim=2)
    original = le.features_for

    def without(spec_):
        feats = original(spec_)
        feats.pop(le.REWARD_LABEL)
        feats.pop(le.LABEL_SOURCE)
        return feats

    original_cols = le.episode_columns

    def cols_without(spec_, ep):
        cols = original_cols(spec_, ep)
        cols.pop(le.REWARD_LABEL)
        cols.pop(le.LABEL_SOURCE)
        return cols

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(le, "features_for", without)
        mp.setattr(le, "episode_columns", cols_without)
        write_episodes(tmp_path / "old", spec, h.episodes(spec, [3, 4]), fps=10)
    _, back = read_episodes(tmp_path / "old")
    assert all(ep.frame_labels is None and ep.label_sources is None for ep in back)


def test_next_success_marks_the_terminating_step_of_a_success(tmp_path: Path) -> None:
    from silri_jax import specs
    from silri_jax.datasets.lerobot_episodes import SUCCESS

    spec = specs.state_env_spec(state_dim=4, action_dim=2)
    won, failed, demo = h.episodes(spec, [5, 5, 4])
    won.terminated, won.truncated = np.array([0, 0, 0, 0, 1], np.uint8), np.zeros(5, np.uint8)
    won.success = True
    # ended by the person's failure key: terminated, and not a success
    failed.terminated, failed.truncated = won.terminated.copy(), np.zeros(5, np.uint8)
    failed.success = False
    # a demonstration without a flag: success when it terminated
    demo.terminated, demo.truncated = np.array([0, 0, 0, 1], np.uint8), np.zeros(4, np.uint8)
    write_episodes(tmp_path / "ds", spec, [won, failed, demo], fps=10)
    with LeRobotReader(tmp_path / "ds") as reader:
        assert reader.features[SUCCESS]["dtype"] == "bool"
        rows = [np.asarray(reader.episode(i)[SUCCESS]).reshape(-1).tolist()
                for i in range(3)]
    # T + 1 rows: the terminating step's row, and the final-observation row copied from it
    assert rows[0] == [False] * 4 + [True, True]
    assert rows[1] == [False] * 6
    assert rows[2] == [False] * 3 + [True, True]
    _, back = read_episodes(tmp_path / "ds")
    assert [e.success for e in back] == [True, False, True]
    validate(tmp_path / "ds")
