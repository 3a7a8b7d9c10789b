"""``make_robot_env``: a training config with ``robot`` set, as the env an actor drives.

    robot config + cell config
      -> arm      (a real Franka/UR bridge running its own loop, or a simulated cell's
                   MuJoCo bridge advanced in lockstep: the rehearsal)
      -> gripper  (a ``GripperWorker``: Franka Hand, Robotiq, or the simulated fingers)
      -> cameras  (a ``CameraRig``: OpenCV/RealSense, or MuJoCo renders of the same names)
      -> RobotEnv -> WorkspaceClip -> EEDeltaAction -> TimeLimit -> (OperatorReward)
      -> TeleopIntervention (a device, or the simulated operator behind the device
         interface, through the bridge's mixer)

A rehearsal builds exactly what a real session builds except the three stand-ins above:
the same env classes, wrappers, configs and command. A real backend's camera entries
are used as given; in a rehearsal a camera with a real backend is rendered by the
simulated scene's camera of the same name (``front``, ``wrist``), at its configured
resolution and crop, so a real task file can be rehearsed unchanged.
"""

from __future__ import annotations

import logging
from typing import Any

import ml_collections
import numpy as np

from silri_jax.robots import config as robot_configs
from silri_jax.robots.arm import LockstepArm, RealtimeArm
from silri_jax.robots.env import RobotEnv, impedance_gains, safety_limits

log = logging.getLogger(__name__)

SIM_CAMERAS = ("front", "wrist")


def resolve(config: ml_collections.ConfigDict) -> tuple[ml_collections.ConfigDict,
                                                       ml_collections.ConfigDict]:
    """The (robot, cell) configs a training config selects, validated together.

    ``config.robot`` names ``configs/robots/<name>.py`` (or is a path);
    ``config.cell`` names ``configs/tasks/<name>.py`` ("" = the task's name);
    ``config.robot_ip`` ("" = the robot file's) overrides the arm's address.
    """
    robot = robot_configs.load_robot(str(config.robot), robot_ip=str(config.robot_ip))
    cell = robot_configs.load_cell(str(config.cell) or str(config.task.name))
    check_pair(robot, cell)
    return robot, cell


def check_pair(robot: Any, cell: Any) -> None:
    """Refuses a robot and a cell that cannot run together, naming the fields."""
    real = str(robot.backend) != "mujoco"
    for name, cam in cell.cameras.items():
        if real and str(cam.backend) == "mujoco":
            raise ValueError(
                f"cell cameras.{name}.backend='mujoco' renders the simulated scene, but the "
                f"robot is a real {robot.backend} arm: set it to opencv or realsense")
        if not real and str(cam.backend) != "mujoco" and name not in SIM_CAMERAS:
            raise ValueError(
                f"cell cameras.{name}: a rehearsal renders each camera from the simulated "
                f"scene's camera of the same name, and the scene has {list(SIM_CAMERAS)}; "
                f"rename it or set backend='mujoco' with device=<a scene camera>")
    if not real and str(robot.run) != "lockstep":
        raise ValueError("robot run='realtime' on the mujoco backend: a rehearsal runs in "
                         "lockstep (cameras render between physics steps)")


def uses_gripper(robot: Any, cell: Any) -> bool:
    """Whether the task drives a gripper: the robot has one, and (rehearsal) the simulated
    scene's task uses it."""
    if str(robot.gripper.kind) == "none":
        return False
    if str(robot.backend) == "mujoco":
        from silri_jax.envs.sim.tasks import TASKS

        return bool(TASKS[str(cell.sim_scene)].defaults.has_gripper)
    return True


def bridge_settings(robot: Any, cell: Any) -> dict[str, Any]:
    """``Bridge`` keyword settings of a robot and cell (gains, limits, watchdog, mixer)."""
    gains = impedance_gains(robot)
    # The human's target may lead the arm by at most the error clip, where the spring
    # force saturates (see silri_jax.envs.bridge_controller).
    mixer = {"hold_when_engaged": True, "require_button": True,
             "max_teleop_lead": float(robot.error_clip_pos_m),
             "policy_period_s": 1.0 / float(cell.control_hz)}
    return {"gains": gains, "limits": safety_limits(robot, cell), "mixer": mixer,
            "watchdog": {"policy_timeout_s": float(robot.policy_timeout_s)}}


