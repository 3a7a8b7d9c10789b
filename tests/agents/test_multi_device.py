"""4 forced CPU devices give the same parameters as 1 device on the same global batch.

Runs in a subprocess because the device count is fixed when XLA starts
(``XLA_FLAGS=--xla_force_host_platform_device_count=4``).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

SCRIPT = textwrap.dedent(
    """
    import jax, numpy as np, sys
    sys.path.insert(0, "tests/agents")
    from conftest import fixed_batch, tiny_config
    from silri_jax import specs
    from silri_jax.agents import make_agent
    assert len(jax.devices()) == 4, jax.devices()
    algo = sys.argv[1]
    spec = specs.state_env_spec(3, 2, has_gripper=True)
    results = []
    for devices in (jax.devices()[:1], jax.devices()):
        agent = make_agent(tiny_config(algo), spec, devices=devices)
        assert agent.num_devices == len(devices)
        st = agent.init(jax.random.PRNGKey(0))
        if agent.has_pretraining:
            st, _ = agent.pretrain(st, fixed_batch(spec, n=16, seed=9, utd=2))
        for i in range(3):
            st, m = agent.update(st, fixed_batch(spec, n=16, seed=i, utd=2))
        results.append((jax.tree.map(np.asarray, st.params), {k: float(v) for k, v in m.items()}))
    (p1, m1), (p4, m4) = results
    worst = max(
        float(np.max(np.abs(a - b)) / (np.max(np.abs(a)) + 1e-6))
        for a, b in zip(jax.tree.leaves(p1), jax.tree.leaves(p4))
    )
    changed = max(float(np.max(np.abs(a))) for a in jax.tree.leaves(p1))
    for k in m1:
        assert abs(m1[k] - m4[k]) <= 1e-4 * (1 + abs(m1[k])), (k, m1[k], m4[k])
    print("WORST", worst, changed)
    assert worst < 1e-4, worst
    """
)


@pytest.mark.parametrize("algo", ["silri", "sac", "hgdagger"])
def test_four_devices_equal_one_device(algo):
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, algo],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    assert "WORST" in out.stdout


def test_batch_not_divisible_by_devices_is_a_clear_error():
    env = dict(
        os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=4", JAX_PLATFORMS="cpu"
    )
    script = textwrap.dedent(
        """
        import jax, sys
        sys.path.insert(0, "tests/agents")
        from conftest import fixed_batch, tiny_config
        from silri_jax import specs
        from silri_jax.agents import make_agent
        spec = specs.state_env_spec(3, 2)
        agent = make_agent(tiny_config("hgdagger"), spec)
        st = agent.init(jax.random.PRNGKey(0))
        try:
            agent.update(st, fixed_batch(spec, n=4, utd=1) | {})
            b = fixed_batch(spec, n=8, utd=1)
            b = jax.tree.map(lambda x: x[:, :6], b)
            agent.update(st, b)
        except ValueError as e:
            print("ERR", e)
        """
    )
    out = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    )
    assert "not divisible by the 4 local devices" in out.stdout, out.stderr[-3000:]
