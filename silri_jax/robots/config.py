"""The two config files of a real (or rehearsed) arm: the robot and the work cell.

``configs/robots/<name>.py`` describes the arm: backend, address, control loop rate,
gains, limits, SDK options and gripper (``robot_config``). ``configs/tasks/<name>.py``
describes one task in one work cell: workspace and orientation limits, reset pose and its
randomisation, action scales and frame, cameras and crops, horizon and the reward source
(``cell_config``). A training config selects them with ``--config.robot=<name or path>``
(and ``--config.cell=<name or path>``, default the task's name); both are validated
before anything moves, with errors naming the file and the field.

Each field's comment (the line above it) is its documentation, with its default; units
are in the key names. A robot or task file starts from these schemas and sets what
differs, so a field it misspells is an error, not a silently ignored value.
"""

from __future__ import annotations

import math
import pathlib
from collections.abc import Mapping
from typing import Any

import ml_collections

from silri_jax import config_files
from silri_jax.cameras.config import cameras_section
from silri_jax.grippers.config import gripper_config

ROBOTS_DIR = config_files.CONFIG_DIR / "robots"
CELLS_DIR = config_files.CONFIG_DIR / "tasks"
CONFIG_FILE = pathlib.Path(__file__).resolve()
BACKENDS = ("franka", "ur", "mujoco")
MODELS = {"franka": ("fr3", "panda"), "ur": ("e-series", "cb3"), "mujoco": ("panda",)}
REWARDS = ("sim", "operator")
FRAMES = ("base", "tool")
ACTION_MODES = ("xyz", "xyz_yaw", "full")


def robot_config() -> ml_collections.ConfigDict:
    """The robot schema with its documented defaults."""
    r = ml_collections.ConfigDict()
    # what runs the arm: franka (libfranka, torque impedance at 1 kHz), ur (ur_rtde,
    # servoL at 500 Hz on e-Series, 125 Hz on CB3) or mujoco (the bridge's MuJoCo backend
    # on the simulated Panda: a rehearsal). Default mujoco
    r.backend = "mujoco"
    # arm model: franka: fr3 or panda; ur: e-series or cb3; mujoco: panda. Default panda
    r.model = "panda"
    # the arm's address (franka: the robot's FCI address, ur: the controller); empty for
    # mujoco. Default empty
    r.robot_ip = ""
    # how the control loop runs: realtime (its own thread at the backend's rate; every
    # real arm) or lockstep (advanced tick by tick with each env step: a rehearsal that
    # does not depend on the machine's speed; mujoco only). Default lockstep
    r.run = "lockstep"
    # control loop period, s; 0 = the backend's (franka 0.001, ur e-Series 0.002, cb3
    # 0.008, mujoco the model's timestep). Default 0
    r.loop_period_s = 0.0
    # Cartesian stiffness during an episode, N/m and Nm/rad. Default 2000, 150
    r.stiffness_pos_n_m = 2000.0
    r.stiffness_rot_nm_rad = 150.0
    # damping ratio of the impedance (critical = 1). Default 1
    r.damping_ratio = 1.0
    # clip of the pose error the spring sees, m and rad: in contact the spring force is at
    # most stiffness * clip. Default 0.01, 0.05
    r.error_clip_pos_m = 0.01
    r.error_clip_rot_rad = 0.05
    # stiffness during resets (precise moves to the reset pose), N/m and Nm/rad.
    # Default 3000, 200
    r.reset_stiffness_pos_n_m = 3000.0
    r.reset_stiffness_rot_nm_rad = 200.0
    # the commanded target's speed limits, m/s and rad/s. Default 0.5, 2.0
    r.max_lin_speed_m_s = 0.5
    r.max_ang_speed_rad_s = 2.0
    # largest torque change per tick, Nm (torque backends). Default 1.0
    r.max_dtau_nm = 1.0
    # policy set-points older than this are not followed (the arm holds), s. Default 0.5
    r.policy_timeout_s = 0.5
    # further settings of the backend's SDK connection, passed as they are: franka
    # (FrankaConfig: lowpass_cutoff_hz, enforce_realtime) or ur (URConfig: command
    # servoL|servoJ, frequency, lookahead_time, servo_gain, admittance_mass,
    # wrench_deadband, max_offset); docs/bridge.md lists each. Default none
    r.backend_options = ml_collections.ConfigDict()
    # the gripper (silri_jax/grippers/config.py)
    r.gripper = gripper_config()
    # a misspelled field in a robot file is an error, not a new, silently unused one
    r.lock()
    r.backend_options.unlock()
    return r


