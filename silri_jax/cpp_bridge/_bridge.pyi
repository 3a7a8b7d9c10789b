"""Type stubs of the compiled robot bridge (cpp_bridge/python/bind_*.cpp)."""

from typing import Any, ClassVar

import numpy as np
import numpy.typing as npt

HAVE_FRANKA: bool
HAVE_UR: bool

_Vec = npt.NDArray[np.float64]
_ArrayLike = npt.ArrayLike

class Mode:
    POLICY: ClassVar[Mode]
    TELEOP: ClassVar[Mode]
    SHARED: ClassVar[Mode]
    name: str
    value: int
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...

class Fault:
    NONE: ClassVar[Fault]
    BACKEND_STALE: ClassVar[Fault]
    DISCONNECTED: ClassVar[Fault]
    NON_FINITE_STATE: ClassVar[Fault]
    BACKEND_ERROR: ClassVar[Fault]
    JOINT_LIMIT: ClassVar[Fault]
    WATCHDOG_STOP: ClassVar[Fault]
    name: str
    value: int
    def __init__(self, value: int) -> None: ...
    def __int__(self) -> int: ...

class Gains:
    stiffness: _Vec
    damping: _Vec
    error_clip: _Vec
    nullspace_stiffness: float
    nullspace_damping: float
    target_filter: float
    gain_filter: float
    coriolis_feedforward: bool
    def __init__(self) -> None: ...

class SafetyLimits:
    box_min: _Vec
    box_max: _Vec
    orientation_ref: _Vec
    max_orientation_error: float
    max_lin_speed: float
    max_ang_speed: float
    max_dtau: float
    tau_max: _Vec
    q_min: _Vec
    q_max: _Vec
    joint_margin: float
    joint_limit_stiffness: float
    joint_limit_damping: float
    max_target_jump_m: float
    max_target_jump_rad: float
    def __init__(self) -> None: ...

class MixerConfig:
    deadband_lin: float
    deadband_ang: float
    require_button: bool
    hold_when_engaged: bool
    max_teleop_lead: float
    policy_period_s: float
    def __init__(self) -> None: ...

class WatchdogConfig:
    policy_timeout_s: float
    teleop_timeout_s: float
    backend_timeout_s: float
    stop_timeout_s: float
    def __init__(self) -> None: ...

class BridgeConfig:
    period_s: float
    realtime: bool
    try_realtime_priority: bool
    timing_capacity: int
    mode: Mode
    gains: Gains
    limits: SafetyLimits
    mixer: MixerConfig
    watchdog: WatchdogConfig
    q_nominal: _Vec
    def __init__(self) -> None: ...

class TestPlantConfig:
    mass: float
    inertia: float
    damping: float
    tau_max: float
    initial_position: _Vec
    initial_quat: _Vec
    def __init__(self) -> None: ...

class TestPlant:
    def drop_ticks(self, n: int) -> None: ...
    def delay(self, seconds: float, n: int) -> None: ...
    def set_connected(self, connected: bool) -> None: ...
    def inject_nan(self) -> None: ...
    def inject_error(self) -> None: ...
    @property
    def recover_calls(self) -> int: ...

class MujocoView:
    """One mjModel/mjData pair as addresses and resolved indices (built by
    silri_jax.bridge.mujoco_view.make_view from the installed mujoco bindings)."""

    model: int
    data: int
    qpos: int
    qvel: int
    qfrc_bias: int
    qfrc_applied: int
    ctrl: int
    site_xpos: int
    site_xmat: int
    mj_step1: int
    mj_step2: int
    mj_jacSite: int
    nq: int
    nv: int
    nu: int
    nsite: int
    timestep: float
    qpos_adr: list[int]
    dof_adr: list[int]
    site: int
    gripper: int
    gripper_lo: float
    gripper_hi: float
    def __init__(self) -> None: ...

class MujocoConfig:
    joints: list[str]
    site: str
    gripper_actuator: str
    gravity_compensation: bool
    tau_max: _Vec
    def __init__(self) -> None: ...

class FrankaConfig:
    robot_ip: str
    model: str  # "fr3" | "panda"
    lowpass_cutoff_hz: float
    max_dtau: float
    enforce_realtime: bool
    def __init__(self) -> None: ...
    def validate(self) -> None: ...

class FrankaGripperState:
    @property
    def width(self) -> float: ...
    @property
    def max_width(self) -> float: ...
    @property
    def is_grasped(self) -> bool: ...
    @property
    def temperature(self) -> int: ...

class FrankaGripper:
    """Only in builds with libfranka (``HAVE_FRANKA``)."""
    def __init__(self, robot_ip: str) -> None: ...
    def homing(self) -> bool: ...
    def move(self, width: float, speed: float) -> bool: ...
    def grasp(
        self,
        width: float,
        speed: float,
        force: float,
        epsilon_inner: float = 0.005,
        epsilon_outer: float = 0.005,
    ) -> bool: ...
    def stop(self) -> bool: ...
    def readOnce(self) -> FrankaGripperState: ...
    def read(self) -> dict[str, Any]: ...
    @property
    def robot_ip(self) -> str: ...

class URConfig:
    robot_ip: str
    model: str  # "e-series" | "cb3"
    command: str  # "servoL" | "servoJ"
    frequency: float
    lookahead_time: float
    servo_gain: float
    admittance_mass: _Vec
    wrench_deadband: float
    max_offset: float
    stale_timeout_s: float
    def __init__(self) -> None: ...
    def resolved_frequency(self) -> float: ...

class BridgeCore:
    @staticmethod
    def create_test(config: BridgeConfig, plant: TestPlantConfig) -> BridgeCore: ...
    @staticmethod
    def create_mujoco(
        view: MujocoView, mujoco: MujocoConfig, config: BridgeConfig
    ) -> BridgeCore: ...
    @staticmethod
    def create_franka(franka: FrankaConfig, config: BridgeConfig) -> BridgeCore: ...
    @staticmethod
    def create_ur(ur: URConfig, config: BridgeConfig) -> BridgeCore: ...
    def set_policy_target(
        self, position: _ArrayLike, quat: _ArrayLike, gripper: float = 0.0
    ) -> None: ...
    def set_teleop(self, twist: _ArrayLike, engaged: bool, gripper: float = -1.0) -> None: ...
    def set_mode(self, mode: Mode) -> None: ...
    def reset(self) -> None: ...
    @property
    def mode(self) -> Mode: ...
    def set_gains(self, gains: Gains) -> None: ...
    @property
    def gains(self) -> Gains: ...
    def set_safety_limits(self, limits: SafetyLimits) -> None: ...
    @property
    def safety_limits(self) -> SafetyLimits: ...
    def state(self) -> dict[str, Any]: ...
    def metrics(self) -> dict[str, float]: ...
    def compute_us_samples(self) -> npt.NDArray[np.float32]: ...
    def wake_late_us_samples(self) -> npt.NDArray[np.float32]: ...
    def clear_samples(self) -> None: ...
    @property
    def fault(self) -> Fault: ...
    def check(self) -> None: ...
    def recover(self) -> bool: ...
    def step(self, n: int) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wait(self, seconds: float) -> None: ...
    def wait_ticks(self, n: int, timeout: float = 10.0) -> bool: ...
    @property
    def running(self) -> bool: ...
    @property
    def realtime(self) -> bool: ...
    @property
    def period(self) -> float: ...
    @property
    def dof(self) -> int: ...
    @property
    def backend_name(self) -> str: ...
    def test_plant(self) -> TestPlant: ...
