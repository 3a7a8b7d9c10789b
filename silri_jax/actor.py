"""The actor process: ``python -m silri_jax.actor --config=... --actor_id=N``.

It runs the task env (as fast as possible in simulation, or at ``runtime.control_hz``),
acts with the jitted stochastic policy, lets the operator take over through the env's
``InterventionWrapper`` (built exactly as ``sync_train`` builds it), records the EXECUTED
action with ``is_intervention``, streams every transition to the learner and reports
episode statistics. New parameters are swapped in between steps, also mid-episode: a
policy is never older than the push period plus one step (loading only at episode end is
a known peer bug).

Pacing: with ``runtime.updates_per_env_step > 0`` the actor waits before a step while the
learner is behind that replay ratio (``silri_jax.runtime.pacing``); a simulated actor is
far faster than the learner and would otherwise spend the budget before the policy trained.

Durability (``runtime.actor_spool_dir``, ``silri_jax.runtime.spool``): every transition is
written to the actor's spool before it is handed to the client and deleted once the
learner acked it, so a crash, SIGKILL or Ctrl-C during a learner outage loses nothing:
an actor restarted with the same id re-sends the spooled transitions first, under their
original sequence numbers, and the learner's deduplication makes that exactly-once.

Numbering: sequence numbers continue from what the learner has already stored for this
actor id (asked at start-up) or, when the spool holds more, after the spooled ones;
episode ids are ``actor_id * 10**10 + the sequence number of the episode's first step``
and reset seeds are offset by the first sequence number, so a restarted actor never
reuses an id and does not replay the dead one's episodes.

``--eval``: deterministic actions, no operator, nothing sent; parameters from
``--policy`` (a ``sync_train.save_policy`` file) or the learner's newest; prints one JSON
line with the success rate and the cycle time.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import math
import sys
import threading
import time
from typing import Any

import jax
import ml_collections
import numpy as np

from silri_jax.agents import make_agent
from silri_jax.envs import env_spec
from silri_jax.robots.arm import ArmError
from silri_jax.runtime import procs, setup
from silri_jax.runtime.pacing import Pacer
from silri_jax.runtime.spool import ActorSpool, Recovered
from silri_jax.training import build, rollout
from silri_jax.training.policy import evaluate as evaluate_policy
from silri_jax.training.policy import host_actor_params, load_policy
from silri_jax.transport import actor_tokens
from silri_jax.transport.client import ActorClient, OutboxFull

log = logging.getLogger("silri_jax.actor")
EPISODE_ID_STRIDE = 10**10
SEED_STRIDE = 10_000_000
# The launcher gives a stopping actor 30 s; one still stopping after this dumps its stacks.
SHUTDOWN_STACK_DUMP_S = 20.0


def _client_kwargs(config: ml_collections.ConfigDict, actor_id: str) -> dict[str, Any]:
    r = config.runtime
    token = actor_tokens.token_for(actor_id, str(r.actor_tokens_file), str(r.token))
    return {"token": token, "tls_root_cert": r.tls_root_cert or None,
            "max_message_bytes": int(r.max_message_bytes)}


def stored_seq(config: ml_collections.ConfigDict, spec: Any, actor_id: str,
               timeout: float) -> int:
    """The learner's acked sequence number for ``actor_id`` (waits for the learner)."""
    probe = ActorClient(config.runtime.address, spec, build.config_hash(config), actor_id,
                        subscribe_params=False, **_client_kwargs(config, actor_id))
    try:
        deadline = time.monotonic() + timeout
        while probe.stats()["connects"] < 1:
            if probe.error is not None:
                raise probe.error
            if time.monotonic() > deadline:
                raise TimeoutError(f"no learner at {config.runtime.address} for {timeout} s")
            time.sleep(0.05)
        return probe.acked_seq
    finally:
        probe.close()


@dataclasses.dataclass
class _Episode:
    """What the actor keeps of the episode in progress for its statistics."""

    versions: set[int]
    tally: rollout.Tally = dataclasses.field(default_factory=rollout.Tally)
    ages: list[float] = dataclasses.field(default_factory=list)
    t0: float = dataclasses.field(default_factory=time.time)
    paced: float = 0.0
    success: bool = False