def cell_config() -> ml_collections.ConfigDict:
    """The work-cell (task) schema with its documented defaults."""
    c = ml_collections.ConfigDict()
    # the simulated scene standing in for the cell in a rehearsal (backend mujoco):
    # pick_cube, insert_peg or open_drawer. Default pick_cube
    c.sim_scene = "pick_cube"
    # env steps per second (the policy's rate). Default 10
    c.control_hz = 10.0
    # step limit of an episode. Default 100
    c.max_episode_steps = 100
    # workspace box of the end effector, m (base frame): the bridge clips every target
    # into it. Default the pick_cube table's
    c.workspace_low_m = (0.3, -0.25, 0.005)
    c.workspace_high_m = (0.7, 0.25, 0.35)
    # orientation cone: largest geodesic angle between the end effector's orientation and
    # reset_quat_wxyz, degrees (the bridge clips to it; 180 = unlimited). Default 30
    c.max_orientation_error_deg = 30.0
    # reset pose of the end effector, m and quaternion (w, x, y, z), base frame. Default
    # above the pick_cube table, pointing down
    c.reset_pos_m = (0.45, 0.0, 0.22)
    c.reset_quat_wxyz = (0.0, 1.0, 0.0, 0.0)
    # height the arm first lifts by at a reset (out of contact), m. Default 0.05
    c.reset_lift_m = 0.05
    # random offset of each episode's start from the reset pose: +- metres in x and y,
    # +- degrees of yaw. Default 0.03 m, 0 deg
    c.reset_xy_range_m = 0.03
    c.reset_yaw_range_deg = 0.0
    # a reset move ends when the end effector is within these of its goal, m and rad
    # (else the reset fails with the distance left). Default 0.01 m, 0.05 rad
    c.reset_tolerance_m = 0.01
    c.reset_tolerance_rad = 0.05
    # longest a reset move may take, s. Default 5
    c.reset_timeout_s = 5.0
    # wait for the operator's "continue" event (a device button) before each episode, so
    # the human can reset the scene; the rehearsal resets its scene itself. Default False
    c.wait_for_operator = False
    # what the policy commands: xyz (translation, orientation held), xyz_yaw (+ yaw) or
    # full (translation + rotation vector). Default xyz
    c.action_mode = "xyz"
    # frame of the translation and rotation deltas: base or tool. Default base
    c.action_frame = "base"
    # metres and radians per unit action, per axis (one value: all axes).
    # Default 0.03 m, 0.1 rad
    c.action_scale_pos_m = (0.03,)
    c.action_scale_rot_rad = (0.1,)
    # where the reward comes from: sim (the rehearsal's scene judges success) or operator
    # (the human's success / failure events end the episode). Default sim
    c.reward = "sim"
    # reward at success, and every step. Default 10, -0.05
    c.success_reward = 10.0
    c.step_reward = -0.05
    # observe the measured external wrench at the end effector as "tcp_wrench" (force and
    # torque, base frame; Franka O_F_ext_hat_K, UR TCP force; zeros on the mujoco
    # backend), divided by these, N and Nm; 0 = not observed. Default 0
    c.wrench_scale_n = 0.0
    c.wrench_scale_nm = 0.0
    # side of the square images the policy sees, pixels. Default 64
    c.image_size = 64
    # cameras by name (silri_jax/cameras/config.py); empty = proprioception only.
    # Default none
    c.cameras = cameras_section()
    c.lock()
    c.cameras.unlock()  # a section of named cameras: names are the file's to choose
    return c


# ----------------------------------------------------------------------------- loading
def _resolve(name_or_path: str, folder: pathlib.Path, what: str) -> pathlib.Path:
    p = pathlib.Path(name_or_path).expanduser()
    if p.suffix == ".py":
        if not p.is_file():
            raise ValueError(f"config.{what}={name_or_path!r}: no such file")
        return p
    path = folder / f"{name_or_path}.py"
    if not path.is_file():
        known = sorted(f.stem for f in folder.glob("*.py") if not f.stem.startswith("_"))
        raise ValueError(f"config.{what}={name_or_path!r}: no {path}; known: {known}, or "
                         "the path of a .py file")
    return path


def _load(path: pathlib.Path) -> ml_collections.ConfigDict:
    try:
        module = config_files.load_module(path)
        return module.get_config()
    except (AttributeError, KeyError, TypeError, ValueError) as e:
        raise ValueError(f"{path}: {type(e).__name__}: {e}") from None


def load_robot(name_or_path: str, robot_ip: str = "") -> ml_collections.ConfigDict:
    """The robot config named (``configs/robots/<name>.py``) or at a path, validated;
    ``robot_ip`` (when not empty) replaces its address (and its gripper's, when the
    gripper lives on the same host)."""
    path = _resolve(name_or_path, ROBOTS_DIR, "robot")
    cfg = _load(path)
    if robot_ip:
        if cfg.gripper.kind in ("franka_hand", "robotiq_socket") and \
                cfg.gripper.address in ("", cfg.robot_ip):
            cfg.gripper.address = robot_ip
        cfg.robot_ip = robot_ip
    validate_robot(cfg, str(path))
    return cfg


