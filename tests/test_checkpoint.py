"""Checkpoints of the learner state: exact round trips, resume equals no interruption, retention,
atomicity under SIGKILL, artefacts committed with their step, device-count changes, clear errors.
"""

from __future__ import annotations

import functools
import os
import pathlib
import signal
import subprocess
import sys
import time
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import struct

from silri_jax.checkpoint import (
    Checkpointer,
    CheckpointError,
    CheckpointNotFoundError,
    CheckpointStructureError,
)
from silri_jax.specs import example_batch, state_env_spec

SPEC = state_env_spec(state_dim=7, action_dim=3, has_gripper=True)
STATE_DIM = SPEC.observation.entries["state"].shape[0]
ACTION_DIM = SPEC.action.dim
TMP_MARKER = ".orbax-checkpoint-tmp"


# ------------------------------------------------------------------------------------------
# A learner-like state: every network, one optimizer state each, keys and counters.
# ------------------------------------------------------------------------------------------


class MLP(nn.Module):
    hidden: tuple[int, ...]
    out: int

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = nn.relu(nn.Dense(width)(x))
        return nn.Dense(self.out)(x)


class LearnerState(struct.PyTreeNode):
    actor: Any
    critic: Any  # ensemble of two: every leaf has a leading axis of 2
    target_critic: Any
    target_actor: Any
    beta: Any
    lagrange: Any
    gripper: Any
    temperature: Any  # {"log_alpha": float32[]}
    opt: Any  # one optax state per network
    rng: jax.Array  # raw uint32[2]
    key: jax.Array  # typed key
    step: jax.Array
    beta_updates: jax.Array
    lambda_updates: jax.Array


def _build_learner_state(key: jax.Array, hidden: int) -> LearnerState:
    """The learner's structure; only traced (see ``make_learner_state``)."""
    keys = jax.random.split(key, 5)
    obs = jnp.zeros((1, STATE_DIM))
    obs_act = jnp.zeros((1, STATE_DIM + ACTION_DIM))
    actor = MLP((hidden, hidden), 2 * ACTION_DIM).init(keys[0], obs)
    critic = jax.vmap(lambda k: MLP((hidden, hidden), 1).init(k, obs_act))(
        jax.random.split(keys[1], 2)
    )
    beta = MLP((hidden,), 2 * ACTION_DIM).init(keys[2], obs)
    lagrange = MLP((hidden,), 1).init(keys[3], obs)
    # bfloat16 gripper head: dtypes other than float32 must survive too.
    gripper = jax.tree.map(lambda x: x.astype(jnp.bfloat16), MLP((hidden,), 3).init(keys[4], obs))
    temperature = {"log_alpha": jnp.zeros((), jnp.float32)}
    # The critic's optimizer treats the first layer apart from the rest.
    critic_tx = optax.multi_transform(
        {"first": optax.adam(3e-4), "rest": optax.adamw(1e-3)},
        lambda p: jax.tree_util.tree_map_with_path(
            lambda path, _: "first" if "Dense_0" in jax.tree_util.keystr(path) else "rest", p
        ),
    )
    opt = {
        "actor": optax.adam(1e-3).init(actor),
        "critic": critic_tx.init(critic),
        "beta": optax.chain(optax.clip_by_global_norm(1.0), optax.adam(1e-3)).init(beta),
        "lagrange": optax.adam(1e-3).init(lagrange),
        "gripper": optax.adam(1e-3).init(gripper),
        "temperature": optax.adam(3e-4).init(temperature),
    }
    return LearnerState(
        actor=actor,
        critic=critic,
        target_critic=critic,
        target_actor=actor,
        beta=beta,
        lagrange=lagrange,
        gripper=gripper,
        temperature=temperature,
        opt=opt,
        rng=jax.random.PRNGKey(0),
        key=jax.random.key(0),
        step=jnp.zeros((), jnp.int32),
        beta_updates=jnp.zeros((), jnp.int32),
        lambda_updates=jnp.zeros((), jnp.uint32),
    )


