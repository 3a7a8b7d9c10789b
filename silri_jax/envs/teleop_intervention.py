"""A teleop device at the controls of an env: the human's command goes through the bridge.

``TeleopPump`` is what a device reader does on a real arm: it polls the device, runs the
intervention gate (clutch, motion or toggle), and writes the human's twist, button and
gripper command to the C++ bridge, whose 1 kHz mixer blends them with the policy's goal
(deadband, hold under a held clutch, no jump at takeover or hand-back). In simulation the
bridge runs in lockstep and ``BridgeController.step`` calls the pump every 10 ms of
simulated time, so a 10 Hz env step sees a 100 Hz device.

``TeleopIntervention`` is the outermost wrapper that a device replaces
``InterventionWrapper`` with. After each step it reads back what the bridge did: whether
the human drove any tick, and the commanded target the mixer ended on. The recorded action
is that target expressed as the policy's normalised action (the action that, sent by the
policy, would have produced the same target), so the buffers store what the arm was told,
not what the device said. Envs without a bridge (``gym:`` tasks, the Python controller) get
the same gate with the action replaced in Python.

``info`` gains ``is_intervention``, ``executed_action``, ``executed_gripper_action`` (tasks
with a gripper), ``teleop_segment`` (id of the takeover this step belongs to, -1 for none),
``teleop_events`` (edge events of the step, in order), ``teleop_held`` (the held roles,
e.g. ``label_hold``, held at any poll during the step, sorted) and ``teleop_problem`` (why
the device is unhealthy, "" when it is fine).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import gymnasium as gym
import numpy as np

from silri_jax import specs
from silri_jax.teleop.base import HOLD_ROLES, Device, Sample
from silri_jax.teleop.intervention import InterventionGate

_EPS = 1e-9


def _twist_to_action(twist: np.ndarray, mode: str) -> np.ndarray:
    """The normalised device twist as an action of the env's action mode."""
    if mode == "xyz":
        return twist[:3].copy()
    if mode == "xyz_yaw":
        return np.concatenate([twist[:3], twist[5:6]])
    return twist[:6].copy()


def uses_sim_clock(device: Device) -> bool:
    """Replayed, scripted and simulated devices follow the simulated clock (deterministic
    runs); a device with a human behind it follows the host's."""
    from silri_jax.operators.device import OperatorDevice
    from silri_jax.teleop.none_device import NoDevice
    from silri_jax.teleop.replay import ReplayDevice
    from silri_jax.teleop.scripted import ScriptedDevice

    return isinstance(device, OperatorDevice | ReplayDevice | ScriptedDevice | NoDevice)


class TeleopPump:
    """Device -> gate -> bridge, called at the device's rate (see the module docstring).

    ``max_linear_speed`` (m/s) and ``max_angular_speed`` (rad/s) turn the device's
    normalised twist into the bridge's physical one; full deflection for one control period
    then moves the target as far as a full policy action does.
    """

    def __init__(
        self,
        device: Device,
        gate: InterventionGate,
        bridge: Any,
        max_linear_speed: float,
        max_angular_speed: float,
        gripper_fractions: Mapping[int, float] | None = None,
    ) -> None:
        if not (max_linear_speed > 0 and max_angular_speed > 0):
            raise ValueError("teleop speeds must be positive")
        self.device, self.gate, self.bridge = device, gate, bridge
        self._scale = np.array([max_linear_speed] * 3 + [max_angular_speed] * 3)
        self._fractions = dict(gripper_fractions or {})
        self.sim_clock = uses_sim_clock(device)
        self.events: list[str] = []
        self.held: set[str] = set()
        self.problem = ""
        self.segment = -1
        self.intervened = False
        self.last: Sample | None = None
        self._continue = False  # a "continue" event not yet taken (take_continue)

    def begin_step(self) -> None:
        """Starts collecting one env step's events and intervention flag."""
        self.events = []
        self.held = set()
        self.intervened = False

    def __call__(self, now: float | None = None) -> Sample:
        """One poll. ``now`` is the simulated time in lockstep; a hardware device is
        polled on the host's clock whatever ``now`` says (its staleness is host time)."""
        sample = self.device.poll(now if self.sim_clock else None)
        gate = self.gate.update(sample)
        self.last = sample
        self.events.extend(sample.events)
        self.held.update(r for r in HOLD_ROLES if sample.buttons.get(r, False))
        if "continue" in sample.events:
            self._continue = True
        self.problem = "" if sample.healthy else (sample.problem or
                                                  f"{sample.device} is not healthy")
        engaged = bool(gate.intervening and sample.healthy)
        twist = np.clip(np.asarray(sample.twist, np.float64), -1.0, 1.0) * self._scale
        gripper = None
        if engaged and sample.gripper != specs.GRIPPER_STAY:
            gripper = self._fractions.get(int(sample.gripper))
        if self.bridge is not None:
            self.bridge.set_teleop(twist if engaged else np.zeros(6), engaged, gripper)
        if engaged:
            self.intervened = True
            self.segment = gate.segment
        return sample


    def take_continue(self) -> bool:
        """Whether the operator said "continue" since the last call (a reset waiting for
        the person to reset the scene)."""
        seen, self._continue = self._continue, False
        return seen


