"""The robot env on the bridge: resets, faults, stale cameras, the gripper worker, configs.

Everything runs on the bridge's MuJoCo backend in lockstep (the rehearsal's arm) or on
its test backend in real time, with the simulated gripper, fake grippers and fake
cameras standing in for hardware.
"""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from silri_jax import config_files, envs, specs
from silri_jax.envs import rotations
from silri_jax.grippers.base import DriverReading, GripperDriver, GripperWorker
from silri_jax.robots import config as robot_configs
from silri_jax.robots.arm import ArmError, LockstepArm, RealtimeArm
from silri_jax.robots.env import RobotEnv, impedance_gains, safety_limits
from silri_jax.robots.factory import bridge_settings, make_robot_env, spec_from_config
from silri_jax.robots.resets import ResetError
from silri_jax.robots.sim_cell import SimCell
from silri_jax.training import build


def _config(robot: str = "sim_franka", **cell_overrides) -> object:
    c = config_files.train_config("silri_pick_cube_state")
    c.robot = robot
    return c


def _cell(**overrides):
    cell = robot_configs.load_cell("pick_cube")
    for k, v in overrides.items():
        cell[k] = v
    return cell


def _sim_env(cell=None, robot=None, **kwargs) -> RobotEnv:
    robot = robot or robot_configs.load_robot("sim_franka")
    cell = cell or _cell()
    cell.cameras = robot_configs.cell_config().cameras  # none: these tests need no pixels
    scene = SimCell(str(cell.sim_scene), np.asarray(cell.reset_pos_m),
                    np.asarray(cell.reset_quat_wxyz), bridge_settings(robot, cell))
    return RobotEnv(robot, cell, LockstepArm(scene.controller, scene.lock), scene=scene,
                    **kwargs)


# ----------------------------------------------------------------------------- resets
def test_resets_reach_their_pose_within_tolerance_with_the_random_offset_in_range():
    env = _sim_env()
    cell = env.cell
    starts = []
    for seed in range(4):
        env.reset(seed=seed)
        pos, quat = env.current_pose()
        goal_pos, goal_quat = env.resets.last_goal
        err_pos = np.linalg.norm(pos - goal_pos)
        err_rot = np.linalg.norm(rotations.delta_between(quat, goal_quat))
        assert err_pos <= cell.reset_tolerance_m, (seed, err_pos)
        assert err_rot <= cell.reset_tolerance_rad, (seed, err_rot)
        offset = pos[:2] - np.asarray(cell.reset_pos_m)[:2]
        assert np.all(np.abs(offset) <= cell.reset_xy_range_m + cell.reset_tolerance_m)
        starts.append(pos[:2].copy())
    assert np.ptp(np.asarray(starts), axis=0).max() > 0.005, "the start offset is random"
    env.close()


def test_a_reset_that_cannot_reach_its_pose_names_the_distance_left():
    cell = _cell(reset_timeout_s=0.3, reset_tolerance_m=1e-5)
    env = _sim_env(cell=cell)
    with pytest.raises(ResetError, match=r"reset lift: the arm is still .* mm"):
        env.reset(seed=0)
    env.close()


def test_a_reset_waits_for_the_operators_continue_event(caplog):
    presses = iter([False, False, False, True])
    calls = []

    def operator_continue() -> bool:
        calls.append(1)
        return next(presses)

    env = _sim_env(cell=_cell(wait_for_operator=True), operator_continue=operator_continue)
    with caplog.at_level("WARNING", logger="silri_jax.robots.resets"):
        _, info = env.reset(seed=0)
    assert len(calls) == 4 and "wait" in info["reset_s"]
    # the person at the robot is told what the reset waits for, once
    said = [r.getMessage() for r in caplog.records if "waiting for the operator" in
            r.getMessage()]
    assert len(said) == 1 and "press continue" in said[0]
    env.close()


def test_waiting_for_the_operator_without_a_device_is_refused():
    env = _sim_env(cell=_cell(wait_for_operator=True))
    with pytest.raises(ResetError, match="no teleop device can say continue"):
        env.reset(seed=0)
    env.close()


# ----------------------------------------------------------------------------- faults
def test_a_fault_truncates_the_episode_and_is_never_cleared_without_recover():
    env = _sim_env()
    env.reset(seed=0)
    pose = np.concatenate(env.current_pose())
    env.step({"pose": pose, "gripper": specs.GRIPPER_STAY})
    # No set-point for longer than policy_timeout_s + the watchdog's stop time: the bridge
    # holds, then stops (WATCHDOG_STOP), as when the policy process hangs.
    from silri_jax.bridge.errors import ControlFault

    with pytest.raises(ControlFault, match="watchdog_stop"):
        env.arm.advance(4.0)
    _, _, terminated, truncated, info = env.step({"pose": pose, "gripper": 1})
    assert truncated and not terminated
    assert "watchdog_stop" in info["robot_fault"]
    with pytest.raises(ControlFault):
        env.arm.advance(1.0)
    assert env.arm.state().faulted, "a fault must not clear by itself"
    with pytest.raises(ArmError, match="call recover"):
        env.reset(seed=1)
    assert env.arm.state().faulted
    assert env.recover()
    env.reset(seed=1)
    assert not env.arm.state().faulted
    env.close()