class Actor:
    """One actor; ``run()`` steps until the budget is spent or ``stop()``."""

    def __init__(self, config: ml_collections.ConfigDict, actor_index: int,
                 trace_path: str | None = None, quiet: bool = False) -> None:
        build.validate(config)
        self.config, self.index = config, int(actor_index)
        self.actor_id = f"actor-{self.index}"
        self.seed = int(config.seed)
        op_seed = self.seed * 1000 + self.index
        # A teleop device (config.teleop.device) takes over through the bridge's mixer;
        # otherwise the task's operator does, in Python.
        self.device = build.make_teleop_device(config, seed=op_seed)
        self.operator = None if self.device is not None else build.make_operator(
            config, seed=op_seed)
        self.env, self.spec, self.agent = build.make_env_and_agent(
            config, self.operator, device=self.device)
        if self.device is not None:
            self.device.start()
        self._device_problem = ""
        self.quiet = quiet
        self._stop = threading.Event()
        r = config.runtime
        self.budget = math.ceil(int(r.env_steps) / int(r.num_actors)) if r.env_steps else 0
        template = host_actor_params(self.agent, self.agent.init(jax.random.PRNGKey(0)))
        where = setup.spool_dir(config, self.actor_id)
        # The lock comes first: a second process with this id fails before it connects.
        self.spool = ActorSpool(where, self.spec, self.actor_id, build.config_hash(config),
                                fsync=bool(r.actor_spool_fsync)) if where else None
        try:
            stored = stored_seq(config, self.spec, self.actor_id,
                                float(r.first_params_timeout_s))
            recovered = self.spool.recover(stored) if self.spool else None
        except BaseException:
            if self.spool is not None:
                self.spool.close()
            raise
        first = recovered.first_seq if recovered else stored + 1
        self.client = ActorClient(
            r.address, self.spec, build.config_hash(config), self.actor_id,
            params_template=template, max_outbox=int(r.max_outbox),
            max_batch=int(r.max_batch), linger_s=float(r.linger_s), first_seq=first,
            **_client_kwargs(config, self.actor_id))
        self.next_seq = first
        self.recovered = 0
        if recovered is not None and len(recovered):
            self._resend(recovered)
        self.first_new_seq = self.next_seq  # the first transition this process produces
        self.pacer = Pacer(float(r.updates_per_env_step), int(r.pacing_slack_steps),
                           float(r.pacing_timeout_s))
        # Line-buffered: a trace must hold every sent transition even after a SIGKILL.
        self.trace = open(trace_path, "a", buffering=1) if trace_path else None
        self.rng = np.random.default_rng(self.seed * 1000 + self.index)
        self.key = jax.random.PRNGKey(self.seed * 1000 + self.index)

    def _report_device(self, info: dict[str, Any]) -> None:
        """Says once when the teleop device goes silent or comes back (the bridge's
        watchdog already holds the arm: a silent device contributes no motion)."""
        problem = str(info.get("teleop_problem", ""))
        if problem != self._device_problem:
            if problem:
                print(f"{self.actor_id}: teleop device problem: {problem}", file=sys.stderr,
                      flush=True)
            else:
                print(f"{self.actor_id}: teleop device is healthy again", file=sys.stderr,
                      flush=True)
            self._device_problem = problem

    def _send(self, row: dict[str, Any]) -> int | None:
        """Queues ``row``; while the outbox is full (the learner away) it keeps waiting but
        still answers a stop, returning None then (the row is already in the spool)."""
        while True:
            try:
                return self.client.send(row, timeout=0.5)
            except OutboxFull:
                if self._stop.is_set():
                    return None

    def _resend(self, recovered: Recovered) -> None:
        """Queues the spooled transitions of a previous process with this id, in order and
        under their original numbers, before anything new."""
        for batch in recovered.batches:
            last = self.client.send(batch.data, timeout=None)
            if last != batch.last_seq:
                raise RuntimeError(f"spool resend numbered {last}, expected {batch.last_seq}")
        self.next_seq = recovered.next_seq
        self.recovered = len(recovered)
        event = {"event": "spool_recovered", "actor_id": self.actor_id,
                 "transitions": self.recovered, "first_seq": recovered.first_seq,
                 "last_seq": recovered.next_seq - 1, "torn_segments": recovered.dropped_torn,
                 "renumbered": recovered.renumbered, "spool": str(self.spool.directory)}
        log.warning("re-sending %d transitions (seq %d..%d) spooled by a previous %s",
                    self.recovered, recovered.first_seq, recovered.next_seq - 1, self.actor_id)
        print(json.dumps(event), flush=True)

    def stop(self) -> None:
        self._stop.set()

    def _wait_params(self) -> tuple[int, Any]:
        timeout = float(self.config.runtime.first_params_timeout_s)
        deadline = time.monotonic() + timeout
        while not self._stop.is_set():
            got = self.client.latest_params()
            if got is not None:
                return got[0], jax.device_put(got[1])
            if self.client.error is not None:
                raise self.client.error
            if time.monotonic() > deadline:
                raise TimeoutError(f"no parameters from the learner within {timeout} s")
            time.sleep(0.05)
        raise KeyboardInterrupt

    def run(self) -> dict[str, Any]:
        """Collects until the budget, a stop or a robot fault; returns the ``actor_done``
        figures. Whatever ends it, the client is closed and the spool keeps every
        transition the learner has not acknowledged (a failed worker thread of the client
        surfaces here as the ``TransportError`` naming it)."""
        try:
            return self._collect()
        finally:
            self.close()

    def _collect(self) -> dict[str, Any]:
        self._version, self._params = self._wait_params()
        # The budget and the random steps belong to the actor id, not to this process: a
        # restarted actor counts what its predecessors produced (every seq before its
        # first new one, recovered or acked) and takes only the rest of its share.
        taken_before = self.first_new_seq - 1
        self._steps_done, self._swaps, episodes = taken_before, 0, 0
        robot_fault = ""
        # A fresh actor starts at seq 1 (offset 0); a restarted one skips past every reset
        # seed its predecessors could have used (at most one episode per transition).
        seed_offset = self.first_new_seq - 1
        t_start = time.time()
        while not self._stop.is_set() and not self._budget_spent():
            eid = self.index * EPISODE_ID_STRIDE + self.next_seq
            try:
                obs, _ = self.env.reset(seed=SEED_STRIDE * (self.index + 1)
                                        + self.seed * 100_000 + seed_offset + episodes)
            except ArmError as e:
                # A faulted real arm with no device to confirm recovery: stop collecting,
                # deliver what was collected, and say why (restart after checking it).
                robot_fault = str(e)
                log.error("actor %s stops: %s", self.actor_id, e)
                break
            ep = _Episode(versions={self._version})
            self._run_episode(eid, obs, ep)
            if ep.tally.length == 0:
                break
            episodes += 1
            self._report_episode(eid, ep, episodes)
        flushed = self.client.flush(timeout=120.0 if not self._stop.is_set() else 10.0)
        return {"event": "actor_done", "actor_id": self.actor_id,
                "steps": self._steps_done - taken_before, "id_steps": self._steps_done,
                "episodes": episodes, "param_swaps": self._swaps, "flushed": flushed,
                "wall_s": time.time() - t_start, "last_seq": self.next_seq - 1,
                "pacing_wait_s": self.pacer.waited_s, "paced_steps": self.pacer.waits,
                "recovered": self.recovered, "robot_fault": robot_fault,
                "spooled_unacked": self.next_seq - 1 - self.client.acked_seq
                if self.spool is not None else 0}

    def _budget_spent(self) -> bool:
        return bool(self.budget) and self._steps_done >= self.budget

    def _swap_params(self, ep: _Episode) -> None:
        """The newest parameters, between steps (also mid-episode), and their age."""
        got = self.client.latest_params()
        if got is not None:
            self._version, self._params = got[0], jax.device_put(got[1])
            ep.versions.add(self._version)
            self._swaps += 1
        timing = self.client.params_timing()
        if timing is not None:
            ep.ages.append(time.time() - timing[1])

    def _run_episode(self, eid: int, obs: Any, ep: _Episode) -> None:
        """Steps until the episode ends, the actor is stopped or the budget is spent;
        every transition is spooled, then sent."""
        period = 1.0 / float(self.config.runtime.control_hz) \
            if self.config.runtime.control_hz > 0 else 0.0
        done = False
        while not done and not self._stop.is_set():
            ep.paced += self.pacer.wait(self.client, self._stop)
            if self._stop.is_set():
                break
            t_step = time.monotonic()
            self._swap_params(ep)
            explore = self._steps_done < int(self.config.runtime.random_steps)
            action, self.key = rollout.choose_action(self.agent, self._params, obs, self.key,
                                                     self.rng, self.spec, explore)
            next_obs, reward, term, trunc, info = self.env.step(action)
            self._report_device(info)
            row = rollout.transition_row(obs, next_obs, reward, term, trunc, info, eid,
                                         ep.tally.length, self.spec.action.has_gripper)
            if not self._deliver(row, eid, ep, obs):
                break  # stopped while the learner is away: the spool keeps it
            ep.tally.add(reward, bool(row["is_intervention"]))
            ep.success = bool(info.get("success", False))
            self._steps_done += 1
            obs, done = next_obs, bool(term or trunc)
            if self._budget_spent():
                break
            if period:
                time.sleep(max(0.0, period - (time.monotonic() - t_step)))

    def _deliver(self, row: dict[str, Any], eid: int, ep: _Episode, obs: Any) -> bool:
        """Spools the row (on disk before the client may send it), sends it and writes
        the trace line; False when the actor was stopped while the learner was away."""
        if self.spool is not None:
            self.spool.append(self.next_seq, row)
        seq = self._send(row)
        if seq is None:
            return False
        if seq != self.next_seq:
            raise RuntimeError(f"client numbered {seq}, the spool {self.next_seq}")
        self.next_seq = seq + 1
        if self.spool is not None:
            self.spool.release(self.client.acked_seq)
        if self.trace is not None:
            self.trace.write(json.dumps({
                "seq": seq, "episode_id": eid, "step": ep.tally.length,
                "is_intervention": row["is_intervention"], "version": self._version,
                "obs_mean": _means(obs)}) + "\n")
        return True

    def _report_episode(self, eid: int, ep: _Episode, episodes: int) -> None:
        """The episode's statistics to the learner (and the console)."""
        dur = time.time() - ep.t0
        t = ep.tally
        stats = {
            "episode_id": eid, "episode_return": t.ret, "length": t.length,
            "success": ep.success, "intervention_steps": t.interventions,
            "duration_s": dur, "params_version": self._version,
            "param_age_s": float(np.mean(ep.ages)) if ep.ages else 0.0,
            "param_age_max_s": float(np.max(ep.ages)) if ep.ages else 0.0,
            "versions_in_episode": len(ep.versions),
            "steps_per_s": t.length / max(dur, 1e-9),
            "outbox": self.client.stats()["outbox"],
            "pacing_wait_s": ep.paced,
        }
        self.client.report_episode(stats)
        if self.trace is not None:
            self.trace.flush()
        if not self.quiet:
            print(f"{self.actor_id} ep {episodes} len {t.length} ret {t.ret:.2f} "
                  f"succ {int(ep.success)} interv {t.interventions} v{self._version} "
                  f"({len(ep.versions)} in ep) {stats['steps_per_s']:.0f} st/s", flush=True)

    def close(self) -> None:
        """Stops the client; the spool keeps whatever the learner has not acknowledged
        (idempotent)."""
        acked = self.client.acked_seq
        self.client.close()
        if self.spool is not None:
            self.spool.close(acked_seq=acked)
            self.spool = None
        if self.trace is not None:
            self.trace.close()
            self.trace = None
        if self.device is not None:
            self.device.close()


