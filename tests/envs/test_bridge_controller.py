"""The C++ bridge controller uses the impedance settings it is given (it used to store and
ignore them): the Python controller's gains map onto the bridge's, what the C++ law lacks
is refused by name, and softer gains make the simulated arm move less in one step."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax import envs
from silri_jax.envs.bridge_controller import bridge_settings
from silri_jax.envs.controllers import ImpedanceParams, bridge_available


def test_settings_map_the_python_gains_and_posture():
    p = ImpedanceParams(stiffness_pos=1000.0, stiffness_rot=100.0, damping_ratio=0.5,
                        error_clip_pos=0.03, error_clip_rot=0.2, nullspace_stiffness=4.0,
                        torque_rate_limit=2.0)
    s = bridge_settings(p, np.arange(7.0))
    k = np.array([1000.0] * 3 + [100.0] * 3)
    np.testing.assert_allclose(s["gains"]["stiffness"], k)
    np.testing.assert_allclose(s["gains"]["damping"], np.sqrt(k))  # 2 * 0.5 * sqrt(k)
    np.testing.assert_allclose(s["gains"]["error_clip"], [0.03] * 3 + [0.2] * 3)
    assert s["gains"]["nullspace_stiffness"] == 4.0 and s["gains"]["nullspace_damping"] == 4.0
    assert s["limits"] == {"max_dtau": 2.0}
    np.testing.assert_array_equal(s["q_nominal"], np.arange(7.0))
    assert bridge_settings(None, None) == {}
    with pytest.raises(ValueError, match=r"pinv_damping=0\.001"):
        bridge_settings(ImpedanceParams(pinv_damping=1e-3), None)
    with pytest.raises(ValueError, match="posture must be 7 finite joint angles"):
        bridge_settings(None, np.zeros(3))


@pytest.mark.skipif(not bridge_available(), reason="the C++ bridge is not built here "
                    "(pip install -e . builds it); runs wherever it is")
def test_softer_gains_reach_the_cpp_loop():
    def moved(impedance):
        env = envs.make("pick_cube", {"controller": "cpp", "impedance": impedance})
        env.reset(seed=0)
        before = env.unwrapped.controller.state().ee_pos.copy()
        env.step({"action": np.array([1.0, 0, 0], np.float32), "gripper": 1})
        return float(np.linalg.norm(env.unwrapped.controller.state().ee_pos - before))

    stiff = moved({"stiffness_pos": 2000.0})
    soft = moved({"stiffness_pos": 200.0})
    assert soft < 0.8 * stiff, (soft, stiff)