def test_after_a_fault_the_next_reset_recovers_only_on_the_operators_continue():
    from silri_jax.bridge.errors import ControlFault

    presses = iter([False, False, True])
    asked = []

    def operator_continue() -> bool:
        asked.append(env.arm.state().faulted)
        return next(presses)

    env = _sim_env(operator_continue=operator_continue)
    env.reset(seed=0)
    with pytest.raises(ControlFault):
        env.arm.advance(4.0)  # a hung policy: the watchdog holds, then stops the arm
    pose = np.concatenate(env.current_pose())
    _, _, _, truncated, info = env.step({"pose": pose, "gripper": 1})
    assert truncated and info["robot_fault"]
    env.reset(seed=1)
    assert asked == [True, True, True], "faulted until the person pressed continue"
    assert not env.arm.state().faulted and not env.fault
    env.close()


def test_a_non_finite_or_malformed_action_is_refused_before_the_arm():
    env = _sim_env()
    env.reset(seed=0)
    pose = np.concatenate(env.current_pose())
    bad = pose.copy()
    bad[2] = np.nan
    with pytest.raises(ValueError, match="7 finite numbers"):
        env.step({"pose": bad, "gripper": 1})
    with pytest.raises(ValueError, match="gripper command"):
        env.step({"pose": pose, "gripper": 5})
    env.close()


# ----------------------------------------------------------------------------- cameras
def test_a_stale_camera_frame_is_refused_and_the_step_says_which():
    from silri_jax.cameras.fake import FakeCamera
    from silri_jax.cameras.pipeline import CameraRig

    cam = FakeCamera("front", fps=60.0)
    rig = CameraRig({"front": cam}, size=16, max_age_s={"front": 0.1})
    env = _sim_env(cameras=rig)
    obs, _ = env.reset(seed=0)
    assert obs["images/front"].shape == (16, 16, 3)
    pose = np.concatenate(env.current_pose())
    _, _, _, truncated, info = env.step({"pose": pose, "gripper": 1})
    assert not truncated and "stale_cameras" not in info
    cam.stall()
    time.sleep(0.3)
    _, _, _, truncated, info = env.step({"pose": pose, "gripper": 1})
    assert truncated and info["stale_cameras"] == ["front"]
    env.close()


# ----------------------------------------------------------------------------- gripper
class _BlockingDriver(GripperDriver):
    """A gripper whose motions block until released: a step must not wait for it."""

    name = "blocking test gripper"

    def __init__(self) -> None:
        self.release = threading.Event()
        self.started = threading.Event()
        self.motions: list[int] = []

    def connect(self) -> None:
        pass

    def disconnect(self) -> None:
        self.release.set()

    def start_motion(self, command: int) -> None:
        self.motions.append(command)
        self.started.set()
        self.release.wait(10.0)

    def read(self) -> DriverReading:
        return DriverReading(0.08, False, False)


def _realtime_env(gripper=None) -> RobotEnv:
    from silri_jax.bridge import Bridge

    robot = robot_configs.load_robot("sim_franka")
    cell = _cell()
    cell.cameras = robot_configs.cell_config().cameras
    settings = bridge_settings(robot, cell)
    # the test plant starts at the cell's reset pose (a real arm starts where it stands)
    plant = {"initial_position": list(cell.reset_pos_m),
             "initial_quat": list(cell.reset_quat_wxyz), "damping": 5.0}
    bridge = Bridge("test", run="realtime", plant=plant, **settings)
    arm = RealtimeArm(bridge)
    arm.start()
    return RobotEnv(robot, cell, arm, gripper=gripper)


def test_a_gripper_command_never_waits_for_the_gripper_on_a_real_time_arm():
    driver = _BlockingDriver()
    worker = GripperWorker(driver, refractory_s=0.0, poll_s=0.01).start()
    env = _realtime_env(gripper=worker)
    try:
        # the reset's open command is the first motion: let it through
        waiter = threading.Thread(target=lambda: (driver.started.wait(5), driver.release.set()))
        waiter.start()
        env.reset(seed=0)
        waiter.join()
        driver.release.clear()
        driver.started.clear()
        pose = np.concatenate(env.current_pose())
        env.step({"pose": pose, "gripper": specs.GRIPPER_CLOSE})
        # the step returned; the worker took the close and is still inside the motion
        assert driver.started.wait(2.0)
        assert not driver.release.is_set()
        for _ in range(3):  # further steps go on while the gripper is busy
            env.step({"pose": pose, "gripper": specs.GRIPPER_STAY})
        assert driver.motions == [specs.GRIPPER_OPEN, specs.GRIPPER_CLOSE]
    finally:
        driver.release.set()
        env.close()