def _means(obs: Any) -> dict[str, float]:
    """Mean of each observation entry (the trace's fingerprint of what was sent)."""
    return {k: round(float(np.mean(v)), 4) for k, v in obs.items()}


def evaluate(config: ml_collections.ConfigDict, policy: str | None) -> dict[str, Any]:
    """Deterministic evaluation without operator; params from a file or the learner.
    Success is the simulator's where there is one (``build.make_eval_env``)."""
    env = build.make_eval_env(config)
    spec = env_spec(env)
    agent = make_agent(build.agent_config(config), spec)
    if policy:
        params, pspec, agent = load_policy(policy)
        if pspec != spec:
            raise ValueError(f"policy {policy} was trained on another env spec")
        version = 0
    else:
        template = host_actor_params(agent, agent.init(jax.random.PRNGKey(0)))
        client = ActorClient(config.runtime.address, spec, build.config_hash(config), "eval",
                             params_template=template, **_client_kwargs(config, "eval"))
        try:
            deadline = time.monotonic() + float(config.runtime.first_params_timeout_s)
            got = None
            while got is None:
                if client.error is not None:
                    raise client.error
                if time.monotonic() > deadline:
                    raise TimeoutError("no parameters from the learner")
                time.sleep(0.05)
                got = client.latest_params()
            version, params = got
        finally:
            client.close()
    episodes = int(config.runtime.eval_episodes)
    t0 = time.perf_counter()
    res = evaluate_policy(env, agent, jax.device_put(params), episodes,
                          int(config.runtime.eval_seed))
    wall = time.perf_counter() - t0
    steps = res.mean_episode_length * episodes
    return {"event": "eval", "success_rate": res.success_rate,
            "mean_episode_length": res.mean_episode_length, "mean_return": res.mean_return,
            "episodes": episodes, "cycle_time_ms": 1e3 * wall / max(steps, 1),
            "params_version": version}


