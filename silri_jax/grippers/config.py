"""The ``gripper`` config section and ``make_gripper``, which turns it into a started
``GripperWorker``.

Each field's comment (the line above it) is its ``--help`` text (``silri_jax/cli.py``
reads comments this way), so every default is documented once, here. Apps put the
section at ``config.gripper = gripper_config()``.
"""

from __future__ import annotations

import pathlib
from collections.abc import Callable, Mapping
from typing import Any

import ml_collections

from silri_jax.grippers.base import GripperConnectionError, GripperDriver, GripperWorker

CONFIG_FILE = pathlib.Path(__file__).resolve()

KINDS = ("franka_hand", "robotiq_socket", "robotiq_rtu", "sim", "none")


def gripper_config() -> ml_collections.ConfigDict:
    """The ``gripper`` section with its documented defaults."""
    return _gripper()


def _gripper() -> ml_collections.ConfigDict:
    g = ml_collections.ConfigDict()
    # which gripper: franka_hand (libfranka's franka::Gripper), robotiq_socket (Robotiq
    # through the URCap's socket on a UR controller), robotiq_rtu (Robotiq over Modbus RTU
    # on a USB-RS485 adapter), sim (the MuJoCo Panda's fingers) or none (no gripper;
    # the default)
    g.kind = "none"
    # host: the UR controller running the Robotiq URCap (robotiq_socket) or the Franka
    # robot (franka_hand), e.g. 192.168.1.10; no default
    g.address = ""
    # TCP port of the Robotiq URCap's gripper socket (robotiq_socket; default 63352)
    g.port = 63352
    # serial device of the USB-RS485 adapter (robotiq_rtu; default /dev/ttyUSB0)
    g.serial_port = "/dev/ttyUSB0"
    # Modbus slave id of the Robotiq gripper (robotiq_rtu; default 9, as Robotiq ships it)
    g.slave_id = 9
    # serial baud rate, 8N1 (robotiq_rtu; default 115200, as Robotiq ships it)
    g.baudrate = 115200
    # Robotiq model: 2f85 (default), 2f140 or hande; sets the stroke and the speed and
    # force ranges
    g.model = "2f85"
    # finger speed, m/s (of the width; default 0.1); Robotiq maps it onto its 0..255
    # register within the model's range (2F-85: 0.02-0.15 m/s)
    g.speed = 0.1
    # grip force, N (default 40); Robotiq maps it onto 0..255 within the model's range
    # (2F-85: 20-235 N)
    g.force = 40.0
    # width a close command moves to, m: the fingers close towards it and stop on an
    # object (default 0: as far as they go)
    g.grasp_width_m = 0.0
    # width an open command moves to, m; at or above the gripper's maximum opening it
    # opens fully (default 1.0: fully open)
    g.open_width_m = 1.0
    # franka_hand: a grasp counts when the final width is more than grasp_width_m minus
    # this, m (default 0.005)
    g.epsilon_inner_m = 0.005
    # franka_hand: a grasp counts when the final width is less than grasp_width_m plus
    # this, m (default 0.08: any object the hand can hold)
    g.epsilon_outer_m = 0.08
    # franka_hand, sim: fingers closer than this hold nothing, so grasped is False below
    # it, m (default 0.003; an empty close ends inside a window that starts at 0)
    g.min_grasp_width_m = 0.003
    # least time between the starts of two gripper motions, s: a newer command waits
    # this long after the last motion started (instead of a sleep in the env step);
    # default 0.3
    g.refractory_s = 0.3
    # period of the worker's state polls, s (default 0.02; state() returns the latest)
    g.poll_s = 0.02
    # longest one request may wait for the gripper's reply, s (socket and serial;
    # default 1)
    g.timeout_s = 1.0
    # longest the Robotiq reset and activation may take each, s (default 10)
    g.activation_timeout_s = 10.0
    # franka_hand: run homing() when connecting and recovering (the fingers close and
    # open once to calibrate the width; default True)
    g.homing = True
    # sim: how long the simulated gripper reports busy after a command, s (default 0.5)
    g.motion_time_s = 0.5
    # Robotiq calibration: position count (0..255) read with the fingers fully open
    # (default 0)
    g.open_counts = 0
    # Robotiq calibration: position count read with the empty fingers fully closed
    # (default 255)
    g.closed_counts = 255
    # Robotiq calibration: finger width at open_counts, m; default 0 = the model's
    # stroke (2F-85: 0.085)
    g.stroke_m = 0.0
    return g


def _check(cfg: Mapping[str, Any]) -> None:
    """Config errors name the field, the value and what is allowed."""
    if cfg["kind"] not in KINDS:
        raise ValueError(f"gripper.kind={cfg['kind']!r} is not one of {', '.join(KINDS)}")
    for field in ("refractory_s", "timeout_s", "activation_timeout_s", "motion_time_s"):
        if not float(cfg[field]) >= 0.0:
            raise ValueError(f"gripper.{field}={cfg[field]!r} must be >= 0")
    for field in ("poll_s", "speed", "force"):
        if not float(cfg[field]) > 0.0:
            raise ValueError(f"gripper.{field}={cfg[field]!r} must be > 0")