class PumpThread:
    """Runs a ``TeleopPump`` at ``rate_hz`` on its own thread: the real-time path, where
    the bridge's loop runs on its own clock and the human's command must reach it at the
    device's rate whatever the env step is doing. Errors stop the thread and are raised
    again by ``check()`` / ``stop()`` so they are never lost."""

    def __init__(self, pump: TeleopPump, rate_hz: float = 500.0) -> None:
        import threading

        if not rate_hz > 0:
            raise ValueError(f"pump rate must be positive, got {rate_hz}")
        self.pump, self.period = pump, 1.0 / float(rate_hz)
        self._stop = threading.Event()
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="teleop-pump", daemon=True)

    def _run(self) -> None:
        import time

        next_t = time.monotonic()
        try:
            while not self._stop.is_set():
                self.pump()
                next_t += self.period
                delay = next_t - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_t = time.monotonic()  # fell behind: do not burst to catch up
        except BaseException as e:  # re-raised by check() and stop()
            self._error = e

    def start(self) -> PumpThread:
        self._thread.start()
        return self

    def check(self) -> None:
        if self._error is not None:
            raise RuntimeError(f"the teleop pump stopped: {self._error}") from self._error

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=2.0)
        self.check()


class TeleopIntervention(gym.Wrapper):
    """Lets a teleop device take over, through the bridge's mixer where the env has one.

    ``max_linear_speed`` / ``max_angular_speed`` <= 0 derive the full-deflection speeds
    from the env's action scales and control rate (one full action per control period).
    """

    def __init__(
        self,
        env: gym.Env,
        device: Device,
        gate: InterventionGate,
        max_linear_speed: float = -1.0,
        max_angular_speed: float = -1.0,
    ) -> None:
        super().__init__(env)
        self.device, self.gate = device, gate
        self._mode = self._attr("mode", "full")
        self._controller = self._attr("controller", None)
        bridge = getattr(self._controller, "bridge", None)
        hz = float(self._control_hz())
        scale_pos = np.asarray(self._attr("scale_pos", 0.01), np.float64)
        scale_rot = np.asarray(self._attr("scale_rot", 0.1), np.float64)
        lin = max_linear_speed if max_linear_speed > 0 else float(np.max(scale_pos)) * hz
        ang = max_angular_speed if max_angular_speed > 0 else float(np.max(scale_rot)) * hz
        fractions = {}
        if bridge is not None:
            from silri_jax.envs.sim.env import GRIPPER_CLOSED_CTRL, GRIPPER_OPEN_CTRL

            fractions = {
                specs.GRIPPER_OPEN: self._controller.gripper_fraction(GRIPPER_OPEN_CTRL),
                specs.GRIPPER_CLOSE: self._controller.gripper_fraction(GRIPPER_CLOSED_CTRL),
            }
            bridge.set_mode("shared")
            mixer = bridge.mixer_settings()
            if not (mixer["require_button"] and mixer["hold_when_engaged"]):
                raise ValueError(
                    "the bridge's mixer must have require_button and hold_when_engaged set "
                    f"for a teleop device (the gate decides who is in control): {mixer}")
        self.pump = TeleopPump(device, gate, bridge, lin, ang, fractions)
        # A bridge on its own real-time loop gets the human's command from a thread at the
        # device's rate; a lockstep one polls the pump between its ticks.
        self.realtime = bool(getattr(self._controller, "realtime", False)) and \
            bridge is not None
        self._pump_thread: PumpThread | None = None
        self.has_bridge = bridge is not None
        self._bridge = bridge
        self._speeds = (lin, ang)
        self._has_gripper = bool(self._attr("has_gripper", False))
        self._steps = 0

    # ------------------------------------------------------------------ helpers
    def _attr(self, name: str, default: Any) -> Any:
        try:
            return self.env.get_wrapper_attr(name)
        except AttributeError:
            return default

    def _control_hz(self) -> float:
        cfg = self._attr("config", None)
        return float(getattr(cfg, "control_hz", 10.0) or 10.0)

    def operator_continue(self) -> bool:
        """Polled by a reset waiting for the operator: whether they said "continue"."""
        if self._pump_thread is not None:
            self._pump_thread.check()
        else:
            self.pump(getattr(self._controller, "sim_time", None))
        return self.pump.take_continue()

    def close(self) -> None:
        if self._pump_thread is not None:
            thread, self._pump_thread = self._pump_thread, None
            thread.stop()
        super().close()

    # ------------------------------------------------------------------ gym API
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):  # type: ignore[override]
        if self.realtime and self._pump_thread is None:
            self._pump_thread = PumpThread(self.pump).start()
        obs, info = self.env.reset(seed=seed, options=options)
        if hasattr(self.device, "reset"):
            # Same seed rule as InterventionWrapper: a run repeats exactly.
            self.device.reset(None if seed is None else seed + 7919)
        self.gate.reset()
        self.pump.segment = -1
        if self._bridge is not None:
            self._bridge.set_teleop(np.zeros(6), False, None)
        info.setdefault("is_intervention", False)
        return obs, info

    def step(self, action: Any):  # type: ignore[override]
        self._steps += 1
        begin = getattr(self.device, "begin_step", None)
        if begin is not None:  # a simulated operator decides once per step
            begin(self.env.get_wrapper_attr("privileged_state")(), action,
                  getattr(self._controller, "sim_time", 0.0))
        if self._bridge is None:
            return self._step_python(action)
        pos0, quat0 = self.env.get_wrapper_attr("current_pose")()
        before = self._bridge.state()  # also restarts the bridge's per-read tick counts
        self.pump.begin_step()
        if self._pump_thread is not None:
            self._pump_thread.check()
            obs, reward, terminated, truncated, info = self.env.step(action)
        else:
            self._controller.teleop_source = self.pump
            try:
                obs, reward, terminated, truncated, info = self.env.step(action)
            finally:
                self._controller.teleop_source = None
        after = self._bridge.state()
        # Totals, not per-read counts: the env may read the state itself during its step.
        intervened = after.intervened_ticks > 0 or \
            after.intervention_total > before.intervention_total
        info["is_intervention"] = bool(intervened)
        if intervened:
            a = self.env.get_wrapper_attr("action_from_target")(
                after.target_position, after.target_quat, pos0, quat0)
            info["executed_action"] = np.clip(a, -1.0, 1.0).astype(np.float32)
            if self._has_gripper:
                info["executed_gripper_action"] = self._gripper_change(before.gripper,
                                                                       after.gripper)
        self._annotate(info, intervened)
        return obs, reward, terminated, truncated, info

    def _gripper_change(self, before: float, after: float) -> int:
        """What the bridge did to the gripper over the step, as a discrete command."""
        if abs(after - before) < _EPS:
            return specs.GRIPPER_STAY
        f = self.pump._fractions
        return min(f, key=lambda g: abs(f[g] - after))

    def _step_python(self, action: Any):
        """No bridge: the gate's decision replaces the action in Python, once per step."""
        self.pump.begin_step()
        sample = self.pump()
        if self.pump.intervened:
            a = _twist_to_action(np.asarray(sample.twist, np.float64), self._mode)
            takeover: Any = a
            if self._has_gripper:
                takeover = {"action": a, "gripper": int(sample.gripper)}
            action = takeover
        obs, reward, terminated, truncated, info = self.env.step(action)
        info["is_intervention"] = bool(self.pump.intervened)
        self._annotate(info, self.pump.intervened)
        return obs, reward, terminated, truncated, info

    def _annotate(self, info: dict[str, Any], intervened: bool) -> None:
        info["teleop_segment"] = self.pump.segment if intervened else -1
        info["teleop_events"] = tuple(self.pump.events)
        info["teleop_held"] = tuple(sorted(self.pump.held))
        info["teleop_problem"] = self.pump.problem
