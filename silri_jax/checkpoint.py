"""Atomic, asynchronous Orbax checkpoints of the learner state.

Design
------
The learner state (every network's params, one optax state per network, the PRNG key and the
integer counters) is one pytree, so a checkpoint step is one Orbax composite of three items
under ``<directory>/<step>/``:

- ``state/``: the pytree, written by ``StandardSave`` (OCDBT/TensorStore). The device-to-host
  copy happens before :meth:`Checkpointer.save` returns; the file writes run in Orbax's
  background thread, so training continues (donating the state's buffers afterwards is safe).
- ``metadata/``: a small JSON dict (config, specs, versions), snapshotted at ``save`` time.
- ``<name>/`` for every *artefact* given to ``save`` (the replay buffers use ``replay``, so
  they land in ``<directory>/<step>/replay/``): a callable that writes files into a directory.
  It runs on the caller's thread before ``save`` returns (the buffer is captured at the same
  training step as the state) into a staging directory beside the steps; the staged directory
  is then moved into Orbax's temporary step directory, so the artefacts belong to the same
  atomic commit as the state. A failing writer aborts the save before Orbax starts.

Atomicity: Orbax writes the whole step under ``<step>.orbax-checkpoint-tmp`` and renames it to
``<step>`` only after every item has finished (the rename is the commit; a ``commit_success.txt``
is written just before it). A process killed at any moment therefore leaves either a complete
step or unfinished temporary/staging directories (all named ``*.orbax-checkpoint-tmp``) that
every listing ignores and that the next writer deletes; readers never delete them. Old steps
are deleted together with their artefacts (``max_to_keep``), so a replay snapshot never
outlives or predates the state it was taken with.

Device count: save the *unreplicated* state. With ``jax.pmap`` that means
``jax.tree.map(lambda x: x[0], state)``; with ``jit``/``NamedSharding`` replication the global
array already has the unreplicated shape and is saved as is. Restoring places every array
like the corresponding leaf of the template (a single device, or a mesh built by the new run),
so a checkpoint written on N devices restores on M; re-replicate after restoring.

Restoring is strict: the template (e.g. a freshly created learner state) must match the
checkpoint leaf for leaf in path, shape and dtype. A missing or extra leaf would otherwise be
silently left at its initial value (the temperature-not-restored class of bug), and a shape
change means the configuration changed. Mismatches raise :class:`CheckpointStructureError`
listing the differing paths and the checkpoint's location.

Only local file systems are supported (artefact writers receive a :class:`pathlib.Path`).

Several processes (``silri_jax.distributed``): a Checkpointer is used by ONE process (the
learner's process 0), with Orbax restricted to it (``MultiprocessingOptions`` with
``active_processes`` = this process), so the others take no part and nothing needs a shared
file system. A state replicated over every process's devices is saved as this process's
host copy (the same bytes: the checkpoint is the one a single process writes) and restored
as host arrays, which the caller places on the global mesh again. A state *sharded* across
processes cannot be saved by one process and is refused.

Use in the learner::

    with Checkpointer(run_dir / "checkpoints", max_to_keep=3) as ckpt:
        if ckpt.latest_step() is not None:
            state, meta = ckpt.restore(agent.create(config, spec, rng))
            replay.load(ckpt.artefact_dir(ckpt.latest_step(), "replay"))
        ...
        ckpt.save(step, state, metadata={"config": config.to_dict(), "spec": spec.to_dict()},
                  artefacts={"replay": replay.save})
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pathlib
import re
import shutil
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any

import jax
import numpy as np
import orbax.checkpoint as ocp

__all__ = [
    "ArtefactWriter",
    "CheckpointError",
    "CheckpointNotFoundError",
    "CheckpointStructureError",
    "Checkpointer",
]

_log = logging.getLogger(__name__)

STATE_ITEM = "state"
METADATA_ITEM = "metadata"
_RESERVED_ITEMS = frozenset({STATE_ITEM, METADATA_ITEM})
# No dots: Orbax marks temporary directories with a dotted suffix.
_ARTEFACT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
# Orbax names an unfinished step "<step>.orbax-checkpoint-tmp[...]".
_TMP_MARKER = ".orbax-checkpoint-tmp"
_COMMIT_FILE = "commit_success.txt"
# Artefacts are written here first; the name keeps the unfinished marker.
_STAGING_PREFIX = "staging-"
_MAX_LISTED_DIFFS = 12

ArtefactWriter = Callable[[pathlib.Path], None]
"""Writes an artefact's files into the (existing, empty) directory it is given."""


