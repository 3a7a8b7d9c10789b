"""A learner of several processes: what process 0 shares, and what the others do.

Process 0 is the learner (``silri_jax.learner``): it alone serves the actors over gRPC,
holds ``D_R`` and ``D_I``, draws every batch, runs the schedule, checkpoints and logs.
Every other process is a *follower*: it builds the same agent on the same global mesh
and runs, in the same order, every compiled call process 0 runs (pre-training, beta
steps, updates) on the same global batch, until process 0 says stop.

How the batches get there: process 0 broadcasts each one (``Leader``, through
``silri_jax.distributed.Channel``) just before the call that uses it. Why not let every
process draw its own from identical replays: the actors talk to process 0 only, so an
identical replay elsewhere would need every transition forwarded, inserted in the same
order against the same ingest threads, and sampled with the same host RNG; a broadcast is
one batch per update over the interconnect (the gradient all-reduce moves about as much)
and cannot drift. With one process nothing here runs: the agent has no hook, no extra
host sync.

Checkpoints: process 0 saves a host copy of the replicated state with Orbax restricted
to itself (``silri_jax.checkpoint``), so the followers take no part and no shared file
system is needed; on ``--resume`` process 0 restores that copy and ``share_state`` gives
it to every process.
"""

from __future__ import annotations

import json
import logging
import signal
from collections.abc import Mapping
from typing import Any

import jax
import ml_collections
import numpy as np

from silri_jax import distributed
from silri_jax.agents.base import Agent, AgentState, Batch
from silri_jax.data.image_codec import ObservationDecoder
from silri_jax.parallel import replicated

log = logging.getLogger("silri_jax.follower")


def learner_devices(config: ml_collections.ConfigDict) -> list[jax.Device] | None:
    """The learner agent's devices: None (this process's, the default) for one process,
    every process's for several. Refuses what several processes cannot share."""
    if jax.process_count() == 1:
        return None
    if bool(config.runtime.replay_on_device):
        raise ValueError("config.runtime.replay_on_device=True: with several processes "
                         "the replay stays on process 0's host (each batch is broadcast); "
                         "set it to False")
    return jax.devices()


def _skeleton(tree: Mapping[str, Any]) -> Any:
    """A batch's nested dict with None for each array (JSON), to rebuild it elsewhere."""
    return {k: _skeleton(v) if isinstance(v, Mapping) else None for k, v in tree.items()}


def _rebuild(skeleton: Any, arrays: list[jax.Array]) -> Any:
    treedef = jax.tree.structure(skeleton, is_leaf=lambda x: x is None)
    return jax.tree.unflatten(treedef, arrays)


def _decoder_json(decoder: ObservationDecoder | None) -> Any:
    if decoder is None:
        return None
    return [decoder.codec_name, [[k, list(s)] for k, s in decoder.image_shapes]]


def _decoder_from_json(value: Any) -> ObservationDecoder | None:
    if value is None:
        return None
    name, shapes = value
    return ObservationDecoder(name, tuple((k, tuple(s)) for k, s in shapes))


class Leader:
    """Process 0's side: every batch entry call of ``agent`` (update, pretrain, beta
    steps) is announced and its batch broadcast before it runs, so the followers run the
    same compiled call on the same global batch (``agent.batch_hook``)."""

    def __init__(self, agent: Agent, config_hash: str = "") -> None:
        self.agent, self.config_hash = agent, config_hash
        self.channel = distributed.channel()
        self._sharding = replicated(agent.mesh)
        self.calls = 0
        agent.batch_hook = self._share

    def _share(self, name: str, batch: Batch, decoder: ObservationDecoder | None) -> Batch:
        leaves = jax.tree.leaves(batch)
        header = {"op": "call", "name": name, "decoder": _decoder_json(decoder),
                  "tree": _skeleton(batch)}
        self.calls += 1
        return _rebuild(header["tree"], self.channel.send(header, leaves, self._sharding))

    def share_state(self, state: AgentState) -> AgentState:
        """``state`` (process 0's: fresh, or restored from a checkpoint as host arrays) on
        every process, replicated over the global mesh; returns it for process 0 too."""
        leaves, treedef = jax.tree.flatten(state)
        out = self.channel.send({"op": "state", "config_hash": self.config_hash}, leaves,
                                self._sharding)
        return jax.tree.unflatten(treedef, out)

    def stop(self, reason: str = "") -> None:
        """Tells the followers to end (``release``)."""
        release(reason)


_released = False


def release(reason: str) -> None:
    """Process 0 is done (stopped, or failed to start): the followers are told to end,
    once. A header only, so it never blocks; a no-op with one process."""
    global _released
    if not jax.distributed.is_initialized() or _released:
        return
    if jax.process_count() > 1 and jax.process_index() == 0:
        _released = True
        distributed.channel().send({"op": "stop", "reason": reason})


def follow(agent: Agent, state: AgentState, config_hash: str = ""
           ) -> tuple[AgentState, dict[str, Any]]:
    """A follower's loop: runs what process 0 sends (``state``: replace the state;
    ``call``: one batch entry point; ``stop``) until it says stop. ``state`` is only the
    template of the state's structure. Returns the final state and a summary."""
    channel = distributed.channel()
    sharding = replicated(agent.mesh)
    treedef = jax.tree.structure(state)
    template = [(tuple(np.shape(x)), np.dtype(x.dtype)) for x in jax.tree.leaves(state)]
    calls: dict[str, int] = {}
    while True:
        header, arrays = channel.receive(sharding)
        op = header["op"]
        if op == "stop":
            return state, {"calls": calls, "reason": header.get("reason", "")}
        if op == "state":
            theirs = header.get("config_hash", "")
            got = [(tuple(a.shape), np.dtype(a.dtype)) for a in arrays]
            if (config_hash and theirs and theirs != config_hash) or got != template:
                raise RuntimeError(
                    f"process {jax.process_index()} was started with another config than "
                    f"process 0 (config hash {config_hash} vs {theirs}, state shapes "
                    f"{'equal' if got == template else 'differ'}): start every process with "
                    "the same --config flags")
            state = jax.tree.unflatten(treedef, arrays)
        elif op == "call":
            name = header["name"]
            batch = _rebuild(header["tree"], arrays)
            state, _ = agent.call_batch_fn(name, state, batch,
                                           _decoder_from_json(header["decoder"]))
            calls[name] = calls.get(name, 0) + 1
        else:
            raise RuntimeError(f"unknown message from process 0: {header!r}")


def run(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """A follower process of ``python -m silri_jax.learner``: builds the agent of
    ``config`` on the global mesh and follows process 0 until it stops. SIGTERM and
    SIGINT are logged and otherwise ignored: process 0 decides when to stop (after its
    final checkpoint), and a follower that left early would stall its updates."""
    from silri_jax.training import build

    build.validate(config)
    _, _, agent = build.make_spec_and_agent(config, devices=learner_devices(config))
    state = agent.init(jax.random.PRNGKey(int(config.seed)))  # structure only: replaced

    def ignore(signum: int, _frame: Any) -> None:
        log.warning("process %d got %s: it stops when process 0 does (stop process 0)",
                    jax.process_index(), signal.Signals(signum).name)

    signal.signal(signal.SIGTERM, ignore)
    signal.signal(signal.SIGINT, ignore)
    print(json.dumps({"event": "following", "process": jax.process_index(),
                      "processes": jax.process_count(), "devices": len(jax.devices())}),
          flush=True)
    _, summary = follow(agent, state, build.config_hash(config))
    return {"event": "follower_done", "process": jax.process_index(), **summary}