def _rehearsal_cameras(cell: Any) -> ml_collections.ConfigDict:
    """The cell's cameras as MuJoCo renders of the scene cameras of the same names."""
    section = ml_collections.ConfigDict()
    for name, cam in cell.cameras.items():
        c = ml_collections.ConfigDict(cam.to_dict())
        if str(c.backend) != "mujoco":
            c.backend, c.device, c.fps, c.latency_s = "mujoco", name, 0.0, 0.0
        section[name] = c
    return section


def make_robot_env(config: ml_collections.ConfigDict, operator: Any | None = None,
                   device: Any | None = None) -> Any:
    """The wrapped robot env of ``config`` (see the module docstring).

    ``operator``: a simulated operator, standing in for the person behind the device
    interface; ``device``: a teleop device (wins over ``operator``). Either drives
    through the bridge's mixer.
    Raises a ``ValueError`` naming the field for a config mistake, and the backend's
    connection error (naming the address and what to check) for an unreachable arm,
    gripper or camera.
    """
    from silri_jax.envs import wrappers

    robot, cell = resolve(config)
    settings = bridge_settings(robot, cell)
    has_gripper = uses_gripper(robot, cell)
    scene = None
    rig = None
    gripper = None
    arm: Any
    try:
        if str(robot.backend) == "mujoco":
            from silri_jax.robots.sim_cell import SimCell

            scene = SimCell(str(cell.sim_scene), np.asarray(cell.reset_pos_m),
                            np.asarray(cell.reset_quat_wxyz), settings)
            arm = LockstepArm(scene.controller, scene.lock)
            if has_gripper:
                gripper = _sim_gripper(robot, scene, arm)
            if len(cell.cameras):
                from silri_jax.cameras.pipeline import CameraRig

                rig = CameraRig.from_config(_rehearsal_cameras(cell), size=int(cell.image_size),
                                            model=scene.model, data=scene.data,
                                            lock=scene.lock)
        else:
            arm = _real_arm(robot, settings)
            if has_gripper:
                from silri_jax.grippers.config import make_gripper

                gripper = make_gripper(robot.gripper)
            if len(cell.cameras):
                from silri_jax.cameras.pipeline import CameraRig

                rig = CameraRig.from_config(cell.cameras, size=int(cell.image_size))
    except BaseException:
        if gripper is not None:
            gripper.close()
        raise
    base = RobotEnv(robot, cell, arm, gripper=gripper, cameras=rig, scene=scene)
    env: Any = wrappers.WorkspaceClip(base, cell.workspace_low_m, cell.workspace_high_m)
    env = wrappers.EEDeltaAction(env, mode=str(cell.action_mode),
                                 scale_pos=tuple(cell.action_scale_pos_m),
                                 scale_rot=tuple(cell.action_scale_rot_rad),
                                 has_gripper=has_gripper, nominal_quat=base.nominal_quat,
                                 frame=str(cell.action_frame))
    env = wrappers.TimeLimit(env, int(cell.max_episode_steps))
    if str(cell.reward) == "operator":
        from silri_jax.robots.operator_reward import OperatorReward

        env = OperatorReward(env, float(cell.success_reward))
    if device is None and operator is not None:
        # The simulated operator stands in for the person behind the device interface:
        # its takeovers reach the arm through the bridge's mixer, as a hand's would.
        from silri_jax.operators.device import OperatorDevice

        device = OperatorDevice(operator, str(cell.action_mode))
    if device is None:
        return wrappers.InterventionWrapper(env, None)
    from silri_jax.envs.teleop_intervention import TeleopIntervention
    from silri_jax.teleop.intervention import InterventionGate

    tc = config.teleop
    wrapped = TeleopIntervention(env, device, InterventionGate.from_config(tc),
                                 max_linear_speed=float(tc.max_linear_speed_m_s),
                                 max_angular_speed=float(tc.max_angular_speed_rad_s))
    base.resets.operator_continue = wrapped.operator_continue
    if str(cell.reward) == "operator":
        env.events = lambda: tuple(wrapped.pump.events)
    return wrapped


