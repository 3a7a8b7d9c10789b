"""The MuJoCo camera renders the Panda scene of the simulated tasks behind the Camera
interface, stamped with simulated time."""

from __future__ import annotations

import numpy as np
import pytest

from silri_jax.cameras import CameraError, CameraRig, camera_config, make_camera
from silri_jax.cameras.base import DOMAIN_SIM
from silri_jax.cameras.mujoco_camera import MujocoCamera


@pytest.fixture(scope="module")
def panda():
    """The scene PandaSimEnv builds (Panda arm on a table), and a probe that GL works."""
    import mujoco

    from silri_jax.envs.sim import scene
    from silri_jax.envs.sim.render import CameraRenderer, RenderUnavailableError

    spec, _ = scene.load_panda_spec()
    scene.add_table(spec)
    model = spec.compile()
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    try:
        CameraRenderer(model, ["front"], 16, 16).close()
    except RenderUnavailableError as e:
        pytest.skip(f"no offscreen OpenGL backend works here: {e}")
    return model, data


def test_on_demand_render_follows_the_simulation(panda):
    import mujoco

    model, data = panda
    cfg = camera_config(backend="mujoco", device="front", width=64, height=48, fps=0.0)
    with make_camera("front", cfg, model=model, data=data) as cam:
        a = cam.read(1.0)
        assert a.image.shape == (48, 64, 3) and a.image.dtype == np.uint8
        assert a.domain == DOMAIN_SIM and a.t_device == data.time
        assert a.image.std() > 1.0  # a scene, not a blank buffer
        mujoco.mj_step(model, data)
        b = cam.read(1.0)  # rendered now, for the current state
        assert b.t_device == pytest.approx(data.time) and b.seq == a.seq + 1


def test_threaded_render_at_a_rate_through_a_rig(panda, waiter):
    model, data = panda
    cams = {n: MujocoCamera(n, model, data, n, width=32, height=32, fps=50.0)
            for n in ("front", "wrist")}
    with CameraRig(cams, size=16, max_age_s=1.0) as rig:
        waiter(lambda: all(c.latest().seq >= 3 for c in cams.values()))
        obs = rig.observe()
    assert {k: v.shape for k, v in obs.items()} == {"images/front": (16, 16, 3),
                                                     "images/wrist": (16, 16, 3)}
    assert not np.array_equal(obs["images/front"], obs["images/wrist"])


def test_unknown_camera_lists_the_model_cameras(panda):
    model, data = panda
    with pytest.raises(CameraError, match=r"no camera 'top'.*'front', 'wrist'"):
        MujocoCamera("top", model, data, "top").start()