def evaluate_the_operator(config: ml_collections.ConfigDict) -> dict[str, Any]:
    """The simulated operator (``task.operator_profile``) alone on the evaluation seeds:
    what the learned policy is compared with. A task whose operator is not the built-in
    simulated one has no such figure (``{"event": "operator_eval", "skipped": why}``)."""
    t = config.task
    if t.operator != "simulated":
        return {"event": "operator_eval", "skipped": f"task.operator is {t.operator!r}, "
                "not the built-in simulated operator"}
    from silri_jax.operators import evaluate_operator

    env = build.make_eval_env(config)
    res = evaluate_operator(env, t.operator_profile, int(config.runtime.eval_episodes),
                            int(config.runtime.eval_seed))
    return {"event": "operator_eval", "profile": t.operator_profile,
            "episodes": int(config.runtime.eval_episodes), **res}


def main(argv: list[str]) -> None:
    procs.die_with_parent()
    from absl import logging as absl_logging

    absl_logging.set_verbosity(absl_logging.WARNING)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    if len(argv) > 1:
        raise ValueError(f"unexpected arguments: {argv[1:]}")
    config = _CONFIG.value
    if _EVAL_OPERATOR.value:
        print(json.dumps(evaluate_the_operator(config)), flush=True)
        return
    if _EVAL.value:
        print(json.dumps(evaluate(config, _POLICY.value)), flush=True)
        return
    actor = Actor(config, _ACTOR_ID.value, trace_path=_TRACE.value)
    procs.handle_stop_signals(lambda _name: actor.stop(), SHUTDOWN_STACK_DUMP_S)
    done = actor.run()
    print(json.dumps(done), flush=True)
    if done["robot_fault"]:
        sys.stderr.write(f"silri_jax.actor: {done['robot_fault']} (everything collected was "
                         "delivered or is in the spool; restart the actor after checking "
                         "the robot)\n")
        sys.exit(3)
    sys.exit(0)


if __name__ == "__main__":
    from absl import flags

    from silri_jax import cli

    _CONFIG = cli.define_config("configs/train.py", "runtime config (configs/train.py:<variant>)",
                                "silri_jax.actor")
    _ACTOR_ID = flags.DEFINE_integer("actor_id", 0, "this actor's number (unique per learner)")
    _EVAL = flags.DEFINE_bool("eval", False, "deterministic evaluation, no operator, no learning")
    _POLICY = flags.DEFINE_string("policy", None, "--eval: a policy file instead of the learner")
    _EVAL_OPERATOR = flags.DEFINE_bool(
        "eval_operator", False, "evaluate the simulated operator alone (task.operator_profile "
        "driving every step) on the evaluation seeds, the level the policy is compared with")
    _TRACE = flags.DEFINE_string("trace", None,
                                 "append one JSON line per sent transition (seq, episode, "
                                 "step, is_intervention, params version) to this file")
    cli.run(main, prog="silri_jax.actor", summary=__doc__.split("\n\n")[0],
            default_config="configs/train.py", config_holder=_CONFIG, validate=build.validate)