def _take(kwargs: dict[str, Any], kind: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise TypeError(f"make_gripper(kind={kind!r}) got unexpected arguments {unknown}; "
                        f"it takes {list(allowed)}")
    return kwargs


def _robotiq_driver(cfg: Mapping[str, Any], transport: Any) -> GripperDriver:
    from silri_jax.grippers.robotiq import MODELS, RobotiqCalibration, RobotiqDriver

    if cfg["model"] not in MODELS:
        raise ValueError(f"gripper.model={cfg['model']!r} is not one of "
                         f"{', '.join(sorted(MODELS))}")
    stroke = float(cfg["stroke_m"]) or MODELS[cfg["model"]].stroke_m
    calibration = RobotiqCalibration(int(cfg["open_counts"]), int(cfg["closed_counts"]), stroke)
    return RobotiqDriver(transport, model=cfg["model"], calibration=calibration,
                         speed_mps=float(cfg["speed"]), force_n=float(cfg["force"]),
                         open_width_m=float(cfg["open_width_m"]),
                         grasp_width_m=float(cfg["grasp_width_m"]),
                         activation_timeout_s=float(cfg["activation_timeout_s"]))


def _franka_bridge_client_factory() -> Callable[[str], Any]:
    """``franka::Gripper`` from the C++ bridge, when this build binds it (``FrankaGripper``,
    built with libfranka)."""
    try:
        from silri_jax.cpp_bridge import _bridge
    except ImportError as e:
        raise GripperConnectionError(
            f"gripper.kind=franka_hand needs the C++ bridge ({e}) or a client: pass "
            "make_gripper(cfg, client_factory=...)") from e
    factory = getattr(_bridge, "FrankaGripper", None)
    if factory is None:
        raise GripperConnectionError(
            "gripper.kind=franka_hand needs a franka::Gripper client, and this build of the "
            "C++ bridge has none (FrankaGripper, built with libfranka); pass "
            "make_gripper(cfg, client_factory=...) a function of the robot's address that "
            "returns an object with homing, move, grasp, stop and readOnce")
    return factory


def make_driver(cfg: Mapping[str, Any], **kwargs: Any) -> GripperDriver:
    """The driver ``cfg.kind`` names, not yet connected. Injection points (``kwargs``):
    robotiq_rtu ``serial_factory``; franka_hand ``client_factory`` (or ``client``, an
    already connected client); sim ``env`` (a PandaSimEnv) or ``model`` and ``data``,
    and ``clock``."""
    _check(cfg)
    kind = cfg["kind"]
    if kind == "none":
        from silri_jax.grippers.null import NullDriver

        _take(kwargs, kind, ())
        return NullDriver()
    if kind == "robotiq_socket":
        from silri_jax.grippers.robotiq import RobotiqSocketTransport

        _take(kwargs, kind, ())
        if not cfg["address"]:
            raise ValueError("gripper.address='' but kind=robotiq_socket needs the UR "
                             "controller's address")
        transport = RobotiqSocketTransport(cfg["address"], int(cfg["port"]),
                                           timeout_s=float(cfg["timeout_s"]))
        return _robotiq_driver(cfg, transport)
    if kind == "robotiq_rtu":
        from silri_jax.grippers.modbus_rtu import RobotiqRtuTransport

        kw = _take(kwargs, kind, ("serial_factory",))
        transport = RobotiqRtuTransport(cfg["serial_port"], slave_id=int(cfg["slave_id"]),
                                        baudrate=int(cfg["baudrate"]),
                                        timeout_s=float(cfg["timeout_s"]), **kw)
        return _robotiq_driver(cfg, transport)
    if kind == "franka_hand":
        from silri_jax.grippers.franka_hand import FrankaHandDriver

        kw = _take(kwargs, kind, ("client_factory", "client"))
        if "client" in kw:
            client = kw.pop("client")
            kw.setdefault("client_factory", lambda _address: client)
        if "client_factory" not in kw and not cfg["address"]:
            raise ValueError("gripper.address='' but kind=franka_hand needs the robot's "
                             "address")
        factory = kw.get("client_factory") or _franka_bridge_client_factory()
        return FrankaHandDriver(
            cfg["address"], factory, speed_mps=float(cfg["speed"]),
            force_n=float(cfg["force"]), open_width_m=float(cfg["open_width_m"]),
            grasp_width_m=float(cfg["grasp_width_m"]),
            epsilon_inner_m=float(cfg["epsilon_inner_m"]),
            epsilon_outer_m=float(cfg["epsilon_outer_m"]),
            min_grasp_width_m=float(cfg["min_grasp_width_m"]), homing=bool(cfg["homing"]),
            stop_timeout_s=max(2.0, float(cfg["timeout_s"])))
    # kind == "sim"
    from silri_jax.grippers.sim import SimGripperDriver

    kw = _take(kwargs, kind, ("env", "model", "data", "clock"))
    options = {"motion_time_s": float(cfg["motion_time_s"]),
               "min_grasp_width_m": float(cfg["min_grasp_width_m"])}
    if "clock" in kw:
        options["clock"] = kw["clock"]
    if "env" in kw:
        return SimGripperDriver.from_env(kw["env"], **options)
    if "model" not in kw or "data" not in kw:
        raise TypeError("make_gripper(kind='sim') needs env= (a PandaSimEnv) or model= and "
                        "data=")
    return SimGripperDriver(kw["model"], kw["data"], **options)


def make_gripper(cfg: Mapping[str, Any], **kwargs: Any) -> GripperWorker:
    """A started ``GripperWorker`` for ``cfg`` (the ``gripper`` section). Raises the
    driver's ``GripperConnectionError`` (naming the address or serial port and what to
    check) when the gripper cannot be reached. ``kwargs`` as for ``make_driver``."""
    driver = make_driver(cfg, **kwargs)
    worker = GripperWorker(driver, refractory_s=float(cfg["refractory_s"]),
                           poll_s=float(cfg["poll_s"]))
    return worker.start()
