import numpy as np
import pytest

from silri_jax import specs


def test_pixel_spec_keys_and_batch_shapes():
    spec = specs.pixel_env_spec(18, 4, cameras=("front", "wrist"), image_size=64)
    assert spec.observation.image_keys == ("images/front", "images/wrist")
    assert spec.observation.vector_keys == ("state",)
    b = specs.example_batch(spec, 5)
    assert b["observations"]["images/front"].shape == (5, 64, 64, 3)
    assert b["observations"]["images/front"].dtype == np.uint8
    spec.observation.validate(b["observations"], batch_ndim=1)


def test_validate_names_the_bad_key():
    spec = specs.state_env_spec(3, 2)
    with pytest.raises(ValueError, match="state"):
        spec.observation.validate({"state": np.array([0.0, np.nan, 1.0], np.float32)})
    with pytest.raises(ValueError, match="missing"):
        spec.observation.validate({})
    with pytest.raises(ValueError, match="NaN"):
        spec.action.validate(np.array([np.inf, 0.0], np.float32))


def test_camera_must_be_uint8():
    with pytest.raises(ValueError, match="uint8"):
        specs.ObservationSpec({"images/front": specs.ArraySpec((8, 8, 3), "float32")})


def test_spec_round_trips_through_dict():
    spec = specs.pixel_env_spec(7, 3, has_gripper=True)
    assert specs.EnvSpec.from_dict(spec.to_dict()) == spec