def make_learner_state(seed: int, hidden: int = 16) -> LearnerState:
    """A learner-shaped state with random values in every leaf (moments and counters too).

    The structure comes from tracing the real initialisers; the values come from NumPy, so no
    XLA compilation is needed and different seeds differ in every leaf.
    """
    abstract = jax.eval_shape(
        functools.partial(_build_learner_state, hidden=hidden), jax.random.PRNGKey(0)
    )
    rng = np.random.default_rng(seed)

    def fill(leaf: jax.ShapeDtypeStruct) -> jax.Array:
        if jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            data = rng.integers(0, 2**32, (*leaf.shape, 2), dtype=np.uint32)
            return jax.random.wrap_key_data(data)
        if np.issubdtype(leaf.dtype, np.integer):
            return jnp.asarray(rng.integers(0, 10_000, leaf.shape).astype(leaf.dtype))
        return jnp.asarray(rng.standard_normal(leaf.shape).astype(leaf.dtype))

    return jax.tree.map(fill, abstract)


def _leaf_bits(leaf: Any) -> np.ndarray:
    if jax.dtypes.issubdtype(getattr(leaf, "dtype", np.float32), jax.dtypes.prng_key):
        leaf = jax.random.key_data(leaf)
    return np.ascontiguousarray(np.asarray(leaf))


def assert_trees_identical(got: Any, want: Any) -> None:
    """Same structure, leaf types, dtypes, shapes and bit patterns."""
    got_leaves, got_def = jax.tree_util.tree_flatten_with_path(got)
    want_leaves, want_def = jax.tree_util.tree_flatten_with_path(want)
    assert got_def == want_def
    for (path, g), (_, w) in zip(got_leaves, want_leaves, strict=True):
        where = jax.tree_util.keystr(path)
        assert type(g) is type(w), where
        assert g.dtype == w.dtype, where
        assert g.shape == w.shape, where
        gb, wb = _leaf_bits(g), _leaf_bits(w)
        np.testing.assert_array_equal(gb.view(np.uint8), wb.view(np.uint8), err_msg=where)


def assert_trees_differ(a: Any, b: Any) -> None:
    same = [
        np.array_equal(_leaf_bits(x), _leaf_bits(y))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    ]
    assert not all(same)


# ------------------------------------------------------------------------------------------
# Round trip
# ------------------------------------------------------------------------------------------


def test_round_trip_is_bit_identical_with_dtypes(tmp_path: pathlib.Path) -> None:
    state = make_learner_state(seed=1)
    metadata = {"config": {"hidden": 16, "lr": 1e-3}, "spec": SPEC.to_dict(), "version": "0.1"}
    with Checkpointer(tmp_path / "ckpt") as ckpt:
        assert ckpt.save(5, state, metadata=metadata)
        ckpt.wait()
        template = make_learner_state(seed=2)
        assert_trees_differ(template, state)
        restored, restored_meta = ckpt.restore(template)
    assert isinstance(restored, LearnerState)
    assert_trees_identical(restored, state)
    assert restored.gripper["params"]["Dense_0"]["kernel"].dtype == jnp.bfloat16
    assert restored.lambda_updates.dtype == jnp.uint32
    assert restored.rng.dtype == jnp.uint32
    assert jax.random.key_impl(restored.key) == jax.random.key_impl(state.key)
    assert restored_meta == metadata


def test_restore_with_shape_dtype_struct_template(tmp_path: pathlib.Path) -> None:
    state = make_learner_state(seed=3)
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(1, state)
        abstract = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), state
        )
        restored, meta = ckpt.restore(abstract)
    assert_trees_identical(restored, state)
    assert meta == {}


# ------------------------------------------------------------------------------------------
# Interrupted and resumed equals uninterrupted
# ------------------------------------------------------------------------------------------


class TrainState(struct.PyTreeNode):
    params: Any
    opt_state: Any
    temperature: Any
    temperature_opt: Any
    rng: jax.Array
    step: jax.Array


_NET = MLP((32, 32), ACTION_DIM)
_TX = optax.adam(1e-2)
_TEMP_TX = optax.adam(3e-3)
_BATCH = 32


