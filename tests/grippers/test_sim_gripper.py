"""The simulated gripper through the worker in MuJoCo: the Panda's fingers close on the
pick_cube cube (and lift it), and an empty close is not a grasp."""

from __future__ import annotations

import time

import numpy as np
import pytest
from gripper_fakes import wait_until

from silri_jax.envs.sim.env import PandaSimEnv, SimConfig
from silri_jax.grippers import gripper_config, make_gripper
from silri_jax.specs import GRIPPER_CLOSE, GRIPPER_OPEN, GRIPPER_STAY


@pytest.fixture(scope="module")
def env():
    e = PandaSimEnv(SimConfig(task="pick_cube", controller="python"))
    yield e
    e.close()


def _cfg():
    cfg = gripper_config()
    cfg.update(kind="sim", motion_time_s=0.1, refractory_s=0.0, poll_s=0.01)
    return cfg


def _step_to(env: PandaSimEnv, pos: np.ndarray, steps: int) -> None:
    for _ in range(steps):
        env.step({"pose": np.r_[pos, env.nominal_quat], "gripper": GRIPPER_STAY})


def _step_until(env: PandaSimEnv, pos: np.ndarray, done, max_steps: int = 100) -> bool:
    for _ in range(max_steps):
        if done():
            return True
        _step_to(env, pos, 1)
        time.sleep(0.005)  # let the worker poll between physics steps
    return bool(done())


def test_sim_gripper_closes_on_the_cube_and_lifts_it(env):
    env.reset(seed=0)
    cube = env.task.cube_pos(env.data).copy()
    for dz in (0.1, 0.05, 0.0):  # come down around the cube, fingers open
        _step_to(env, cube + np.array([0.0, 0.0, dz]), 8)
    with make_gripper(_cfg(), env=env) as gripper:
        assert gripper.state().width_m == pytest.approx(0.08, abs=1e-3)
        gripper.command(GRIPPER_CLOSE)
        assert _step_until(env, cube, lambda: gripper.state().grasped)
        state = gripper.state()
        assert state.width_m == pytest.approx(2 * env.task.half, abs=2e-3)
        assert state.fault == "" and not state.busy
        _step_to(env, cube + np.array([0.0, 0.0, 0.12]), 15)
        assert env.task.success(env.model, env.data)
        gripper.command(GRIPPER_OPEN)
        assert _step_until(env, cube + np.array([0.0, 0.0, 0.12]),
                           lambda: gripper.state().width_m > 0.079)
        assert not gripper.state().grasped


def test_empty_close_is_not_a_grasp(env):
    env.reset(seed=1)
    home = env.data.site_xpos[env.model.site("ee_site").id].copy()
    with make_gripper(_cfg(), env=env) as gripper:
        gripper.command(GRIPPER_CLOSE)
        assert _step_until(env, home, lambda: gripper.state().width_m < 0.002
                           and not gripper.state().busy)
        time.sleep(0.05)
        assert wait_until(lambda: not gripper.state().grasped, timeout_s=1.0)