def test_the_rehearsal_gripper_closes_on_command_and_opens_at_reset():
    env = make_robot_env(_config())
    base = env.unwrapped
    env.reset(seed=0)
    assert base.gripper_width() > 0.07
    for _ in range(8):
        env.step({"action": np.array([0.0, 0.0, 0.0], np.float32),
                  "gripper": specs.GRIPPER_CLOSE})
    assert base.gripper_width() < 0.01
    env.reset(seed=1)
    assert base.gripper_width() > 0.07
    env.close()


# ----------------------------------------------------------------------------- real time
def test_a_real_time_arm_steps_at_the_control_period_and_counts_overruns():
    now = [0.0]
    slept: list[float] = []

    def clock() -> float:
        return now[0]

    def sleep(dt: float) -> None:
        slept.append(dt)
        now[0] += dt

    class _Bridge:
        running = True

    arm = RealtimeArm(_Bridge(), clock=clock, sleep=sleep)
    arm.advance(0.1)
    now[0] += 0.03  # the step's own work
    arm.advance(0.1)
    assert slept == pytest.approx([0.1, 0.07])
    now[0] += 0.25  # a step that overran its period
    arm.advance(0.1)
    assert arm.overruns == 1 and len(slept) == 2
    arm.advance(0.1)  # the next period starts from the overrun, no catch-up burst
    assert slept[-1] == pytest.approx(0.1)


def test_the_robot_env_drives_a_real_time_bridge():
    env = _realtime_env()
    try:
        env.reset(seed=0)
        pos, quat = env.current_pose()
        goal = pos + np.array([0.02, 0.0, 0.0])
        for _ in range(10):
            _, _, _, truncated, info = env.step({"pose": np.concatenate([goal, quat]),
                                                 "gripper": 1})
            assert not truncated, info
        assert np.linalg.norm(env.current_pose()[0] - goal) < 0.01
    finally:
        env.close()


# ----------------------------------------------------------------------------- the stack
def test_the_spec_from_the_configs_is_the_built_envs():
    c = _config()
    env = make_robot_env(c)
    assert envs.env_spec(env) == spec_from_config(c)
    obs, _ = env.reset(seed=0)
    assert set(obs) == {"tcp_pose", "tcp_vel", "gripper", "images/front", "images/wrist"}
    env.close()


def test_the_wrench_is_observed_when_the_cell_asks_for_it():
    from silri_jax.bridge import Bridge

    robot = robot_configs.load_robot("sim_franka")
    cell = _cell(wrench_scale_n=20.0, wrench_scale_nm=2.0)
    cell.cameras = robot_configs.cell_config().cameras
    bridge = Bridge("test", run="realtime", plant={
        "initial_position": list(cell.reset_pos_m),
        "initial_quat": list(cell.reset_quat_wxyz)}, **bridge_settings(robot, cell))
    env = RobotEnv(robot, cell, RealtimeArm(bridge))
    env.arm.start()
    try:
        assert env.observation_space["tcp_wrench"].shape == (6,)
        obs, _ = env.reset(seed=0)
        assert obs["tcp_wrench"].shape == (6,) and np.all(np.isfinite(obs["tcp_wrench"]))
    finally:
        env.close()
    bad = _cell(wrench_scale_n=20.0)
    with pytest.raises(ValueError, match=r"wrench_scale_n=20\.0 and wrench_scale_nm=0\.0"):
        robot_configs.validate_cell(bad)


@pytest.mark.parametrize("robot", ["sim_franka", "sim_ur"])
def test_the_expert_operator_succeeds_on_the_rehearsal(robot):
    from silri_jax.operators import SimulatedOperator

    env = build.make_env(_config(robot),
                         operator=SimulatedOperator("expert", always=True, seed=0))
    wins = 0
    for seed in range(3):
        env.reset(seed=seed)
        for _ in range(100):
            _, _, terminated, truncated, info = env.step(
                {"action": np.zeros(3, np.float32), "gripper": 1})
            assert info["is_intervention"]
            if terminated or truncated:
                break
        wins += bool(info["success"])
    assert wins == 3
    env.close()


