"""``python -m silri_jax.robots``: infer-limits on synthetic demos (.npz and LeRobot v3),
record-pose and crop on the rehearsal (headless) with in-place task-file rewrites,
rt-check on the test backend; every bad input is one line naming the problem, exit 2."""

from __future__ import annotations

import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import threading
import types
from typing import ClassVar

import numpy as np
import pytest

from silri_jax import specs
from silri_jax.data.demos import Episode, save_demos
from silri_jax.envs import rotations
from silri_jax.robots.__main__ import main
from silri_jax.robots.config import CELLS_DIR, load_cell
from silri_jax.robots.tools import limits, task_file

PICK_CUBE = CELLS_DIR / "pick_cube.py"
DOWN = np.array([0.0, 1.0, 0.0, 0.0])  # pick_cube's reset orientation: pointing down
BOX_LOW, BOX_HIGH = np.array([0.3, -0.25, 0.005]), np.array([0.7, 0.25, 0.35])


def _run(args, capsys):
    try:
        code = main(args)
    except SystemExit as e:
        code = e.code
    out = capsys.readouterr()
    return code, out.out, out.err


def _parse(out: str) -> types.SimpleNamespace:
    """The printed config lines, executed as Python on a stand-in ``c``."""
    c = types.SimpleNamespace(cameras=types.SimpleNamespace(
        front=types.SimpleNamespace(), wrist=types.SimpleNamespace()))
    exec(compile(out, "<printed lines>", "exec"), {"c": c})
    return c


# ----------------------------------------------------------------------------- demos
def _poses(n: int, seed: int, max_deg: float = 20.0) -> tuple[np.ndarray, np.ndarray]:
    """Positions in a part of pick_cube's box and orientations within ``max_deg`` of
    pointing down."""
    rng = np.random.default_rng(seed)
    pos = rng.uniform([0.35, -0.1, 0.02], [0.55, 0.12, 0.25], (n, 3))
    quats = []
    for _ in range(n):
        axis = rng.standard_normal(3)
        axis /= np.linalg.norm(axis)
        angle = np.radians(rng.uniform(0, max_deg))
        quats.append(rotations.quat_mul(rotations.rotvec_to_quat(axis * angle), DOWN))
    return pos, np.array(quats)


def _tcp_pose(pos: np.ndarray, quats: np.ndarray) -> np.ndarray:
    """The robot env's observation: position scaled to the box, + rot6d."""
    mid, half = (BOX_HIGH + BOX_LOW) / 2, (BOX_HIGH - BOX_LOW) / 2
    r6 = np.stack([rotations.mat_to_rot6d(rotations.quat_to_mat(q)) for q in quats])
    return np.concatenate([(pos - mid) / half, r6], axis=1).astype(np.float32)


def _episodes(obs_of, lengths=(12, 7, 20), seed=0):
    """Episodes whose observations ``obs_of(pos, quats)`` builds; returns them and every
    frame's pose."""
    eps, all_pos, all_q = [], [], []
    for i, t in enumerate(lengths):
        pos, quats = _poses(t + 1, seed + i)
        all_pos.append(pos)
        all_q.append(quats)
        eps.append(Episode(observations=obs_of(pos, quats),
                           actions=np.zeros((t, 3), np.float32),
                           rewards=np.zeros(t, np.float32),
                           terminated=np.eye(1, t, t - 1, dtype=np.uint8)[0],
                           truncated=np.zeros(t, np.uint8)))
    return eps, np.concatenate(all_pos), np.concatenate(all_q)


def _robot_env_demos(path):
    spec = specs.EnvSpec(specs.ObservationSpec({
        "tcp_pose": specs.ArraySpec((9,), "float32"),
        "tcp_vel": specs.ArraySpec((6,), "float32")}), specs.ActionSpec(3))
    eps, pos, quats = _episodes(lambda p, q: {
        "tcp_pose": _tcp_pose(p, q), "tcp_vel": np.zeros((len(p), 6), np.float32)})
    save_demos(path, spec, eps)
    return pos, quats


def _assert_contains(c, pos, quats, margin_m=0.02, margin_deg=5.0):
    low, high = np.array(c.workspace_low_m), np.array(c.workspace_high_m)
    assert np.all(low <= pos.min(axis=0) - margin_m + 1e-6)
    assert np.all(high >= pos.max(axis=0) + margin_m - 1e-6)
    assert np.all(high - low < pos.max(axis=0) - pos.min(axis=0) + 2 * margin_m + 0.003)
    ref = np.array(c.reset_quat_wxyz)
    assert abs(np.linalg.norm(ref) - 1) < 1e-5
    seen = limits.geodesic_deg(quats, ref)
    assert np.all(seen + margin_deg <= c.max_orientation_error_deg + 1e-6)
    # the cone is about the largest angle seen, not a blanket 180
    assert c.max_orientation_error_deg <= seen.max() + margin_deg + 0.2
    # the mean of orientations spread around pointing down is about pointing down
    assert limits.geodesic_deg(DOWN[None], ref)[0] < 5.0


