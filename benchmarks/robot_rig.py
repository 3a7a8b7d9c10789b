"""A robot env on the test plant, for the robot-path benchmarks (no arm, no GPU needed).

What ``make_robot_env`` builds for a real arm, with three stand-ins: the bridge's
``"test"`` backend (a Cartesian point mass) for libfranka, running its 1 kHz loop on its
own C++ thread (``run="realtime"``) behind a ``RealtimeArm``; a ``GripperWorker`` over
``NullDriver`` for the Franka Hand; ``FakeCamera``s for the cell's cameras. Gains, safety
limits, watchdog and mixer come from the robot and cell configs through the same
``bridge_settings`` a real arm gets (``configs/robots/sim_franka.py``,
``configs/tasks/pick_cube.py``, the cell's cameras replaced by the fakes).
"""

from __future__ import annotations

from typing import Any

from silri_jax.cameras import CameraRig, FakeCamera
from silri_jax.cameras.__main__ import centre_square
from silri_jax.cameras.config import cameras_section
from silri_jax.grippers.base import GripperWorker
from silri_jax.grippers.null import NullDriver
from silri_jax.robots import RobotEnv, load_cell, load_robot
from silri_jax.robots.arm import RealtimeArm
from silri_jax.robots.factory import bridge_settings

CAMERAS = ("front", "wrist")


def configs(control_hz: float | None = None) -> tuple[Any, Any]:
    """The robot and cell configs (``sim_franka``, ``pick_cube``), the cell's own cameras
    removed; ``control_hz`` (None: the cell's 10 Hz) sets the policy's rate."""
    robot = load_robot("sim_franka")
    cell = load_cell("pick_cube")
    cell.cameras = cameras_section()
    if control_hz is not None:
        cell.control_hz = float(control_hz)
    return robot, cell


def make_bridge(robot: Any, cell: Any) -> Any:
    """A realtime bridge on the test plant, at rest at the cell's reset pose."""
    from silri_jax.bridge import Bridge

    plant = {"initial_position": list(cell.reset_pos_m),
             "initial_quat": list(cell.reset_quat_wxyz)}
    return Bridge("test", run="realtime", plant=plant, **bridge_settings(robot, cell))


def fake_rig(n: int, *, width: int, height: int, fps: float, latency_s: float, size: int,
             max_age_s: float) -> CameraRig | None:
    """``n`` (0 to 2) fake cameras named like the cell's, centre-square cropped to ``size``."""
    if n <= 0:
        return None
    names = CAMERAS[:n]
    cams = {name: FakeCamera(name, width=width, height=height, fps=fps, seed=i,
                             latency_s=latency_s) for i, name in enumerate(names)}
    crop = centre_square(height, width)
    return CameraRig(cams, crops=dict.fromkeys(names, crop), size=size, max_age_s=max_age_s)


def robot_env(robot: Any, cell: Any, arm: RealtimeArm, rig: CameraRig | None,
              gripper: GripperWorker | None = None) -> RobotEnv:
    """``RobotEnv`` over ``arm`` (started here) with a null gripper worker (or ``gripper``)
    and the camera rig (started at the env's first reset)."""
    arm.start()
    g = robot.gripper
    if gripper is None:
        gripper = GripperWorker(NullDriver(), refractory_s=float(g.refractory_s),
                                poll_s=float(g.poll_s))
    gripper.start()
    return RobotEnv(robot, cell, arm, gripper=gripper, cameras=rig)
