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


def test_the_bridge_links_no_mujoco_and_takes_the_installed_ones_functions() -> None:
    """One build for any supported MuJoCo: the module carries no libmujoco dependency and
    calls the functions of the library the ``mujoco`` package loaded."""
    from silri_jax.bridge import mujoco_view
    from silri_jax.cpp_bridge import _bridge

    assert b"libmujoco.so" not in pathlib.Path(_bridge.__file__).read_bytes()  # no NEEDED
    addresses = mujoco_view.function_addresses()
    assert set(addresses) == {"mj_step1", "mj_step2", "mj_jacSite"}
    assert all(a > 0 for a in addresses.values())
    mujoco_view.check_version()  # the installed one is in the supported range


def test_a_mujoco_outside_the_range_and_rk4_are_refused_by_name(arm7_xml) -> None:
    from silri_jax.bridge import mujoco_view

    with pytest.raises(RuntimeError, match=r"MuJoCo 2\.3\.7 is installed; the bridge supports"):
        mujoco_view.check_version((2, 3, 7))
    with pytest.raises(RuntimeError, match=r"MuJoCo 4\.1\.0 is installed"):
        mujoco_view.check_version((4, 1, 0))
    model = mujoco.MjModel.from_xml_path(str(arm7_xml))
    model.opt.integrator = mujoco.mjtIntegrator.mjINT_RK4
    with pytest.raises(ValueError, match="RK4 integrator is not supported"):
        Bridge("mujoco", model=model, data=mujoco.MjData(model))


def test_out_of_range_indices_in_a_view_are_refused(arm7_xml) -> None:
    """The C++ side checks the view it is handed: an index past the model's arrays is an
    error naming it, never a write outside mjData."""
    from silri_jax.bridge.mujoco_view import make_view
    from silri_jax.cpp_bridge import _bridge

    model = mujoco.MjModel.from_xml_path(str(arm7_xml))
    data = mujoco.MjData(model)
    joints = [model.joint(i).name for i in range(model.njnt)][:7]
    view = make_view(model, data, joints, "ee_site", "")
    view.site = model.nsite
    with pytest.raises(ValueError, match="site index out of range"):
        _bridge.BridgeCore.create_mujoco(view, _bridge.MujocoConfig(), _bridge.BridgeConfig())
    view = make_view(model, data, joints, "ee_site", "")
    view.dof_adr = [*view.dof_adr[:-1], model.nv]
    with pytest.raises(ValueError, match=r"dof address of joint .* out of range"):
        _bridge.BridgeCore.create_mujoco(view, _bridge.MujocoConfig(), _bridge.BridgeConfig())