def test_infer_limits_from_robot_env_demos_with_the_cell(tmp_path, capsys):
    pos, quats = _robot_env_demos(tmp_path / "demos.npz")
    code, out, err = _run(["infer-limits", f"--demos={tmp_path / 'demos.npz'}",
                           "--cell=pick_cube"], capsys)
    assert code == 0, err
    assert "3 episodes, 42 frames" in out
    assert "tcp_pose unscaled with pick_cube" in out
    c = _parse(out)
    _assert_contains(c, pos, quats)


def test_infer_limits_margins_and_cell_reference(tmp_path, capsys):
    pos, quats = _robot_env_demos(tmp_path / "demos.npz")
    code, out, err = _run(["infer-limits", "--demos", str(tmp_path / "demos.npz"),
                           "--cell", "pick_cube", "--margin_m=0.05", "--margin_deg=2",
                           "--reference=cell"], capsys)
    assert code == 0, err
    c = _parse(out)
    assert not hasattr(c, "reset_quat_wxyz")  # the cell's own orientation is kept
    c.reset_quat_wxyz = tuple(DOWN)
    _assert_contains(c, pos, quats, margin_m=0.05, margin_deg=2.0)


def test_infer_limits_from_a_lerobot_folder_with_raw_poses_and_joints(tmp_path, capsys):
    from silri_jax.datasets import save_episodes

    spec = specs.EnvSpec(specs.ObservationSpec({
        "ee_pos": specs.ArraySpec((3,), "float32"),
        "ee_quat": specs.ArraySpec((4,), "float32"),
        "q": specs.ArraySpec((7,), "float32")}), specs.ActionSpec(3))
    joints = []

    def obs(p, q):
        j = np.random.default_rng(len(joints)).uniform(-1, 1, (len(p), 7))
        joints.append(j)
        return {"ee_pos": p.astype(np.float32), "ee_quat": q.astype(np.float32),
                "q": j.astype(np.float32)}

    eps, pos, quats = _episodes(obs, lengths=(9, 15))
    save_episodes(tmp_path / "lerobot", spec, eps)
    code, out, err = _run(["infer-limits", f"--demos={tmp_path / 'lerobot'}"], capsys)
    assert code == 0, err
    assert "ee_pos + observation.ee_quat (raw pose)" in out
    _assert_contains(_parse(out), pos, quats)
    ns: dict = {}
    exec("\n".join(line[2:] for line in out.splitlines() if line.startswith("# q_m")), ns)
    j = np.concatenate(joints).astype(np.float32)
    assert np.all(np.array(ns["q_min_rad"]) <= j.min(axis=0) - np.radians(5) + 1e-5)
    assert np.all(np.array(ns["q_max_rad"]) >= j.max(axis=0) + np.radians(5) - 1e-5)


def test_infer_limits_scaled_pose_without_cell_says_to_pass_it(tmp_path, capsys):
    _robot_env_demos(tmp_path / "demos.npz")
    code, _, err = _run(["infer-limits", f"--demos={tmp_path / 'demos.npz'}"], capsys)
    assert code == 2
    assert err.startswith("silri_jax.robots: error:") and err.count("\n") == 1
    assert "--cell" in err and "tcp_pose [9], tcp_vel [6]" in err


def test_infer_limits_no_pose_names_the_keys_found(tmp_path, capsys):
    spec = specs.state_env_spec(5, 3)
    eps = [Episode({"state": np.zeros((4, 5), np.float32)}, np.zeros((3, 3), np.float32),
                   np.zeros(3, np.float32), np.zeros(3, np.uint8), np.ones(3, np.uint8))]
    save_demos(tmp_path / "state.npz", spec, eps)
    code, _, err = _run(["infer-limits", f"--demos={tmp_path / 'state.npz'}"], capsys)
    assert code == 2
    assert "no end-effector pose" in err and "keys found: state [5]" in err


def test_infer_limits_missing_demos(tmp_path, capsys):
    code, _, err = _run(["infer-limits", f"--demos={tmp_path / 'none.npz'}"], capsys)
    assert code == 2
    assert "none.npz: does not exist" in err