def test_the_operator_reward_ends_episodes_on_success_and_failure_events():
    from silri_jax.robots.operator_reward import OperatorReward

    env = OperatorReward(_sim_env(), success_reward=10.0)
    events: list[tuple[str, ...]] = [(), ("success",)]
    env.events = lambda: events.pop(0)
    env.reset(seed=0)
    pose = np.concatenate(env.unwrapped.current_pose())
    _, r0, term, trunc, _ = env.step({"pose": pose, "gripper": 1})
    assert not term and not trunc
    _, r1, term, trunc, info = env.step({"pose": pose, "gripper": 1})
    assert term and not trunc and info["success"] and r1 == pytest.approx(r0 + 10.0)
    env.events = lambda: ("failure",)
    _, _, term, trunc, info = env.step({"pose": pose, "gripper": 1})
    assert trunc and not term and info["operator_label"] == "failure"
    env.close()


# ----------------------------------------------------------------------------- configs
def test_robot_and_cell_config_mistakes_name_the_file_and_the_field(tmp_path):
    bad = tmp_path / "my_arm.py"
    bad.write_text("from silri_jax.robots.config import robot_config\n"
                   "def get_config():\n    r = robot_config()\n    r.stifness_pos_n_m = 1\n"
                   "    return r\n")
    with pytest.raises(ValueError, match=r"my_arm\.py.*stifness_pos_n_m"):
        robot_configs.load_robot(str(bad))
    with pytest.raises(ValueError, match=r"known: \[.*sim_franka.*\]"):
        robot_configs.load_robot("sim_frank")
    real = tmp_path / "arm.py"
    real.write_text("from silri_jax.robots.config import robot_config\n"
                    "def get_config():\n    r = robot_config()\n    r.backend = 'franka'\n"
                    "    r.model = 'fr3'\n    r.run = 'realtime'\n    return r\n")
    with pytest.raises(ValueError, match="robot_ip is empty"):
        robot_configs.load_robot(str(real))
    cell = robot_configs.cell_config()
    cell.reset_pos_m = (0.9, 0.0, 0.2)
    with pytest.raises(ValueError, match=r"reset_pos_m.*inside the workspace"):
        robot_configs.validate_cell(cell, "pick_cube.py")
    cell = robot_configs.cell_config()
    cell.workspace_low_m = (0.7, -0.25, 0.0)
    with pytest.raises(ValueError, match="workspace_low_m"):
        robot_configs.validate_cell(cell)


def test_a_real_arm_with_a_simulated_camera_or_the_simulated_operator_is_refused(tmp_path):
    c = _config(robot="franka_fr3")
    c.demos.num = 0
    c.runtime.updates_per_env_step = 0.0
    c.teleop.device = "spacemouse"
    with pytest.raises(ValueError, match=r"cameras.front.backend='mujoco'.*real franka"):
        build.validate(c)
    task = tmp_path / "real_cell.py"
    task.write_text(
        "from silri_jax.cameras.config import camera_config, cameras_section\n"
        "from silri_jax.robots.config import cell_config\n"
        "def get_config():\n    c = cell_config()\n"
        "    c.cameras = cameras_section(front=camera_config(device='/dev/video0'))\n"
        "    return c\n")
    c.cell = str(task)
    build.validate(c)  # a real cell: fine
    c.teleop.device = ""
    with pytest.raises(ValueError, match="not the simulated operator"):
        build.validate(c)
    c.teleop.device = "spacemouse"
    c.demos.num = 5
    with pytest.raises(ValueError, match=r"config.demos.num > 0"):
        build.validate(c)
    c.demos.num = 0
    c.runtime.updates_per_env_step = 1.0
    with pytest.raises(ValueError, match="must not pause mid-motion"):
        build.validate(c)


def test_an_unreachable_arm_is_an_error_naming_its_address():
    c = _config(robot="franka_fr3")
    c.cell = str(config_files.CONFIG_DIR / "tasks" / "pick_cube.py")
    c.robot_ip = "10.255.255.1"
    from silri_jax.robots import factory

    robot, cell = robot_configs.load_robot("franka_fr3", robot_ip=c.robot_ip), _cell()
    from silri_jax.cpp_bridge import _bridge

    if _bridge.HAVE_FRANKA:
        with pytest.raises(ConnectionError, match=r"cannot reach the franka arm at 10\.255"):
            factory._real_arm(robot, bridge_settings(robot, cell))
    else:  # built without libfranka: says so, and how to get it
        with pytest.raises(RuntimeError, match="no franka backend: libfranka was not found"):
            factory._real_arm(robot, bridge_settings(robot, cell))


def test_safety_limits_carry_the_cells_box_and_cone():
    robot, cell = robot_configs.load_robot("sim_franka"), _cell()
    lim = safety_limits(robot, cell)
    assert np.allclose(lim["box_min"], cell.workspace_low_m)
    assert lim["max_orientation_error"] == pytest.approx(np.deg2rad(30.0))
    gains = impedance_gains(robot)
    assert gains["stiffness"][0] == robot.stiffness_pos_n_m