class CheckpointError(RuntimeError):
    """A checkpoint could not be saved or restored."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The directory, or the requested step in it, holds no finished checkpoint."""


class CheckpointStructureError(CheckpointError, ValueError):
    """The template's structure, shapes or dtypes differ from the checkpoint's."""


# --------------------------------------------------------------------------------------------
# Artefact item: an Orbax handler that lets a caller-supplied writer fill the item directory.
# --------------------------------------------------------------------------------------------


class _ArtefactHandler(ocp.CheckpointHandler):
    """Moves a staged artefact directory into the step's temporary item directory.

    The writer already ran (see :meth:`Checkpointer.save`), so this step cannot fail halfway;
    it is synchronous, so the move happens before ``save`` returns, and the artefact is then
    committed by the same rename as the state.
    """

    def save(self, directory: Any, args: ArtefactSave) -> None:
        target = pathlib.Path(str(directory))
        if target.is_dir():
            target.rmdir()  # Orbax pre-creates it empty; a directory replaces it atomically.
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(args.staged, target)

    def restore(self, directory: Any, args: Any = None) -> pathlib.Path:
        del args
        return pathlib.Path(str(directory))


@ocp.args.register_with_handler(_ArtefactHandler, for_save=True)
@dataclasses.dataclass
class ArtefactSave(ocp.args.CheckpointArgs):
    """Orbax save arguments for one artefact item: the directory its writer filled."""

    staged: pathlib.Path


# --------------------------------------------------------------------------------------------
# Structure comparison between a template and a stored checkpoint.
# --------------------------------------------------------------------------------------------


def _key_str(entry: Any) -> str:
    """One path entry as text; Orbax stores dataclasses and namedtuples as dicts."""
    for attr in ("key", "name", "idx"):
        if hasattr(entry, attr):
            return str(getattr(entry, attr))
    return str(entry)


def _path_str(path: Sequence[Any]) -> str:
    return "/".join(_key_str(entry) for entry in path) or "<root>"