# ----------------------------------------------------------------------------- record-pose
def test_record_pose_on_the_rehearsal_prints_the_reset_pose(capsys):
    code, out, err = _run(["record-pose", "--robot=sim_franka"], capsys)
    assert code == 0, err
    c = _parse(out)
    cell = load_cell("pick_cube")
    assert np.linalg.norm(np.array(c.reset_pos_m) - np.array(cell.reset_pos_m)) < 0.005
    assert limits.geodesic_deg(np.array([c.reset_quat_wxyz]), np.array(
        cell.reset_quat_wxyz))[0] < 1.0


def _changed_lines(before: bytes, after: bytes) -> list[tuple[bytes, bytes]]:
    a, b = before.splitlines(keepends=True), after.splitlines(keepends=True)
    assert len(a) == len(b)
    return [(x, y) for x, y in zip(a, b, strict=True) if x != y]


def test_record_pose_write_rewrites_only_the_two_lines(tmp_path, capsys):
    task = tmp_path / "my_cell.py"
    original = PICK_CUBE.read_bytes().replace(
        b"c.reset_pos_m = (0.45, 0.0, 0.22)", b"c.reset_pos_m = (0.5, 0.05, 0.2)  # old"
    ).replace(b"c.reset_quat_wxyz = (0.0, 1.0, 0.0, 0.0)",
              b"c.reset_quat_wxyz = (0.0,\n                         1.0, 0.0, 0.0)")
    task.write_bytes(original)
    code, out, err = _run(["record-pose", "--robot=sim_franka", "--cell=pick_cube",
                           f"--write={task}"], capsys)
    assert code == 0, err
    assert f"into {task}" in out
    new = task.read_bytes()
    cell = load_cell(str(task))
    assert np.allclose(cell.reset_pos_m, (0.45, 0.0, 0.22), atol=0.005)
    assert np.allclose(cell.reset_quat_wxyz, (0.0, 1.0, 0.0, 0.0), atol=1e-3)
    # everything else byte-identical: the old lines' text differs only in their values
    head = original[: original.index(b"c.reset_pos_m")]
    assert new.startswith(head)
    assert new.endswith(original[original.index(b"    c.reset_xy_range_m"):])
    assert b"# old" in new  # the comment after the value stays
    assert new.count(b"\n") == original.count(b"\n") - 1  # the two-line value became one


def test_record_pose_write_refuses_a_file_without_the_lines(tmp_path, capsys):
    task = tmp_path / "bare.py"
    text = PICK_CUBE.read_text().replace("    c.reset_quat_wxyz = (0.0, 1.0, 0.0, 0.0)\n", "")
    task.write_text(text)
    code, _, err = _run(["record-pose", "--robot=sim_franka", "--cell=pick_cube",
                         f"--write={task}"], capsys)
    assert code == 2
    assert "no line 'c.reset_quat_wxyz = ...'" in err
    assert task.read_text() == text


def test_record_pose_write_refuses_a_pose_outside_the_box(tmp_path, capsys):
    task = tmp_path / "small_box.py"
    text = PICK_CUBE.read_text().replace(
        "c.workspace_high_m = (0.7, 0.25, 0.35)", "c.workspace_high_m = (0.7, 0.25, 0.1)"
    ).replace("c.reset_pos_m = (0.45, 0.0, 0.22)", "c.reset_pos_m = (0.45, 0.0, 0.05)")
    task.write_text(text)
    code, _, err = _run(["record-pose", "--robot=sim_franka", "--cell=pick_cube",
                         f"--write={task}"], capsys)
    assert code == 2
    assert "must lie inside the workspace box" in err and "left unchanged" in err
    assert task.read_text() == text
    assert list(tmp_path.iterdir()) == [task]  # no temporary file left behind


class _HeldArm:
    """A stand-in for a real arm's ``Bridge``: records how it was built, reports a pose."""

    built: ClassVar[dict] = {}

    def __init__(self, backend, **kwargs):
        _HeldArm.built = {"backend": backend, **kwargs}
        self.reads = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def wait_ticks(self, n, timeout=10.0):
        return True

    def check(self):
        return None

    def state(self):
        self.reads += 1
        wobble = 1e-4 * (-1) ** self.reads
        return types.SimpleNamespace(ee_position=np.array([0.5, 0.1 + wobble, 0.3]),
                                     ee_quat=np.array([0.0, -1.0, 0.0, 0.0]))


