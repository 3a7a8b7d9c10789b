"""Several processes, one learner: JAX's own distributed runtime (``jax.distributed``).

With N processes (one per GPU node, say) every process's devices form ONE mesh
(``silri_jax.parallel.global_mesh``): the agent state is replicated over all of its devices
and each update's batch is split over them, so N processes with M devices each compute what
one process with N*M devices computes, with the gradients averaged across processes by the
same ``pmean`` as within one.

This module holds the process-level pieces:

- ``initialize``: starts the runtime from explicit values (the learner's
  ``--coordinator_address``, ``--num_processes``, ``--process_id``) or, with none given,
  from the launcher's environment where JAX reads one (SLURM's ``srun``, Open MPI's
  ``mpirun``); a no-op for one process, so the single-process path starts nothing.
- ``Channel``: how process 0 hands every other process the same message: a small JSON
  header through the runtime's key-value store, then arrays through one collective on
  the devices. Why the header does not travel as a device collective too: a follower
  waits for process 0's next message for as long as process 0 wants (actors not yet
  connected, a checkpoint being written); waiting in a key-value lookup costs nothing,
  whereas a collective would spin on an accelerator, or hit the collective's timeout on
  CPUs.

``silri_jax.runtime.follower`` builds the learner's leader and follower sides on these.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.experimental import multihost_utils
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from silri_jax.parallel import global_mesh

# The environments JAX's own cluster detection reads (``jax._src.clusters``), and the
# variable that gives their number of processes. Only these start the runtime without
# flags: anything else needs the three values given.
_SLURM_VARS = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID",
               "SLURM_LOCALID")
_OMPI_VAR = "OMPI_MCA_orte_hnp_uri"
# Each follower's blocking read of the next header returns after this long without one
# and reads again; the wait itself has no limit.
POLL_MS = 60_000
_KEY_PREFIX = "silri_jax/channel"


@dataclasses.dataclass(frozen=True)
class ProcessInfo:
    """This process's place among the learner's processes."""

    index: int
    count: int

    @property
    def is_leader(self) -> bool:
        """Process 0: it alone serves actors, draws batches, checkpoints and logs."""
        return self.index == 0


def launcher_processes(environ: dict[str, str] | None = None) -> int:
    """The number of processes a launcher JAX recognises has started (1 when none):
    ``srun``'s ``SLURM_NTASKS`` (within a job step, where ``SLURM_PROCID`` is set), or
    Open MPI's ``OMPI_COMM_WORLD_SIZE``."""
    env = os.environ if environ is None else environ
    if all(k in env for k in _SLURM_VARS):
        return int(env["SLURM_NTASKS"])
    if _OMPI_VAR in env:
        return int(env.get("OMPI_COMM_WORLD_SIZE", "1"))
    return 1


def initialize(coordinator_address: str | None = None, num_processes: int | None = None,
               process_id: int | None = None, cpu_collectives: str | None = "gloo"
               ) -> ProcessInfo:
    """Starts JAX's distributed runtime for a learner of several processes.

    ``num_processes`` 1 (or nothing given outside a multi-process launch) is one process:
    nothing is started and ``ProcessInfo(0, 1)`` is returned. With nothing given under
    ``srun`` / ``mpirun`` with several tasks, JAX reads the coordinator, the number of
    processes and this process's index from the launcher's environment (one process per
    GPU, each seeing its own: JAX's default there); values given override it.
    ``cpu_collectives`` is the CPU backend's cross-process collectives ("gloo" or
    "mpi"; without one, CPU devices of different processes cannot meet in a collective);
    it has no effect on GPUs. Must run before anything initialises a JAX backend.
    """
    if jax.distributed.is_initialized():
        return ProcessInfo(jax.process_index(), jax.process_count())
    if num_processes is not None and num_processes < 1:
        raise ValueError(f"--num_processes={num_processes}: must be >= 1")
    given = bool(coordinator_address) or num_processes is not None or process_id is not None
    if num_processes == 1 and not coordinator_address:
        return ProcessInfo(0, 1)
    if not given and launcher_processes() <= 1:
        return ProcessInfo(0, 1)
    if num_processes is not None and process_id is not None and \
            not 0 <= process_id < num_processes:
        raise ValueError(f"--process_id={process_id}: must be in [0, {num_processes})")
    if cpu_collectives:
        jax.config.update("jax_cpu_collectives_implementation", cpu_collectives)
    try:
        jax.distributed.initialize(coordinator_address=coordinator_address or None,
                                   num_processes=num_processes, process_id=process_id)
    except ValueError as e:  # a value neither given nor found in the environment
        raise ValueError(
            f"cannot start {num_processes or 'several'} processes: {e} Give "
            "--coordinator_address=HOST:PORT (process 0's host), --num_processes and "
            "--process_id to every process, or start them with srun / mpirun") from None
    return ProcessInfo(jax.process_index(), jax.process_count())


