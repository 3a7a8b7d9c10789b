"""The MuJoCo backend steps the MjData Python created and tracks Cartesian targets."""

from __future__ import annotations

import pathlib

import mujoco
import numpy as np
import pytest

from silri_jax.bridge import Bridge

PANDA_XML = pathlib.Path(__file__).resolve().parents[2] / "silri_jax/envs/sim/assets/panda.xml"



def _track(xml: str, offset: np.ndarray) -> tuple[np.ndarray, np.ndarray, Bridge, mujoco.MjData]:
    model = mujoco.MjModel.from_xml_path(xml)
    data = mujoco.MjData(model)
    mujoco.mj_resetDataKeyframe(model, data, model.key("home").id)
    home = data.qpos[:7].copy()
    b = Bridge("mujoco", model=model, data=data, q_nominal=home,
               watchdog={"policy_timeout_s": 100.0})
    b.step(200)
    s0 = b.state()
    goal = s0.ee_position + offset
    b.set_policy_target(goal, s0.ee_quat)
    b.step(3000)
    s = b.state()
    return s, goal, b, data


def test_steps_the_callers_data_and_tracks(arm7_xml) -> None:
    s, goal, b, data = _track(str(arm7_xml), np.array([0.03, 0.02, -0.03]))
    assert data.time == pytest.approx(3.2)  # the very MjData Python holds advanced
    np.testing.assert_allclose(s.ee_position, goal, atol=3e-3)
    np.testing.assert_allclose(data.site("ee_site").xpos, s.ee_position, atol=1e-3)
    assert b.metrics()["torque_violations"] == 0


def test_joint_and_site_names_are_configuration(arm7_xml) -> None:
    model = mujoco.MjModel.from_xml_path(str(arm7_xml))
    data = mujoco.MjData(model)
    with pytest.raises(ValueError, match="no site named 'tool'"):
        Bridge("mujoco", model=model, data=data, site="tool")
    with pytest.raises(ValueError, match="no joint named 'j1'"):
        Bridge("mujoco", model=model, data=data, joints=["j1"])
    b = Bridge("mujoco", model=model, data=data, joints=["joint1", "joint2", "joint3"])
    assert b.dof == 3
    with pytest.raises(ValueError, match="timestep"):
        Bridge("mujoco", model=model, data=data, period_s=0.002)


@pytest.mark.skipif(not PANDA_XML.exists(), reason=f"Panda model not present at {PANDA_XML}")
def test_panda_tracks_a_cartesian_target() -> None:
    s, goal, b, _ = _track(str(PANDA_XML), np.array([0.05, -0.04, 0.04]))
    np.testing.assert_allclose(s.ee_position, goal, atol=3e-3)
    assert b.metrics()["box_violations"] == 0