def _dataset() -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(0)
    n = 256
    x = rng.standard_normal((n, STATE_DIM)).astype(np.float32)
    w = rng.standard_normal((STATE_DIM, ACTION_DIM)).astype(np.float32)
    y = np.tanh(x @ w)
    # The batch layout the agents use: observations["state"] and actions.
    batch = example_batch(SPEC, n)
    batch["observations"]["state"][:] = x
    batch["actions"][:] = y
    return jnp.asarray(batch["observations"]["state"]), jnp.asarray(batch["actions"])


def _init_train_state(seed: int) -> TrainState:
    params = _NET.init(jax.random.PRNGKey(seed), jnp.zeros((1, STATE_DIM)))
    temperature = {"log_alpha": jnp.asarray(0.0, jnp.float32)}
    return TrainState(
        params=params,
        opt_state=_TX.init(params),
        temperature=temperature,
        temperature_opt=_TEMP_TX.init(temperature),
        rng=jax.random.PRNGKey(seed + 1),
        step=jnp.asarray(0, jnp.int32),
    )


@functools.partial(jax.jit, donate_argnums=0)
def _train_step(state: TrainState, x: jax.Array, y: jax.Array) -> TrainState:
    rng, idx_key, noise_key = jax.random.split(state.rng, 3)
    idx = jax.random.choice(idx_key, x.shape[0], (_BATCH,), replace=False)
    xb = x[idx] + 0.05 * jax.random.normal(noise_key, (_BATCH, x.shape[1]))
    yb = y[idx]
    alpha = jnp.exp(state.temperature["log_alpha"])

    def loss_fn(params: Any) -> jax.Array:
        pred = _NET.apply(params, xb)
        return jnp.mean((pred - yb) ** 2) + alpha * 1e-3 * jnp.mean(pred**2)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    updates, opt_state = _TX.update(grads, state.opt_state, state.params)
    params = optax.apply_updates(state.params, updates)

    def temp_loss(t: Any) -> jax.Array:
        return jnp.exp(t["log_alpha"]) * (jax.lax.stop_gradient(loss) - 0.5)

    t_grads = jax.grad(temp_loss)(state.temperature)
    t_updates, temperature_opt = _TEMP_TX.update(t_grads, state.temperature_opt)
    temperature = optax.apply_updates(state.temperature, t_updates)
    return TrainState(params, opt_state, temperature, temperature_opt, rng, state.step + 1)


def test_resumed_run_equals_uninterrupted_run(tmp_path: pathlib.Path) -> None:
    x, y = _dataset()
    n = 6

    state = _init_train_state(seed=0)
    for _ in range(2 * n):
        state = _train_step(state, x, y)
    uninterrupted = jax.tree.map(np.asarray, state)

    state = _init_train_state(seed=0)
    for _ in range(n):
        state = _train_step(state, x, y)
    with Checkpointer(tmp_path) as ckpt:
        ckpt.save(n, state, metadata={"note": "half way"})
        # Training goes on while the save runs; the step donates the saved buffers.
        for _ in range(3):
            state = _train_step(state, x, y)
    del state

    # A fresh "process": new Checkpointer, new template from a different seed.
    template = _init_train_state(seed=42)
    with Checkpointer(tmp_path) as ckpt:
        assert ckpt.latest_step() == n
        state, meta = ckpt.restore(template)
    assert meta == {"note": "half way"}
    assert int(state.step) == n
    for _ in range(n):
        state = _train_step(state, x, y)
    resumed = jax.tree.map(np.asarray, state)

    assert float(resumed.temperature["log_alpha"]) != 0.0  # the temperature did train
    assert_trees_identical(resumed, uninterrupted)


# ------------------------------------------------------------------------------------------
# Retention, async, ordering
# ------------------------------------------------------------------------------------------


def _small_state(value: float) -> dict[str, Any]:
    return {
        "w": jnp.full((64, 64), value, jnp.float32),
        "step": jnp.asarray(int(value), jnp.int32),
    }


