"""Network shapes, the critic ensemble's independence, the Lagrange init, and loading
pretrained backbone weights from a local file."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from silri_jax import specs
from silri_jax.agents import get_config, make_agent
from silri_jax.networks import CriticEnsemble, LagrangeNetwork, ResNet10, SmallConv
from silri_jax.networks.pretrained import (
    HILSERL_RENAMES,
    load_backbone_params,
    save_backbone_params,
)


def test_resnet10_feature_map_and_small_conv_shapes():
    x = jnp.zeros((2, 128, 128, 3), jnp.uint8)
    r = ResNet10()
    p = r.init(jax.random.PRNGKey(0), x)
    assert r.apply(p, x).shape == (2, 4, 4, 512)
    s = SmallConv()
    assert s.apply(s.init(jax.random.PRNGKey(0), x), x).shape == (2, 8, 8, 32)


def test_critic_members_are_whole_independent_heads():
    f = {"state": jnp.ones((3, 5))}
    m = CriticEnsemble(ensemble_size=2, hidden_dims=(8, 8), latent_dim=4)
    p = m.init(jax.random.PRNGKey(0), f, jnp.ones((3, 2)))["params"]
    # every parameter, the final layer included, has a leading ensemble axis of 2 that differs
    for leaf in jax.tree.leaves(p):
        assert leaf.shape[0] == 2
    final = p["members"]["q"]["kernel"]
    assert not np.allclose(final[0], final[1])
    q = m.apply({"params": p}, f, jnp.ones((3, 2)))
    assert q.shape == (2, 3) and not np.allclose(q[0], q[1])


def test_lagrange_starts_at_softplus_zero_everywhere():
    m = LagrangeNetwork(hidden_dims=(8,), latent_dim=4)
    f = {"state": jax.random.normal(jax.random.PRNGKey(1), (5, 3))}
    p = m.init(jax.random.PRNGKey(0), f)
    np.testing.assert_allclose(m.apply(p, f), np.log(2.0) * np.ones(5), rtol=1e-6)


def test_pretrained_backbone_round_trip_and_clear_errors(tmp_path):
    net = SmallConv()
    params = net.init(jax.random.PRNGKey(3), jnp.zeros((1, 128, 128, 3), jnp.uint8))["params"]
    path = tmp_path / "w.npz"
    save_backbone_params(params, path)
    loaded = load_backbone_params(path, net)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(FileNotFoundError, match="not found"):
        load_backbone_params(tmp_path / "missing.npz", net)
    with pytest.raises(ValueError, match="does not match"):
        load_backbone_params(path, SmallConv(features=(16, 32, 32, 32)))
    (tmp_path / "junk.npz").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="not a readable"):
        load_backbone_params(tmp_path / "junk.npz", net)


def test_agent_uses_the_named_pretrained_file_and_exports_no_backbone(tmp_path):
    spec = specs.pixel_env_spec(4, 2, cameras=("front",), image_size=32)
    net = SmallConv()
    params = net.init(jax.random.PRNGKey(7), jnp.zeros((1, 32, 32, 3), jnp.uint8))["params"]
    save_backbone_params(params, tmp_path / "b.npz")
    cfg = get_config("hgdagger")
    cfg.encoder.backbone = "small_conv"
    cfg.encoder.pretrained_path = str(tmp_path / "b.npz")
    cfg.network.hidden_dims = (16,)
    cfg.network.latent_dim = 8
    agent = make_agent(cfg, spec)
    st = agent.init(jax.random.PRNGKey(0))
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(st.frozen["backbone"]), strict=True):
        np.testing.assert_array_equal(a, np.asarray(b))
    exported = agent.actor_params(st)
    assert set(exported) == {"policy"}
    obs = specs.example_batch(spec, 2)["observations"]
    action, gripper = agent.act(exported, obs, jax.random.PRNGKey(0), deterministic=True)
    assert action.shape == (2, 2) and gripper is None
    batch = jax.tree.map(lambda x: np.stack([x]), specs.example_batch(spec, 4))
    st, m = agent.update(st, batch)
    assert np.isfinite(float(m["policy_nll"]))


def _to_hilserl_layout(params):
    inverse = {v: k for k, v in HILSERL_RENAMES.items()}

    def rename(k):
        if k.startswith("stage_"):
            return "ResNetBlock_" + k.removeprefix("stage_")
        return inverse.get(k, k)

    def walk(t):
        if isinstance(t, dict):
            return {rename(k): walk(v) for k, v in t.items()}
        return np.asarray(t)

    return walk(jax.tree.map(np.asarray, dict(params)))


def test_hilserl_resnet10_conversion_round_trip_and_refuses_code(tmp_path):
    import pickle

    from silri_jax.networks.pretrained import convert_hilserl_resnet10

    params = ResNet10().init(jax.random.PRNGKey(5), jnp.zeros((1, 128, 128, 3), jnp.uint8))
    hil = _to_hilserl_layout(params["params"])
    assert "conv_init" in hil and "ResNetBlock_1" in hil and "conv_proj" in hil["ResNetBlock_1"]
    src = tmp_path / "resnet10_params.pkl"
    src.write_bytes(pickle.dumps(hil))
    loaded = convert_hilserl_resnet10(src, tmp_path / "resnet10.npz")
    for a, b in zip(jax.tree.leaves(params["params"]), jax.tree.leaves(loaded), strict=True):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    bad = tmp_path / "evil.pkl"
    bad.write_bytes(pickle.dumps({"conv_init": Evil()}))
    with pytest.raises(ValueError, match=r"refusing to unpickle builtins\.print"):
        convert_hilserl_resnet10(bad, tmp_path / "x.npz")

    # a parameter tree of another shape is refused before anything is written
    del hil["ResNetBlock_1"]["conv_proj"]
    partial = tmp_path / "partial.pkl"
    partial.write_bytes(pickle.dumps(hil))
    with pytest.raises(ValueError, match=r"partial\.pkl does not match the ResNet10.*missing"):
        convert_hilserl_resnet10(partial, tmp_path / "y.npz")
    assert not (tmp_path / "y.npz").exists()