def _sim_gripper(robot: Any, scene: Any, arm: LockstepArm) -> Any:
    """The simulated fingers on a worker whose clock is the simulation's: the refractory
    time and ``busy`` count simulated seconds, so a rehearsal repeats whatever the
    machine's speed."""
    from silri_jax.grippers.base import GripperWorker
    from silri_jax.grippers.sim import SimGripperDriver

    g = robot.gripper
    if str(g.kind) != "sim":
        raise ValueError(f"robot gripper.kind={g.kind!r} on the mujoco backend: the "
                         "rehearsal's gripper is the simulated Panda's (kind 'sim')")

    def clock() -> float:
        return arm.sim_time

    driver = SimGripperDriver(scene.model, scene.data,
                              motion_time_s=float(g.motion_time_s),
                              min_grasp_width_m=float(g.min_grasp_width_m), clock=clock)
    return GripperWorker(driver, refractory_s=float(g.refractory_s),
                         poll_s=float(g.poll_s), clock=clock).start()


def _real_arm(robot: Any, settings: dict[str, Any]) -> RealtimeArm:
    """The real arm's bridge, started on its own loop. An arm that cannot be reached
    raises ``ConnectionError`` naming the address and what to check."""
    from silri_jax.bridge import Bridge
    from silri_jax.cpp_bridge import _bridge

    built = {"franka": _bridge.HAVE_FRANKA, "ur": _bridge.HAVE_UR}[str(robot.backend)]
    if not built:
        sdk = {"franka": "libfranka", "ur": "ur_rtde"}[str(robot.backend)]
        raise RuntimeError(f"this build of the bridge has no {robot.backend} backend: {sdk} "
                           f"was not found when it was built; install {sdk} and rebuild "
                           "(pip install -e .), see docs/bridge.md")
    options: dict[str, Any] = {**robot.backend_options.to_dict(), "model": str(robot.model)}
    period = float(robot.loop_period_s) or None
    bridge = None
    try:
        bridge = Bridge(str(robot.backend), run="realtime", robot_ip=str(robot.robot_ip),
                        backend_options=options, period_s=period, **settings)
        arm = RealtimeArm(bridge)
        arm.start()
        return arm
    except (ConnectionError, OSError, RuntimeError) as e:
        if bridge is not None:
            bridge.close()
        hint = ("is the arm powered, FCI enabled in Desk, the brakes released, and this "
                "machine on its network?" if robot.backend == "franka" else
                "is the controller powered, in remote control, and reachable?")
        raise ConnectionError(f"cannot reach the {robot.backend} arm at {robot.robot_ip}: "
                              f"{e} ({hint})") from e


def spec_from_config(config: ml_collections.ConfigDict) -> Any:
    """The ``EnvSpec`` a robot env of ``config`` has, without connecting to anything (the
    learner's view of a real arm, which it never drives)."""
    from silri_jax import specs
    from silri_jax.envs.wrappers import ACTION_MODES

    robot, cell = resolve(config)
    obs = {"tcp_pose": specs.ArraySpec((9,), "float32"),
           "tcp_vel": specs.ArraySpec((6,), "float32")}
    has_gripper = uses_gripper(robot, cell)
    if has_gripper:
        obs["gripper"] = specs.ArraySpec((2,), "float32")
    if float(cell.wrench_scale_n) > 0:
        obs["tcp_wrench"] = specs.ArraySpec((6,), "float32")
    size = int(cell.image_size)
    for name in cell.cameras:
        obs[specs.IMAGE_PREFIX + name] = specs.ArraySpec((size, size, 3), "uint8")
    return specs.EnvSpec(specs.ObservationSpec(obs),
                         specs.ActionSpec(ACTION_MODES[str(cell.action_mode)], has_gripper))


def is_real(config: ml_collections.ConfigDict) -> bool:
    """Whether ``config`` drives a real arm (robot set, backend not mujoco)."""
    if not str(config.get("robot", "")):
        return False
    robot, _ = resolve(config)
    return str(robot.backend) != "mujoco"