def load_cell(name_or_path: str) -> ml_collections.ConfigDict:
    """The task (work cell) config named (``configs/tasks/<name>.py``) or at a path."""
    path = _resolve(name_or_path, CELLS_DIR, "cell")
    cfg = _load(path)
    validate_cell(cfg, str(path))
    return cfg


def _positive(cfg: Mapping[str, Any], where: str, *names: str) -> None:
    for n in names:
        v = float(cfg[n])
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"{where}: {n}={cfg[n]} must be a finite number > 0")


def validate_robot(cfg: Mapping[str, Any], where: str = "robot") -> None:
    backend = str(cfg["backend"])
    if backend not in BACKENDS:
        raise ValueError(f"{where}: backend={backend!r}; one of {list(BACKENDS)}")
    if str(cfg["model"]) not in MODELS[backend]:
        raise ValueError(f"{where}: model={cfg['model']!r} for backend {backend}; one of "
                         f"{list(MODELS[backend])}")
    if cfg["run"] not in ("realtime", "lockstep"):
        raise ValueError(f"{where}: run={cfg['run']!r}; realtime or lockstep")
    if backend != "mujoco" and cfg["run"] != "realtime":
        raise ValueError(f"{where}: run={cfg['run']!r}: a real arm runs in realtime")
    if backend != "mujoco" and not str(cfg["robot_ip"]):
        raise ValueError(f"{where}: robot_ip is empty: set the {backend} arm's address "
                         "(--config.robot_ip=...)")
    _positive(cfg, where, "stiffness_pos_n_m", "stiffness_rot_nm_rad", "damping_ratio",
              "error_clip_pos_m", "error_clip_rot_rad", "reset_stiffness_pos_n_m",
              "reset_stiffness_rot_nm_rad", "max_lin_speed_m_s", "max_ang_speed_rad_s",
              "max_dtau_nm", "policy_timeout_s")
    if float(cfg["loop_period_s"]) < 0:
        raise ValueError(f"{where}: loop_period_s={cfg['loop_period_s']} must be >= 0")
    if backend == "mujoco" and len(cfg["backend_options"]):
        raise ValueError(f"{where}: backend_options are the franka/ur SDK's; the mujoco "
                         "backend takes none")


def validate_cell(cfg: Mapping[str, Any], where: str = "cell") -> None:
    from silri_jax.envs.sim.tasks import TASKS

    if str(cfg["sim_scene"]) not in TASKS:
        raise ValueError(f"{where}: sim_scene={cfg['sim_scene']!r}; one of {sorted(TASKS)}")
    _positive(cfg, where, "control_hz", "reset_tolerance_m", "reset_tolerance_rad",
              "reset_timeout_s", "max_orientation_error_deg", "image_size")
    if int(cfg["max_episode_steps"]) < 1:
        raise ValueError(f"{where}: max_episode_steps={cfg['max_episode_steps']} must be >= 1")
    low, high = tuple(cfg["workspace_low_m"]), tuple(cfg["workspace_high_m"])
    if len(low) != 3 or len(high) != 3 or not all(a < b for a, b in zip(low, high, strict=True)):
        raise ValueError(f"{where}: workspace_low_m={low} must be below workspace_high_m="
                         f"{high} on every axis (3 values each)")
    pos = tuple(cfg["reset_pos_m"])
    if len(pos) != 3 or not all(a <= p <= b for a, p, b in zip(low, pos, high, strict=True)):
        raise ValueError(f"{where}: reset_pos_m={pos} must lie inside the workspace box")
    quat = tuple(cfg["reset_quat_wxyz"])
    if len(quat) != 4 or abs(math.sqrt(sum(q * q for q in quat)) - 1.0) > 1e-3:
        raise ValueError(f"{where}: reset_quat_wxyz={quat} must be a unit quaternion (w, x, "
                         "y, z)")
    for name, choices in (("action_mode", ACTION_MODES), ("action_frame", FRAMES),
                          ("reward", REWARDS)):
        if str(cfg[name]) not in choices:
            raise ValueError(f"{where}: {name}={cfg[name]!r}; one of {list(choices)}")
    for name in ("action_scale_pos_m", "action_scale_rot_rad"):
        vals = tuple(cfg[name])
        if len(vals) not in (1, 3) or not all(float(v) > 0 for v in vals):
            raise ValueError(f"{where}: {name}={vals}: one value or three, each > 0")
    ws = (float(cfg["wrench_scale_n"]), float(cfg["wrench_scale_nm"]))
    if min(ws) < 0 or (ws[0] > 0) != (ws[1] > 0):
        raise ValueError(f"{where}: wrench_scale_n={ws[0]} and wrench_scale_nm={ws[1]}: both "
                         "> 0 (observe the wrench) or both 0 (do not)")
    if float(cfg["reset_lift_m"]) < 0 or float(cfg["reset_xy_range_m"]) < 0 \
            or float(cfg["reset_yaw_range_deg"]) < 0:
        raise ValueError(f"{where}: reset_lift_m, reset_xy_range_m and reset_yaw_range_deg "
                         "must be >= 0")