def _template_signature(leaf: Any) -> tuple[tuple[int, ...], np.dtype | None]:
    """Shape and dtype a template leaf will have on disk (None dtype: Python scalar)."""
    if isinstance(leaf, bool | int | float | complex):
        return (), None
    dtype = getattr(leaf, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        # Typed keys are stored as their raw key data (e.g. uint32[..., 2]).
        data = jax.eval_shape(jax.random.key_data, leaf)
        return tuple(data.shape), np.dtype(data.dtype)
    if dtype is None:
        raise CheckpointStructureError(
            f"template leaf of type {type(leaf).__name__} is not an array or scalar"
        )
    return tuple(np.shape(leaf)), np.dtype(dtype)


def _flatten_template(template: Any) -> dict[str, tuple[tuple[int, ...], np.dtype | None]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(template)
    return {_path_str(path): _template_signature(leaf) for path, leaf in leaves}


def _is_stored_leaf(node: Any) -> bool:
    return hasattr(node, "shape") and hasattr(node, "dtype")


def _flatten_stored(tree: Any) -> dict[str, tuple[tuple[int, ...], np.dtype | None]]:
    leaves, _ = jax.tree_util.tree_flatten_with_path(tree, is_leaf=_is_stored_leaf)
    out = {}
    for path, leaf in leaves:
        if not _is_stored_leaf(leaf):
            continue
        dtype = None if leaf.dtype is None else np.dtype(leaf.dtype)
        out[_path_str(path)] = (tuple(leaf.shape), dtype)
    return out


def _structure_differences(template: Any, stored_tree: Any) -> list[str]:
    want = _flatten_template(template)
    have = _flatten_stored(stored_tree)
    diffs = [f"{p}: in the template but not in the checkpoint" for p in sorted(want.keys() - have)]
    diffs += [f"{p}: in the checkpoint but not in the template" for p in sorted(have.keys() - want)]
    for p in sorted(want.keys() & have.keys()):
        (w_shape, w_dtype), (h_shape, h_dtype) = want[p], have[p]
        if w_shape != h_shape:
            diffs.append(f"{p}: shape {h_shape} in the checkpoint, {w_shape} in the template")
        elif w_dtype is not None and h_dtype is not None and w_dtype != h_dtype:
            diffs.append(f"{p}: dtype {h_dtype} in the checkpoint, {w_dtype} in the template")
    return diffs


def _json_snapshot(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    """A deep, JSON-clean copy, checked now rather than in the background writer."""
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        return json.loads(json.dumps(dict(metadata), allow_nan=False))
    except (TypeError, ValueError) as err:
        raise TypeError(f"metadata must be JSON-serialisable: {err}") from err


def _as_step(step: Any) -> int:
    """The step as a non-negative int; accepts Python, NumPy and 0-d JAX integers."""
    value = np.asarray(step)
    if isinstance(step, bool) or value.ndim != 0 or not np.issubdtype(value.dtype, np.integer):
        raise TypeError(f"step must be an integer, got {step!r}")
    if int(value) < 0:
        raise ValueError(f"step must be non-negative, got {int(value)}")
    return int(value)


# --------------------------------------------------------------------------------------------
# Public API.
# --------------------------------------------------------------------------------------------


class Checkpointer:
    """Saves and restores the learner state in ``directory`` (see the module docstring).

    Args:
        directory: local directory holding one sub-directory per step. It is created on the
            first save, never by reading, so a mistyped path fails loudly on restore.
        max_to_keep: how many of the newest steps to keep (with their artefacts).
        async_save: write in a background thread; ``wait()`` blocks until done.
    """

    def __init__(
        self, directory: str | pathlib.Path, max_to_keep: int = 3, async_save: bool = True
    ) -> None:
        if isinstance(max_to_keep, bool) or not isinstance(max_to_keep, int) or max_to_keep < 1:
            raise ValueError(f"max_to_keep must be a positive integer, got {max_to_keep!r}")
        self._directory = pathlib.Path(directory).expanduser().absolute()
        self._max_to_keep = max_to_keep
        self._async_save = bool(async_save)
        self._manager: ocp.CheckpointManager | None = None
        self._manager_writes = False
        self._closed = False

    # -- properties --------------------------------------------------------------------------

    @property
    def directory(self) -> pathlib.Path:
        return self._directory

    def step_dir(self, step: int) -> pathlib.Path:
        """Where a finished step lives (it exists only once the step is committed)."""
        return self._directory / str(_as_step(step))

    def artefact_dir(self, step: int, name: str) -> pathlib.Path:
        """The directory an artefact was written to, e.g. ``<dir>/<step>/replay``.

        Raises :class:`CheckpointNotFoundError` when that step has no such artefact.
        """
        _check_artefact_name(name)
        step = _as_step(step)
        self.wait()
        path = self._directory / str(step) / name
        if step not in self.all_steps() or not path.is_dir():
            raise CheckpointNotFoundError(
                f"no artefact {name!r} for step {step} in {self._directory}"
            )
        return path

    # -- manager -----------------------------------------------------------------------------

    def _get_manager(self, *, write: bool) -> ocp.CheckpointManager | None:
        """The Orbax manager, or None when reading a directory that does not exist.

        A reader never creates the directory nor deletes unfinished temporary steps (another
        process may be writing them); the first save rebuilds the manager as a writer, which
        cleans up steps left unfinished by a killed writer.
        """
        if self._closed:
            raise CheckpointError(f"Checkpointer for {self._directory} is closed")
        if self._manager is not None and (self._manager_writes or not write):
            return self._manager
        if not write and not self._directory.is_dir():
            return None
        if self._manager is not None:
            self._manager.close()
        if write:
            self._directory.mkdir(parents=True, exist_ok=True)
            self._remove_unfinished_steps()
        registry = ocp.handlers.DefaultCheckpointHandlerRegistry()
        registry.add(STATE_ITEM, ocp.args.StandardSave)
        registry.add(STATE_ITEM, ocp.args.StandardRestore)
        registry.add(METADATA_ITEM, ocp.args.JsonSave)
        registry.add(METADATA_ITEM, ocp.args.JsonRestore)
        registry.add(None, ArtefactSave, _ArtefactHandler)
        options = ocp.CheckpointManagerOptions(
            max_to_keep=self._max_to_keep,
            create=False,
            enable_async_checkpointing=self._async_save,
            cleanup_tmp_directories=False,
            multiprocessing_options=_this_process_only(),
        )
        self._manager = ocp.CheckpointManager(
            self._directory, options=options, handler_registry=registry
        )
        self._manager_writes = write
        return self._manager

    def _unfinished_steps(self) -> list[pathlib.Path]:
        if not self._directory.is_dir():
            return []
        return sorted(p for p in self._directory.iterdir() if _TMP_MARKER in p.name)

    def _remove_unfinished_steps(self) -> None:
        for path in self._unfinished_steps():
            _log.warning("removing unfinished checkpoint %s", path)
            if path.is_dir():
                shutil.rmtree(path, ignore_errors=True)
            else:
                path.unlink(missing_ok=True)

    # -- saving ------------------------------------------------------------------------------

    def save(
        self,
        step: int,
        state: Any,
        metadata: Mapping[str, Any] | None = None,
        force: bool = False,
        artefacts: Mapping[str, ArtefactWriter] | None = None,
    ) -> bool:
        """Starts saving ``state`` (and ``metadata``, ``artefacts``) as ``step``.

        Returns once the state is on the host and the artefacts are written; the files are
        written in the background (``wait()`` to block). Returns False, without saving, when
        ``step`` is not newer than the latest step, unless ``force`` (which still never
        overwrites an existing step: that raises :class:`CheckpointError`).

        Args:
            step: the training step; names the sub-directory.
            state: the learner pytree, unreplicated (see the module docstring).
            metadata: a small JSON dict saved beside the state.
            force: save even if ``step`` is older than the latest step.
            artefacts: name -> writer; each writer fills ``<dir>/<step>/<name>/``.
        """
        step = _as_step(step)
        meta = _json_snapshot(metadata)
        artefacts = dict(artefacts or {})
        for name, writer in artefacts.items():
            _check_artefact_name(name)
            if not callable(writer):
                raise TypeError(f"artefact {name!r} writer must be callable")
        manager = self._get_manager(write=True)
        assert manager is not None
        if not force and not manager.should_save(step):
            _log.warning(
                "checkpoint step %d skipped: not newer than the latest step %s in %s",
                step,
                manager.latest_step(),
                self._directory,
            )
            return False
        if (self._directory / str(step)).exists():
            raise CheckpointError(
                f"step {step} already exists in {self._directory}; it is never overwritten"
            )
        staged = self._stage_artefacts(step, artefacts)
        items: dict[str, ocp.args.CheckpointArgs] = {
            name: ArtefactSave(path) for name, path in staged.items()
        }
        items[STATE_ITEM] = ocp.args.StandardSave(_addressable(state))
        items[METADATA_ITEM] = ocp.args.JsonSave(meta)
        try:
            started = manager.save(step, args=ocp.args.Composite(**items), force=force)
        except ocp.checkpoint_manager.StepAlreadyExistsError as err:
            raise CheckpointError(
                f"step {step} already exists in {self._directory}; it is never overwritten"
            ) from err
        except Exception as err:
            # Nothing was committed: the step's temporary directory is never listed and the
            # next save removes it.
            raise CheckpointError(
                f"saving step {step} to {self._directory} failed, nothing was committed: "
                f"{type(err).__name__}: {err}"
            ) from err
        finally:
            for path in staged.values():  # left over only if Orbax did not take them
                shutil.rmtree(path, ignore_errors=True)
        return bool(started)

    def _stage_artefacts(
        self, step: int, artefacts: Mapping[str, ArtefactWriter]
    ) -> dict[str, pathlib.Path]:
        """Runs every writer into its own unfinished directory beside the steps.

        Writers run before Orbax starts, so a failing writer aborts the save cleanly, and the
        staging names carry Orbax's unfinished marker, so a kill leaves nothing that is listed.
        """
        staged: dict[str, pathlib.Path] = {}
        try:
            for name, writer in artefacts.items():
                path = self._directory / f"{_STAGING_PREFIX}{step}.{name}{_TMP_MARKER}"
                shutil.rmtree(path, ignore_errors=True)
                path.mkdir()
                staged[name] = path
                writer(path)
        except BaseException as err:
            for path in staged.values():
                shutil.rmtree(path, ignore_errors=True)
            if isinstance(err, Exception):
                raise CheckpointError(
                    f"saving step {step} to {self._directory} failed, nothing was committed: "
                    f"artefact writer {name!r} raised {type(err).__name__}: {err}"
                ) from err
            raise
        return staged

    def wait(self) -> None:
        """Blocks until every pending save is committed (or raises its error)."""
        if self._manager is not None:
            self._manager.wait_until_finished()

    # -- listing -----------------------------------------------------------------------------

    def all_steps(self) -> list[int]:
        """Committed steps, oldest first (unfinished saves are never listed).

        A Checkpointer that has not saved re-reads the directory each time, so a reader (an
        evaluator, a resuming learner) sees steps that another process committed since.
        """
        manager = self._get_manager(write=False)
        if manager is None:
            return []
        if not self._manager_writes:
            manager.reload()
        # Orbax writes the commit file just before the final rename; a step directory without
        # it did not come from a finished save (e.g. an interrupted copy of the directory).
        return sorted(
            int(s)
            for s in manager.all_steps()
            if (self._directory / str(s) / _COMMIT_FILE).is_file()
        )

    def latest_step(self) -> int | None:
        """The newest committed step, or None when there is none."""
        steps = self.all_steps()
        return steps[-1] if steps else None

    # -- restoring ---------------------------------------------------------------------------

    def _committed_step(self, step: int | None) -> tuple[ocp.CheckpointManager, int]:
        """The manager and ``step`` (default: the newest), once it is a committed step."""
        self.wait()
        manager = self._get_manager(write=False)
        if manager is None:
            raise CheckpointNotFoundError(f"checkpoint directory {self._directory} does not exist")
        steps = self.all_steps()
        if not steps:
            unfinished = [p.name for p in self._unfinished_steps()]
            detail = f" (ignoring unfinished saves: {', '.join(unfinished)})" if unfinished else ""
            raise CheckpointNotFoundError(f"no finished checkpoint in {self._directory}{detail}")
        step = steps[-1] if step is None else _as_step(step)
        if step not in steps:
            raise CheckpointNotFoundError(
                f"step {step} not found in {self._directory}; available steps: {steps}"
            )
        return manager, step

    def read_metadata(self, step: int | None = None) -> tuple[int, dict[str, Any]]:
        """``(step, metadata)`` of ``step`` (default: the latest) without touching the
        state, so a caller can refuse a checkpoint by what wrote it before restoring.

        Raises:
            CheckpointNotFoundError: no directory, no finished step, or no such step.
        """
        manager, step = self._committed_step(step)
        try:
            restored = manager.restore(
                step, args=ocp.args.Composite(**{METADATA_ITEM: ocp.args.JsonRestore()}))
        except Exception as err:
            raise CheckpointError(
                f"cannot read the metadata of {self._directory / str(step)}: {err}") from err
        return step, dict(restored[METADATA_ITEM] or {})

    def restore(self, template_state: Any, step: int | None = None) -> tuple[Any, dict[str, Any]]:
        """Restores ``step`` (default: the latest) onto ``template_state``'s structure.

        The template gives the pytree structure, every leaf's shape and dtype and where each
        array is placed (its sharding); a freshly created learner state is the natural one.

        Returns:
            ``(state, metadata)``.

        Raises:
            CheckpointNotFoundError: no directory, no finished step, or no such step.
            CheckpointStructureError: the template does not match the checkpoint.
        """
        manager, step = self._committed_step(step)
        location = self._directory / str(step)
        try:
            stored = manager.item_metadata(step)[STATE_ITEM]
        except Exception as err:
            raise CheckpointError(f"cannot read the state metadata of {location}: {err}") from err
        if stored is None:
            raise CheckpointError(f"{location} holds no '{STATE_ITEM}' item")
        template_state = _addressable(template_state)
        diffs = _structure_differences(template_state, getattr(stored, "tree", stored))
        if diffs:
            shown = diffs[:_MAX_LISTED_DIFFS]
            more = len(diffs) - len(shown)
            tail = f"\n  ... and {more} more" if more else ""
            raise CheckpointStructureError(
                f"checkpoint {location} does not match the template state "
                f"({len(diffs)} difference(s); did the configuration change?):\n  "
                + "\n  ".join(shown)
                + tail
            )
        try:
            restored = manager.restore(
                step,
                args=ocp.args.Composite(
                    **{
                        STATE_ITEM: ocp.args.StandardRestore(template_state),
                        METADATA_ITEM: ocp.args.JsonRestore(),
                    }
                ),
            )
        except Exception as err:
            raise CheckpointError(f"cannot restore {location}: {err}") from err
        return restored[STATE_ITEM], dict(restored[METADATA_ITEM] or {})

    # -- lifetime ----------------------------------------------------------------------------

    def close(self) -> None:
        """Waits for pending saves, then releases Orbax's threads. Idempotent."""
        if self._manager is not None:
            try:
                self._manager.wait_until_finished()
            finally:
                self._manager.close()
                self._manager = None
        self._closed = True

    def __enter__(self) -> Checkpointer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"Checkpointer({str(self._directory)!r}, max_to_keep={self._max_to_keep}, "
            f"async_save={self._async_save})"
        )


def _this_process_only() -> ocp.options.MultiprocessingOptions:
    """Orbax over this process alone (the default options with one process)."""
    if jax.process_count() == 1:
        return ocp.options.MultiprocessingOptions()
    me = jax.process_index()
    return ocp.options.MultiprocessingOptions(primary_host=me, active_processes={me},
                                              barrier_sync_key_prefix=f"checkpointer{me}")


def _addressable(tree: Any) -> Any:
    """``tree`` with each array that spans other processes' devices as this process's
    host copy (it must be replicated: one process holds all of it); others unchanged."""

    def one(x: Any) -> Any:
        if not isinstance(x, jax.Array) or x.is_fully_addressable:
            return x
        if not x.is_fully_replicated:
            raise CheckpointError(
                f"an array of shape {x.shape} is sharded across processes ({x.sharding}): "
                "one process cannot save or restore it")
        return np.array(x, copy=True)

    return jax.tree.map(one, tree)


def _check_artefact_name(name: str) -> None:
    if not isinstance(name, str) or not _ARTEFACT_NAME.match(name):
        raise ValueError(
            f"artefact name {name!r} must be letters, digits, '_' or '-' and not start "
            "with a symbol"
        )
    if name in _RESERVED_ITEMS:
        raise ValueError(f"artefact name {name!r} is reserved for the checkpoint itself")