def test_record_pose_on_a_real_arm_holds_it_and_averages(monkeypatch, capsys):
    import silri_jax.bridge

    monkeypatch.setattr(silri_jax.bridge, "Bridge", _HeldArm)
    code, out, err = _run(["record-pose", "--robot=franka_fr3", "--robot_ip=10.0.0.2"],
                          capsys)
    assert code == 0, err
    c = _parse(out)
    assert c.reset_pos_m == (0.5, 0.1, 0.3)  # the mean of the readings
    assert c.reset_quat_wxyz == (0.0, 1.0, 0.0, 0.0)  # one sign
    assert "franka fr3 arm at 10.0.0.2" in out
    built = _HeldArm.built
    assert built["backend"] == "franka" and built["run"] == "realtime"
    assert built["robot_ip"] == "10.0.0.2"
    # the cell's box is not applied: an arm outside it is not pulled in
    assert np.all(built["limits"]["box_min"] <= -10) and np.all(built["limits"]["box_max"] >= 10)


def test_record_pose_without_the_sdk_names_the_arm(capsys):
    from silri_jax.cpp_bridge import _bridge

    if _bridge.HAVE_FRANKA:
        pytest.skip("this build has libfranka")
    code, _, err = _run(["record-pose", "--robot=franka_fr3"], capsys)
    assert code == 2
    assert "cannot reach the franka arm at 172.16.0.2" in err and "libfranka" in err


def test_record_pose_unknown_robot(capsys):
    code, _, err = _run(["record-pose", "--robot=sim_nothing"], capsys)
    assert code == 2
    assert "sim_nothing" in err and "known:" in err and "sim_franka" in err


# ----------------------------------------------------------------------------- crop
def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])  # width, height


def test_crop_on_the_rehearsal_writes_pngs(tmp_path, capsys):
    code, out, err = _run(["crop", "--cell=pick_cube", "--robot=sim_franka",
                           f"--out_dir={tmp_path}"], capsys)
    assert code == 0, err
    for name in ("front", "wrist"):
        assert _png_size(tmp_path / f"{name}_full.png") == (128, 128)
        assert _png_size(tmp_path / f"{name}_crop.png") == (64, 64)
    c = _parse(out)
    assert c.cameras.front.crop == (0, 0, 128, 128)  # no crop set: the centred square


def test_crop_set_writes_the_camera_entry(tmp_path, capsys):
    task = tmp_path / "my_cell.py"
    shutil.copy(PICK_CUBE, task)
    original = task.read_bytes()
    code, out, err = _run(["crop", f"--cell={task}", "--camera=wrist", "--set=8,16,96,96",
                           f"--out_dir={tmp_path / 'png'}"], capsys)
    assert code == 0, err
    assert f"# wrote cameras.wrist.crop = (8, 16, 96, 96) into {task}" in out
    assert sorted(p.name for p in (tmp_path / "png").iterdir()) == [
        "wrist_crop.png", "wrist_full.png"]
    assert tuple(load_cell(str(task)).cameras.wrist.crop) == (8, 16, 96, 96)
    assert tuple(load_cell(str(task)).cameras.front.crop) == ()
    changed = _changed_lines(original, task.read_bytes())
    assert len(changed) == 1 and changed[0][1].strip() == b"size=64, crop=(8, 16, 96, 96)),"
    # a second --set replaces the value it wrote
    code, _, err = _run(["crop", f"--cell={task}", "--camera=wrist", "--set=0,0,64,64",
                         f"--out_dir={tmp_path / 'png'}"], capsys)
    assert code == 0, err
    assert tuple(load_cell(str(task)).cameras.wrist.crop) == (0, 0, 64, 64)


def test_crop_as_a_command_with_egl(tmp_path):
    env = {**os.environ, "MUJOCO_GL": "egl"}
    run = subprocess.run([sys.executable, "-m", "silri_jax.robots", "crop", "--cell=pick_cube",
                          "--camera=front", f"--out_dir={tmp_path}"],
                         capture_output=True, text=True, timeout=300, env=env)
    assert run.returncode == 0, run.stderr
    assert _png_size(tmp_path / "front_full.png") == (128, 128)
    assert "c.cameras.front.crop = (0, 0, 128, 128)" in run.stdout


@pytest.mark.parametrize("extra, message", [
    (["--camera=side"], "unknown camera 'side': the cell's cameras are front, wrist"),
    (["--set=0,0,64,64"], "--set writes one camera's crop"),
    (["--camera=front", "--set=0,0,640,64"], "exceeds its 128x128 frame"),
    (["--camera=front", "--set=0,0,64"], "top, left, height, width"),
])
def test_crop_bad_input(extra, message, tmp_path, capsys):
    task = tmp_path / "my_cell.py"
    shutil.copy(PICK_CUBE, task)
    code, _, err = _run(["crop", f"--cell={task}", f"--out_dir={tmp_path}", *extra], capsys)
    assert code == 2
    assert message in err and err.count("\n") == 1
    assert task.read_bytes() == PICK_CUBE.read_bytes()


