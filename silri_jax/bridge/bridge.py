"""``Bridge``: the Python face of the C++ control loop.

A thin facade: it builds the compiled ``BridgeCore`` for a backend, converts keyword
settings, holds references that must outlive the loop (MuJoCo's model and data), and
returns typed states. All control work happens in C++; every blocking call there releases
the GIL and stays interruptible with Ctrl-C.
"""

from __future__ import annotations

import types
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from silri_jax.bridge import config as _config
from silri_jax.bridge.state import BridgeState
from silri_jax.cpp_bridge import _bridge

BACKENDS = ("test", "mujoco", "franka", "ur")


class Bridge:
    """Owns one control loop on one backend.

    Args:
        backend: ``"test"`` (Cartesian point mass), ``"mujoco"``, ``"franka"`` or ``"ur"``.
        run: ``"lockstep"`` (advance with ``step(n)``, deterministic) or ``"realtime"``
            (a control thread at the backend's rate, started by ``start()`` or ``with``).
        control_mode: who drives the target: ``"policy"``, ``"teleop"`` or ``"shared"``.
        period_s: tick period; defaults to 1 ms (UR: one RTDE cycle, 2 ms on an e-Series,
            8 ms on a CB3; MuJoCo: the model's timestep, which it must match).
        gains, limits, mixer, watchdog: keyword settings of ``Gains``, ``SafetyLimits``,
            ``MixerConfig`` and ``WatchdogConfig``.
        q_nominal: nullspace posture (defaults to the first measured joint positions).
        model, data: ``mujoco.MjModel`` / ``mujoco.MjData`` for the MuJoCo backend; the loop
            steps this very data.
        joints, site, gripper_actuator: MuJoCo names (Panda defaults).
        plant: keyword settings of ``TestPlantConfig``.
        robot_ip, backend_options: for Franka (``FrankaConfig``: ``model`` "fr3" or
            "panda", ...) and UR (``URConfig``: ``model`` "e-series" or "cb3", ``command``
            "servoL" or "servoJ", ...).
    """

    def __init__(
        self,
        backend: str = "test",
        *,
        run: str = "lockstep",
        control_mode: str = "shared",
        period_s: float | None = None,
        gains: Mapping[str, Any] | None = None,
        limits: Mapping[str, Any] | None = None,
        mixer: Mapping[str, Any] | None = None,
        watchdog: Mapping[str, Any] | None = None,
        q_nominal: Sequence[float] | None = None,
        timing_capacity: int = 1 << 16,
        model: Any = None,
        data: Any = None,
        joints: Sequence[str] | None = None,
        site: str = "ee_site",
        gripper_actuator: str = "gripper",
        plant: Mapping[str, Any] | None = None,
        robot_ip: str | None = None,
        backend_options: Mapping[str, Any] | None = None,
    ) -> None:
        if backend not in BACKENDS:
            raise ValueError(f"unknown backend {backend!r}; expected one of {BACKENDS}")
        if run not in ("lockstep", "realtime"):
            raise ValueError(f"run must be 'lockstep' or 'realtime', got {run!r}")
        cfg = _bridge.BridgeConfig()
        cfg.realtime = run == "realtime"
        cfg.mode = _config.to_mode(control_mode)
        cfg.timing_capacity = int(timing_capacity)
        cfg.gains = _config.apply(_bridge.Gains(), gains, "gains")
        cfg.limits = _config.apply(_bridge.SafetyLimits(), limits, "limits")
        cfg.mixer = _config.apply(_bridge.MixerConfig(), mixer, "mixer")
        self._mixer = {name: getattr(cfg.mixer, name) for name in (
            "deadband_lin", "deadband_ang", "require_button", "hold_when_engaged",
            "max_teleop_lead", "policy_period_s")}
        cfg.watchdog = _config.apply(_bridge.WatchdogConfig(), watchdog, "watchdog")
        if q_nominal is not None:
            cfg.q_nominal = np.asarray(q_nominal, dtype=np.float64)
        self._keep: tuple[Any, ...] = ()
        self.backend = backend

        if backend == "test":
            cfg.period_s = period_s or 0.001
            pc = _config.apply(_bridge.TestPlantConfig(), plant, "plant")
            self._core = _bridge.BridgeCore.create_test(cfg, pc)
        elif backend == "mujoco":
            if model is None or data is None:
                raise ValueError(
                    "the mujoco backend needs model= and data= (mujoco.MjModel / MjData)"
                )
            timestep = float(model.opt.timestep)
            cfg.period_s = period_s or timestep
            if abs(cfg.period_s - timestep) > 1e-12:
                raise ValueError(
                    f"period_s={cfg.period_s} must equal the model timestep {timestep}: "
                    "each tick advances the simulation by one step"
                )
            mc = _bridge.MujocoConfig()
            if joints is not None:
                mc.joints = list(joints)
            mc.site = site
            mc.gripper_actuator = gripper_actuator
            from silri_jax.bridge.mujoco_view import make_view

            view = make_view(model, data, joints, site, gripper_actuator)
            self._core = _bridge.BridgeCore.create_mujoco(view, mc, cfg)
            self._keep = (model, data)  # the loop holds raw pointers into these
        elif backend == "franka":
            if not _bridge.HAVE_FRANKA:
                raise RuntimeError("this build has no Franka backend (libfranka was not found)")
            cfg.period_s = period_s or 0.001
            fc = _config.apply(_bridge.FrankaConfig(), backend_options, "franka")
            if robot_ip is not None:
                fc.robot_ip = robot_ip
            fc.validate()  # an unknown model fails before connecting
            self._core = _bridge.BridgeCore.create_franka(fc, cfg)
        else:
            if not _bridge.HAVE_UR:
                raise RuntimeError("this build has no UR backend (ur_rtde was not found)")
            uc = _config.apply(_bridge.URConfig(), backend_options, "ur")
            if robot_ip is not None:
                uc.robot_ip = robot_ip
            # ValueError naming the field for an unknown model or command.
            cfg.period_s = period_s or 1.0 / uc.resolved_frequency()
            self._core = _bridge.BridgeCore.create_ur(uc, cfg)

    # ---- lifecycle ----
    def __enter__(self) -> Bridge:
        if self._core.realtime:
            self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: types.TracebackType | None,
    ) -> None:
        self.close()

    def start(self) -> None:
        """Starts the control thread (real-time mode)."""
        self._core.start()

    def stop(self) -> None:
        """Stops and joins the control thread (no-op in lockstep)."""
        self._core.stop()

    def close(self) -> None:
        self.stop()

    # ---- inputs ----
    def set_policy_target(
        self, position: Sequence[float], quat: Sequence[float], gripper: float = 0.0
    ) -> None:
        """Absolute end-effector goal (m; quaternion w, x, y, z); interpolated at 1 kHz."""
        self._core.set_policy_target(
            np.asarray(position, np.float64), np.asarray(quat, np.float64), float(gripper)
        )

    def set_teleop(
        self, twist: Sequence[float], engaged: bool, gripper: float | None = None
    ) -> None:
        """Human input: twist (vx, vy, vz, wx, wy, wz) in m/s and rad/s, the button, and an
        optional gripper command (fraction of the gripper's range; ``None``: no command).
        The loop mixes it with the policy at its own rate; a gripper command counts as an
        intervention."""
        g = -1.0 if gripper is None else float(gripper)
        if gripper is not None and not 0.0 <= g <= 1.0:
            raise ValueError(f"teleop gripper command must be in [0, 1], got {gripper}")
        self._core.set_teleop(np.asarray(twist, np.float64), bool(engaged), g)

    def set_mode(self, mode: str | _bridge.Mode) -> None:
        self._core.set_mode(_config.to_mode(mode))

    def set_gains(self, **values: Any) -> None:
        """Changes some gains (others keep their value); they ramp in through the filter."""
        self._core.set_gains(_config.apply(self._core.gains, values, "gains"))

    def set_safety_limits(self, **values: Any) -> None:
        self._core.set_safety_limits(_config.apply(self._core.safety_limits, values, "limits"))

    def reset(self) -> None:
        """Starts the commanded target over at the measured pose on the next tick (after
        the robot or the simulation was moved by other means, e.g. an episode reset), so the
        next policy target is compared with (and interpolated from) where the arm is.
        Policy targets sent before are not pursued. Never clears a fault (``recover()``)."""
        self._core.reset()

    # ---- outputs ----
    def mixer_settings(self) -> dict[str, Any]:
        """The mixer's settings, as given at construction."""
        return dict(self._mixer)

    def state(self) -> BridgeState:
        return BridgeState.from_raw(self._core.state())

    def metrics(self) -> dict[str, float]:
        """Loop counters: ticks, overruns, box/torque violations (must stay 0), clipped,
        stale and intervention ticks, ``rejected_targets``, ``joint_limit_ticks``, torque
        and timing extremes."""
        return dict(self._core.metrics())

    def timings(self) -> dict[str, np.ndarray]:
        """Per-tick compute time and wake-up lateness (us) of the retained ticks."""
        return {
            "compute_us": self._core.compute_us_samples(),
            "wake_late_us": self._core.wake_late_us_samples(),
        }

    def clear_timings(self) -> None:
        self._core.clear_samples()

    # ---- running ----
    def step(self, n: int = 1) -> None:
        """Lockstep: runs ``n`` ticks now. Read the result with ``state()``, whose
        intervention counts then cover every tick since the previous read."""
        self._core.step(int(n))

    def wait(self, seconds: float) -> None:
        """Real-time: sleeps while the loop runs; raises if a fault latches meanwhile."""
        self._core.wait(float(seconds))

    def wait_ticks(self, n: int, timeout: float = 10.0) -> bool:
        return bool(self._core.wait_ticks(int(n), float(timeout)))

    def check(self) -> None:
        """Raises ``ControlFault``/``ConnectionLost`` when a fault is latched."""
        self._core.check()

    def recover(self) -> bool:
        """Clears a latched fault (libfranka: automatic error recovery).

        Returns False when there was no fault or the backend could not recover.
        """
        return bool(self._core.recover())

    # ---- properties ----
    @property
    def fault(self) -> str:
        return self.state().fault

    @property
    def dof(self) -> int:
        return int(self._core.dof)

    @property
    def period(self) -> float:
        return float(self._core.period)

    @property
    def running(self) -> bool:
        return bool(self._core.running)

    @property
    def test_plant(self) -> _bridge.TestPlant:
        """Fault injection on the test backend."""
        return self._core.test_plant()