def test_keeps_the_last_n_after_async_saves(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, max_to_keep=2) as ckpt:
        for step in range(10, 15):
            assert ckpt.save(step, _small_state(step))
        ckpt.wait()
        assert ckpt.all_steps() == [13, 14]
        assert ckpt.latest_step() == 14
        assert sorted(p.name for p in tmp_path.iterdir()) == ["13", "14"]
        latest, _ = ckpt.restore(_small_state(0))
        older, _ = ckpt.restore(_small_state(0), step=13)
        with pytest.raises(CheckpointNotFoundError, match=r"step 12 not found .*\[13, 14\]"):
            ckpt.restore(_small_state(0), step=12)
    assert_trees_identical(latest, _small_state(14))
    assert_trees_identical(older, _small_state(13))


def test_reader_sees_steps_committed_by_another_writer(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path) as writer, Checkpointer(tmp_path) as reader:
        writer.save(1, _small_state(1))
        writer.wait()
        assert reader.latest_step() == 1
        writer.save(2, _small_state(2))
        writer.wait()
        assert reader.all_steps() == [1, 2]
        restored, _ = reader.restore(_small_state(0))
    assert_trees_identical(restored, _small_state(2))


def test_step_without_commit_file_is_not_listed(tmp_path: pathlib.Path) -> None:
    """A step directory that no finished save produced (e.g. a half-done copy) is skipped."""
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(1, _small_state(1))
        ckpt.save(2, _small_state(2))
    (tmp_path / "2" / "commit_success.txt").unlink()
    with Checkpointer(tmp_path) as ckpt:
        assert ckpt.all_steps() == [1]
        restored, _ = ckpt.restore(_small_state(0))
    assert_trees_identical(restored, _small_state(1))


