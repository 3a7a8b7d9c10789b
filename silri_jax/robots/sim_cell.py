"""The simulated work cell a rehearsal runs in: the MuJoCo Panda, a table and one task's
objects, driven by the bridge's MuJoCo backend exactly as a real arm is by its own.

What a rehearsal gets from the simulator that a real cell would not: ``reset_scene``
(objects put back at random, which a person does on a real robot while the arm waits),
``success`` (the ``sim`` reward; a real cell uses the operator or a classifier) and
``privileged_state`` (what the simulated operator sees instead of a human's eyes). The
policy sees none of them: its observation comes from the bridge, the gripper worker and
the cameras, as on the robot.
"""

from __future__ import annotations

import threading
from typing import Any

import mujoco
import numpy as np

from silri_jax.envs.bridge_controller import BridgeController
from silri_jax.envs.controller_types import ARM_JOINTS
from silri_jax.envs.sim import scene
from silri_jax.envs.sim.tasks import TASKS, Task


class SimCell:
    """One task's scene, with the arm on a lockstep bridge (``controller``).

    Args:
        task: a simulated task's name (``silri_jax.envs.sim.tasks.TASKS``).
        start_pos, start_quat: where the arm starts (the cell's reset pose).
        bridge_settings: ``Bridge`` keyword settings (gains, limits, watchdog, mixer).
    """

    def __init__(self, task: str, start_pos: np.ndarray, start_quat: np.ndarray,
                 bridge_settings: dict[str, Any]) -> None:
        if task not in TASKS:
            raise ValueError(f"unknown simulated scene {task!r}; known: {sorted(TASKS)}")
        self.task: Task = TASKS[task]()
        spec, home = scene.load_panda_spec()
        scene.add_table(spec)
        self.task.build(spec)
        self.model = spec.compile()
        self.data = mujoco.MjData(self.model)
        self.task.bind(self.model)
        m = self.model
        arm = [m.joint(j).id for j in ARM_JOINTS]
        self._qadr = m.jnt_qposadr[arm].copy()
        self._dofadr = m.jnt_dofadr[arm].copy()
        fingers = [m.joint(f"finger_joint{i}").id for i in (1, 2)]
        self._fadr = m.jnt_qposadr[fingers].copy()
        self.data.qpos[self._qadr] = home[:7]
        self.start_q = scene.solve_ik(m, self.data, self._qadr, self._dofadr,
                                      np.asarray(start_pos, np.float64),
                                      np.asarray(start_quat, np.float64))
        self._body0 = {i: m.body_pos[i].copy() for i in range(m.nbody)}
        # The gripper worker (SimGripperDriver) owns the finger actuator, as a real
        # gripper has its own connection: the bridge does not write it.
        self.controller = BridgeController(m, self.data, posture=self.start_q,
                                           gripper_actuator="", **bridge_settings)
        # Held around physics steps so a camera rendering on another thread never sees
        # half a step.
        self.lock = threading.Lock()
        self._placed = False

    @property
    def has_gripper(self) -> bool:
        return bool(self.task.defaults.has_gripper)

    def place_arm(self) -> None:
        """Puts the arm at its start configuration (the first reset only: later resets
        move it there under control, as on a robot)."""
        mujoco.mj_resetData(self.model, self.data)
        self.data.qpos[self._qadr] = self.start_q
        self.data.qpos[self._fadr] = 0.04
        mujoco.mj_forward(self.model, self.data)
        self.controller.reset()
        # one tick publishes the measured state (a real bridge's first read does that)
        with self.lock:
            self.controller.step(1)
        self._placed = True

    @property
    def placed(self) -> bool:
        return self._placed

    def reset_scene(self, rng: np.random.Generator) -> None:
        """Puts the task's objects back at random (the person's job on a real cell)."""
        with self.lock:
            for i, p in self._body0.items():
                self.model.body_pos[i] = p
            self.task.reset(self.model, self.data, rng)
            mujoco.mj_forward(self.model, self.data)

    def success(self) -> bool:
        return bool(self.task.success(self.model, self.data))

    def privileged(self) -> dict[str, Any]:
        return dict(self.task.privileged(self.model, self.data))