def test_crop_missing_task_file(tmp_path, capsys):
    code, _, err = _run(["crop", f"--cell={tmp_path / 'none.py'}"], capsys)
    assert code == 2
    assert "none.py" in err and "no such file" in err


# ----------------------------------------------------------------------------- task files
def test_task_file_adds_a_keyword_on_its_own_line_when_the_line_is_long(tmp_path):
    path = tmp_path / "cell.py"
    path.write_text(PICK_CUBE.read_text().replace(
        'wrist=camera_config(backend="mujoco", device="wrist", width=128, height=128, fps=0,'
        '\n                            size=64),',
        'wrist=camera_config(backend="mujoco", device="wrist", width=128, height=128, '
        'fps=0, size=64),'))
    edit = task_file.TaskFile(path).set_camera_field("wrist", "crop", "(1, 2, 3, 4)")
    assert edit.text.startswith(b",\n")
    task_file.rewrite(path, lambda t: [t.set_camera_field("wrist", "crop", "(1, 2, 3, 4)")],
                      lambda cell: None)
    assert tuple(load_cell(str(path)).cameras.wrist.crop) == (1, 2, 3, 4)
    added = [line for line in path.read_text().splitlines() if "crop=" in line]
    assert added == [" " * 28 + "crop=(1, 2, 3, 4)),"]  # under the call's arguments


def test_task_file_prefers_an_assignment_and_refuses_duplicates(tmp_path):
    path = tmp_path / "cell.py"
    text = PICK_CUBE.read_text().replace(
        "    return c\n", "    c.cameras.front.crop = (0, 0, 10, 10)\n    return c\n")
    path.write_text(text)
    t = task_file.TaskFile(path)
    e = t.set_camera_field("front", "crop", "(1, 1, 5, 5)")
    assert t.source[e.start: e.end] == b"(0, 0, 10, 10)"
    path.write_text(text.replace("    c.reset_xy_range_m", "    c.reset_pos_m = (0.4, 0.0, "
                                 "0.2)\n    c.reset_xy_range_m"))
    with pytest.raises(ValueError, match="reset_pos_m is set on several lines"):
        task_file.TaskFile(path).replace_value("reset_pos_m", "(0.4, 0.0, 0.2)")


# ----------------------------------------------------------------------------- rt-check
RT_FIELDS = ("rate_hz", "period_us", "ticks", "overruns", "period_us_p50", "period_us_p99",
             "period_us_max", "period_error_us_p99", "wake_late_us_p99", "holds_rate",
             "scheduling", "network")


def test_rt_check_on_the_test_backend_prints_json(capsys):
    code, out, err = _run(["rt-check", "--seconds=1"], capsys)
    assert code == 0, err
    lines = out.strip().splitlines()
    assert lines[0].startswith("this machine ")
    result = json.loads(lines[-1])
    for field in RT_FIELDS:
        assert field in result
    assert result["rate_hz"] == 1000.0 and result["period_us"] == 1000.0
    assert result["ticks"] > 500
    assert result["network"] is None
    assert isinstance(result["holds_rate"], bool)


def test_rt_check_probes_the_arm_over_tcp(capsys):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    stop = threading.Event()

    def accept():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                server.accept()[0].close()
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        code, out, err = _run(["rt-check", "--robot=ur5e", "--robot_ip=127.0.0.1",
                               f"--port={port}", "--seconds=0.2"], capsys)
    finally:
        stop.set()
        thread.join()
        server.close()
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["rate_hz"] == 500.0  # the UR e-Series loop
    net = result["network"]
    assert net["port"] == port and net["tries"] == 5 and net["connect_ms_p50"] >= 0
    assert "TCP connect to 127.0.0.1" in out


def test_rt_check_unreachable_arm_is_reported(capsys):
    with socket.create_server(("127.0.0.1", 0)) as s:
        port = s.getsockname()[1]  # closed again: nothing listens there
    code, out, _ = _run(["rt-check", "--robot=franka_fr3", "--robot_ip=127.0.0.1",
                         f"--port={port}", "--seconds=0.2", "--strict"], capsys)
    assert code == 1
    assert "unreachable" in out
    assert "error" in json.loads(out.strip().splitlines()[-1])["network"]


def test_rt_check_bad_seconds(capsys):
    code, _, err = _run(["rt-check", "--seconds=0"], capsys)
    assert code == 2
    assert "must be > 0" in err