def _kv_client() -> Any:
    """The distributed runtime's client (its key-value store). JAX exposes no public
    handle to it; Orbax reaches it the same way."""
    from jax._src import distributed as _dist

    client = _dist.global_state.client
    if client is None:
        raise RuntimeError("jax.distributed is not initialized: call "
                           "silri_jax.distributed.initialize first")
    return client


def _timed_out(err: Exception) -> bool:
    return "DEADLINE_EXCEEDED" in str(err) or "deadline" in str(err).lower()


class Channel:
    """Process 0 -> every process: ``send(header, arrays)`` on process 0 and ``receive()``
    on the others, in the same order (module docstring).

    The arrays come back, on every process, as global arrays placed by ``sharding``
    (default: replicated over every process's devices), ready for a compiled call over
    the global mesh. Use one channel per program (``channel()``): messages are numbered.
    """

    def __init__(self) -> None:
        self.index, self.count = jax.process_index(), jax.process_count()
        devices = np.array(jax.devices()).reshape(self.count, jax.local_device_count())
        self._by_process = Mesh(devices, ("processes", "local"))
        self._replicated = NamedSharding(global_mesh(), P())
        self._pick: dict[NamedSharding, Any] = {}
        self._seq = 0
        self._lock = threading.Lock()
        self._client = _kv_client() if self.count > 1 else None

    def _key(self, process: int, seq: int) -> str:
        return f"{_KEY_PREFIX}/{process}/{seq}"

    def send(self, header: dict[str, Any], arrays: Sequence[Any] = (),
             sharding: NamedSharding | None = None) -> list[jax.Array]:
        """Process 0: ``header`` (JSON) to every other process, then ``arrays`` (host or
        fully replicated values) to every process; returns them as global arrays."""
        if self.index != 0:
            raise RuntimeError(f"process {self.index} sends: only process 0 does")
        host = [np.asarray(a) for a in arrays]
        header = {**header, "arrays": [[list(a.shape), a.dtype.str] for a in host]}
        text = json.dumps(header)
        with self._lock:
            self._seq += 1
            for p in range(1, self.count):
                self._client.key_value_set(self._key(p, self._seq), text)
            return self._broadcast(host, sharding)

    def receive(self, sharding: NamedSharding | None = None
                ) -> tuple[dict[str, Any], list[jax.Array]]:
        """Another process: the next header and its arrays, waiting as long as process 0
        takes to send them."""
        if self.index == 0:
            raise RuntimeError("process 0 receives: it only sends")
        with self._lock:
            self._seq += 1
            key = self._key(self.index, self._seq)
            while True:
                try:
                    text = self._client.blocking_key_value_get(key, POLL_MS)
                    break
                except Exception as e:  # the runtime raises its own error type
                    if not _timed_out(e):
                        raise
            self._client.key_value_delete(key)
            header = json.loads(text)
            zeros = [np.zeros(shape, np.dtype(dtype)) for shape, dtype in header["arrays"]]
            return header, self._broadcast(zeros, sharding)

    def _broadcast(self, host: list[np.ndarray], sharding: NamedSharding | None
                   ) -> list[jax.Array]:
        """Process 0's values of ``host`` on every device: each process contributes its
        own block of a [processes, ...] array (zeros but on process 0) and one compiled
        call keeps block 0, placed by ``sharding``."""
        if not host:
            return []
        sharding = sharding or self._replicated
        pick = self._pick.get(sharding)
        if pick is None:
            pick = self._pick[sharding] = jax.jit(lambda xs: [x[0] for x in xs],
                                                  out_shardings=sharding)
        blocks = [multihost_utils.host_local_array_to_global_array(
            x[None], self._by_process, P("processes")) for x in host]
        return pick(blocks)


_CHANNEL: Channel | None = None


def channel() -> Channel:
    """This program's channel (created on first use, after ``initialize``)."""
    global _CHANNEL
    if _CHANNEL is None:
        _CHANNEL = Channel()
    return _CHANNEL