def test_synchronous_mode_commits_before_returning(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(3, _small_state(3))
        assert (tmp_path / "3" / "commit_success.txt").is_file()
        assert ckpt.all_steps() == [3]


def test_older_step_is_skipped_and_existing_step_never_overwritten(
    tmp_path: pathlib.Path,
) -> None:
    with Checkpointer(tmp_path) as ckpt:
        assert ckpt.save(5, _small_state(5))
        assert not ckpt.save(4, _small_state(4))
        assert not ckpt.save(5, _small_state(6))
        with pytest.raises(CheckpointError, match="step 5 already exists"):
            ckpt.save(5, _small_state(6), force=True)
        assert ckpt.save(2, _small_state(2), force=True)
        ckpt.wait()
        assert ckpt.all_steps() == [2, 5]
        restored, _ = ckpt.restore(_small_state(0))
    assert_trees_identical(restored, _small_state(5))


def test_closed_checkpointer_refuses_work(tmp_path: pathlib.Path) -> None:
    ckpt = Checkpointer(tmp_path)
    ckpt.save(1, _small_state(1))
    ckpt.close()
    assert (tmp_path / "1").is_dir()  # close waited for the pending save
    ckpt.close()
    with pytest.raises(CheckpointError, match="closed"):
        ckpt.save(2, _small_state(2))


# ------------------------------------------------------------------------------------------
# Artefacts (replay buffers) belong to the step's commit
# ------------------------------------------------------------------------------------------


def _replay_writer(payload: bytes):
    def write(directory: pathlib.Path) -> None:
        (directory / "buffer.bin").write_bytes(payload)

    return write


def test_artefacts_live_in_the_step_and_are_pruned_with_it(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, max_to_keep=1) as ckpt:
        ckpt.save(1, _small_state(1), artefacts={"replay": _replay_writer(b"one")})
        ckpt.wait()
        path = ckpt.artefact_dir(1, "replay")
        assert path == tmp_path / "1" / "replay"
        assert (path / "buffer.bin").read_bytes() == b"one"
        ckpt.save(2, _small_state(2), artefacts={"replay": _replay_writer(b"two")})
        ckpt.save(3, _small_state(3))
        ckpt.wait()
        assert not (tmp_path / "1").exists()
        with pytest.raises(CheckpointNotFoundError, match="no artefact 'replay' for step 3"):
            ckpt.artefact_dir(3, "replay")
        with pytest.raises(CheckpointNotFoundError, match="no artefact 'replay' for step 1"):
            ckpt.artefact_dir(1, "replay")


def test_failing_artefact_writer_commits_nothing(tmp_path: pathlib.Path) -> None:
    def broken(directory: pathlib.Path) -> None:
        (directory / "half.bin").write_bytes(b"partial")
        raise OSError("disk full")

    with Checkpointer(tmp_path) as ckpt:
        ckpt.save(1, _small_state(1))
        with pytest.raises(CheckpointError, match=r"step 2 .*nothing was committed.*'replay'"):
            ckpt.save(2, _small_state(2), artefacts={"replay": broken})
        ckpt.wait()
        assert ckpt.all_steps() == [1]
        assert ckpt.save(2, _small_state(2), artefacts={"replay": _replay_writer(b"ok")})
        ckpt.wait()
        assert ckpt.all_steps() == [1, 2]
        assert not [p for p in tmp_path.iterdir() if TMP_MARKER in p.name]
        assert (ckpt.artefact_dir(2, "replay") / "buffer.bin").read_bytes() == b"ok"


@pytest.mark.parametrize(
    "name", ["state", "metadata", "../x", "", "_hidden", "a/b", "x.orbax-checkpoint-tmp"]
)
def test_bad_artefact_names_are_rejected(tmp_path: pathlib.Path, name: str) -> None:
    with Checkpointer(tmp_path) as ckpt, pytest.raises(ValueError, match="artefact name"):
        ckpt.save(1, _small_state(1), artefacts={name: _replay_writer(b"")})
    assert not (tmp_path / "1").exists()


# ------------------------------------------------------------------------------------------
# SIGKILL during a save
# ------------------------------------------------------------------------------------------

# The writer process: a state of several tens of MB so that writing takes a while.
_CHILD_PRELUDE = r"""
import sys, time, pathlib
import numpy as np, jax.numpy as jnp
from silri_jax.checkpoint import Checkpointer

def big_state(step):
    rng = np.random.default_rng(step)
    return {"layers": [jnp.asarray(rng.standard_normal(2_000_000, dtype=np.float32))
                       for _ in range(6)],
            "step": jnp.asarray(step, jnp.int32)}

def replay(tag):
    def write(d):
        (d / "buffer.bin").write_bytes(tag * 1000)
    return write
"""

# Blocks inside the replay writer of step 2, so the kill lands mid-save deterministically.
_CHILD_BLOCKING = (
    _CHILD_PRELUDE
    + r"""
def stuck(d):
    (d / "buffer.bin").write_bytes(b"partial")
    print("WRITING", flush=True)
    time.sleep(120)

with Checkpointer(sys.argv[1]) as ckpt:
    ckpt.save(1, big_state(1), artefacts={"replay": replay(b"1")})
    ckpt.wait()
    ckpt.save(2, big_state(2), artefacts={"replay": stuck})
"""
)

# Saves continuously; the parent kills it while a state write is in flight.
_CHILD_LOOP = (
    _CHILD_PRELUDE
    + r"""
with Checkpointer(sys.argv[1], max_to_keep=2) as ckpt:
    for step in range(1, 1000):
        ckpt.save(step, big_state(step), artefacts={"replay": replay(str(step).encode())})
        if step == 1:
            ckpt.wait()
            print("SAVED", flush=True)
"""
)


def _expected_big_state(step: int) -> dict[str, Any]:
    rng = np.random.default_rng(step)
    return {
        "layers": [jnp.asarray(rng.standard_normal(2_000_000, dtype=np.float32)) for _ in range(6)],
        "step": jnp.asarray(step, jnp.int32),
    }


def _spawn(code: str, directory: pathlib.Path) -> subprocess.Popen[str]:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    return subprocess.Popen(
        [sys.executable, "-c", code, str(directory)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _wait_for_line(proc: subprocess.Popen[str], marker: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.strip() == marker:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"writer exited with {proc.returncode} before {marker!r}")
    raise AssertionError(f"writer did not print {marker!r} in {timeout} s")


def _kill(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _unfinished_step_dirs(directory: pathlib.Path) -> list[pathlib.Path]:
    """Orbax's temporary step directories, ``<step>.orbax-checkpoint-tmp``."""
    return [
        p for p in directory.iterdir() if p.name.split(".")[0].isdigit() and TMP_MARKER in p.name
    ]


def _assert_resumable(directory: pathlib.Path) -> list[int]:
    """Every listed step restores exactly; the next writer cleans up and can save again."""
    with Checkpointer(directory) as ckpt:
        steps = ckpt.all_steps()
        assert steps, "no step survived"
        for step in steps:
            restored, _ = ckpt.restore(_expected_big_state(0), step=step)
            assert_trees_identical(restored, _expected_big_state(step))
            replay = ckpt.artefact_dir(step, "replay") / "buffer.bin"
            assert replay.read_bytes() == str(step).encode() * 1000
        nxt = steps[-1] + 1
        assert ckpt.save(nxt, _small_state(nxt))
        ckpt.wait()
        assert ckpt.all_steps()[-1] == nxt
    assert not [p for p in directory.iterdir() if TMP_MARKER in p.name]
    return steps


def test_sigkill_during_artefact_write_keeps_previous_step(tmp_path: pathlib.Path) -> None:
    proc = _spawn(_CHILD_BLOCKING, tmp_path)
    try:
        _wait_for_line(proc, "WRITING")
    finally:
        _kill(proc)
    unfinished = [p for p in tmp_path.iterdir() if TMP_MARKER in p.name]
    assert [p.name for p in unfinished] == ["staging-2.replay" + TMP_MARKER]
    assert (unfinished[0] / "buffer.bin").read_bytes() == b"partial"
    assert not (tmp_path / "2").exists()
    with Checkpointer(tmp_path) as reader:
        assert reader.all_steps() == [1]
        with pytest.raises(CheckpointNotFoundError, match="step 2 not found"):
            reader.restore(_expected_big_state(0), step=2)
    # Reading never deletes another writer's unfinished files.
    assert unfinished[0].is_dir()
    assert _assert_resumable(tmp_path) == [1]


def test_sigkill_during_state_write_keeps_committed_steps(tmp_path: pathlib.Path) -> None:
    """Kills a writer that saves continuously while a step is being written.

    Which step is in flight is up to timing; the test retries until the kill has left an
    unfinished step behind (nearly always on the first try), then checks every committed step.
    """
    for attempt in range(3):
        directory = tmp_path / f"attempt{attempt}"
        proc = _spawn(_CHILD_LOOP, directory)
        try:
            _wait_for_line(proc, "SAVED")
            deadline = time.monotonic() + 30
            while not _unfinished_step_dirs(directory):
                assert time.monotonic() < deadline, "no save started after step 1"
                time.sleep(0.001)
            time.sleep(0.05)  # into the TensorStore writes
        finally:
            _kill(proc)
        if _unfinished_step_dirs(directory):
            break
    else:
        pytest.fail("three kills all landed between saves")
    _assert_resumable(directory)


# ------------------------------------------------------------------------------------------
# Different device count
# ------------------------------------------------------------------------------------------

_CHILD_TWO_DEVICES = r"""
import sys
import numpy as np, jax, jax.numpy as jnp
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
from silri_jax.checkpoint import Checkpointer

assert jax.device_count() == 2, jax.devices()
mesh = Mesh(np.array(jax.devices()), ("data",))
replicated = NamedSharding(mesh, P())
split = NamedSharding(mesh, P("data"))
rng = np.random.default_rng(7)
state = {
    "params": jax.device_put(rng.standard_normal((8, 16)).astype(np.float32), replicated),
    "sharded": jax.device_put(rng.standard_normal((8, 4)).astype(np.float32), split),
    "rng": jax.device_put(jax.random.PRNGKey(3), replicated),
    "step": jax.device_put(jnp.asarray(11, jnp.int32), replicated),
}
with Checkpointer(sys.argv[1]) as ckpt:
    ckpt.save(11, state, metadata={"devices": 2})
"""


def test_state_saved_on_two_devices_restores_on_one(tmp_path: pathlib.Path) -> None:
    env = dict(
        os.environ,
        JAX_PLATFORMS="cpu",
        XLA_FLAGS="--xla_force_host_platform_device_count=2",
    )
    result = subprocess.run(
        [sys.executable, "-c", _CHILD_TWO_DEVICES, str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rng = np.random.default_rng(7)
    expected = {
        "params": jnp.asarray(rng.standard_normal((8, 16)).astype(np.float32)),
        "sharded": jnp.asarray(rng.standard_normal((8, 4)).astype(np.float32)),
        "rng": jax.random.PRNGKey(3),
        "step": jnp.asarray(11, jnp.int32),
    }
    device = jax.devices()[0]
    template = jax.tree.map(lambda x: jax.device_put(jnp.zeros_like(x), device), expected)
    with Checkpointer(tmp_path) as ckpt:
        restored, meta = ckpt.restore(template)
    assert meta == {"devices": 2}
    assert_trees_identical(restored, expected)
    for leaf in jax.tree.leaves(restored):
        assert leaf.sharding.device_set == {device}


# ------------------------------------------------------------------------------------------
# Clear errors
# ------------------------------------------------------------------------------------------


def test_missing_directory_is_reported_and_not_created(tmp_path: pathlib.Path) -> None:
    missing = tmp_path / "no" / "such"
    ckpt = Checkpointer(missing)
    assert ckpt.latest_step() is None
    assert ckpt.all_steps() == []
    with pytest.raises(CheckpointNotFoundError, match=f"{missing}.* does not exist"):
        ckpt.restore(_small_state(0))
    assert not missing.exists()
    ckpt.close()


def test_empty_directory_is_reported(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path) as ckpt, pytest.raises(FileNotFoundError) as err:
        ckpt.restore(_small_state(0))
    assert "no finished checkpoint" in str(err.value)
    assert str(tmp_path) in str(err.value)


def test_changed_network_size_is_a_structure_error(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(3, make_learner_state(seed=0, hidden=16))
        with pytest.raises(CheckpointStructureError) as err:
            ckpt.restore(make_learner_state(seed=0, hidden=32))
    text = str(err.value)
    assert str(tmp_path / "3") in text
    assert "actor/params/Dense_0/kernel: shape (7, 16) in the checkpoint, (7, 32)" in text
    assert "configuration change" in text


def test_missing_or_extra_leaf_is_a_structure_error(tmp_path: pathlib.Path) -> None:
    state = {"actor": {"w": jnp.ones(3)}, "temperature": {"log_alpha": jnp.float32(0.5)}}
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(1, state)
        with pytest.raises(CheckpointStructureError, match="temperature/log_alpha: in the ch"):
            ckpt.restore({"actor": {"w": jnp.ones(3)}})
        with pytest.raises(CheckpointStructureError, match="actor/b: in the template but not"):
            ckpt.restore({**state, "actor": {"w": jnp.ones(3), "b": jnp.ones(3)}})


def test_changed_dtype_is_a_structure_error(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(1, {"w": jnp.ones(3, jnp.float32)})
        with pytest.raises(CheckpointStructureError, match="w: dtype float32 in the checkpoint"):
            ckpt.restore({"w": jnp.ones(3, jnp.bfloat16)})


def test_typed_and_raw_keys_are_checked_by_key_data(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path, async_save=False) as ckpt:
        ckpt.save(1, {"key": jax.random.key(0)})
        restored, _ = ckpt.restore({"key": jax.random.key(1)})
        with pytest.raises(CheckpointStructureError, match="key: shape"):
            ckpt.restore({"key": jax.random.split(jax.random.key(1), 3)})
    assert_trees_identical(restored, {"key": jax.random.key(0)})


def test_bad_save_arguments_are_rejected_before_writing(tmp_path: pathlib.Path) -> None:
    with Checkpointer(tmp_path) as ckpt:
        with pytest.raises(TypeError, match="JSON"):
            ckpt.save(1, _small_state(1), metadata={"array": np.ones(2)})
        with pytest.raises(TypeError, match="metadata must be a dict"):
            ckpt.save(1, _small_state(1), metadata=[1, 2])  # type: ignore[arg-type]
        with pytest.raises(TypeError, match="step must be an integer"):
            ckpt.save(1.5, _small_state(1))  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="non-negative"):
            ckpt.save(-1, _small_state(1))
        assert ckpt.save(jnp.int32(4), _small_state(4))
        ckpt.wait()
        assert ckpt.all_steps() == [4]
    with pytest.raises(ValueError, match="max_to_keep"):
        Checkpointer(tmp_path, max_to_keep=0)
