"""The actor's side of the transport: a bounded outbox streamed to the learner.

Why it is built this way:
- ``send`` only appends to an in-memory outbox and returns; the control loop never waits
  on the network unless the outbox is full (back-pressure, bounded by ``max_outbox``).
- Every transition gets a per-actor sequence number and stays in the outbox until the
  learner acks it. After any failure (learner restart, dead connection, stalled acks)
  the sender reconnects with backoff, learns the learner's acked sequence number from
  the handshake, and resends exactly what is not acknowledged; the learner drops
  duplicates, so nothing is lost and nothing is stored twice.
- Parameters arrive on a separate subscriber thread and are swapped in by the caller
  between steps via ``latest_params``; versions only move forward.
- Every unary call has a deadline, long-lived streams have a (long) deadline and gRPC
  keepalives, and a stream whose acks stop coming is cancelled and restarted: no wedge.
- The learner's training progress arrives with every ack, handshake and ping; the newest
  is kept (``progress``) and ``wait_progress`` long-polls for more, so a pacing actor
  waits on the learner without spinning.
"""

from __future__ import annotations

import collections
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import grpc
import numpy as np

from silri_jax.specs import EnvSpec
from silri_jax.transport import codec
from silri_jax.transport import common as c
from silri_jax.transport import silri_pb2 as pb
from silri_jax.transport import silri_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

# Status codes that retrying cannot fix: a mismatched config, protocol or token, or a
# message the learner considers invalid. The client stops and reports them.
FATAL_CODES = frozenset({
    grpc.StatusCode.UNAUTHENTICATED,
    grpc.StatusCode.PERMISSION_DENIED,
    grpc.StatusCode.FAILED_PRECONDITION,
    grpc.StatusCode.INVALID_ARGUMENT,
    grpc.StatusCode.UNIMPLEMENTED,
})


class TransportError(RuntimeError):
    """The learner refused this actor for a reason retrying cannot fix."""


class OutboxFull(TimeoutError):
    """``send`` waited ``timeout`` seconds for room in the outbox."""


# Plain-text connections a TLS learner closed before this client calls it a TLS learner
# (a learner that is restarting closes a connection once or twice, not every time).
PLAIN_TO_TLS_CLOSES = 5


def connection_problem(details: str, address: str, tls: bool) -> str | None:
    """A connection failure retrying cannot fix, as a sentence naming what to change: a
    TLS handshake that failed (wrong certificate authority, expired certificate, a TLS
    client against a plain learner). None for failures that may pass (learner not up)."""
    d = details.lower()
    if "handshake failed" not in d and "certificate_verify_failed" not in d:
        return None
    if "wrong_version_number" in d or "packet_length_too_long" in d or "http_request" in d:
        hint = ("the learner does not serve TLS: leave runtime.tls_root_cert empty, or "
                "start the learner with runtime.tls_cert and runtime.tls_key")
    elif "expired" in d:
        hint = "the learner's certificate has expired: issue a new one (docs/runtime.md)"
    elif "not yet valid" in d:
        hint = "the learner's certificate is not valid yet: check both machines' clocks"
    elif "issuer" in d or "self signed" in d or "self-signed" in d or "unknown ca" in d:
        hint = ("runtime.tls_root_cert is not the certificate authority that signed the "
                "learner's certificate")
    elif "hostname" in d or "subject alternative" in d or "peer name" in d:
        hint = "the learner's certificate does not name the address the actor dials"
    else:
        hint = "check runtime.tls_root_cert and the learner's certificate"
    cause = details.rsplit("SSL routines:", 1)[-1].split(": OK")[0].strip()
    return f"TLS handshake with the learner at {address} failed ({cause}): {hint}"


def _open_channels(address: str, max_message_bytes: int, tls_root_cert: str | None
                   ) -> tuple[grpc.Channel, grpc.Channel]:
    """Two channels to the learner, TLS when a root certificate is named. Two
    connections: parameters must not queue behind megabytes of pixels in the same TCP
    stream (head-of-line blocking would add the outbox's transfer time to every push). A
    local subchannel pool keeps gRPC from merging them."""
    options = [*c.client_channel_options(max_message_bytes),
               ("grpc.use_local_subchannel_pool", 1)]
    root = None
    if tls_root_cert:
        with open(tls_root_cert, "rb") as f:
            root = f.read()

    def channel() -> grpc.Channel:
        if root is not None:
            creds = grpc.ssl_channel_credentials(root_certificates=root)
            return grpc.secure_channel(address, creds, options=options)
        return grpc.insecure_channel(address, options=options)

    return channel(), channel()


class ActorClient:
    """Streams transitions to a ``LearnerServer`` and receives parameters from it.

    Args:
      address: the learner's ``host:port``.
      spec, config_hash: must match the learner's (checked at handshake).
      actor_id: unique per actor; sequence numbers are per actor id.
      token: shared secret, when the learner requires one.
      tls_root_cert: PEM file of the learner's CA; enables TLS.
      params_template: a pytree with the actor params' structure; when given, received
        params are checked against it and returned with the same structure.
      max_outbox: unacknowledged transitions kept at most (``send`` blocks beyond it).
      max_batch, linger_s: a batch is sent when it has ``max_batch`` transitions or its
        first transition waited ``linger_s``.
      max_inflight: batches sent but not yet acknowledged at most.
      call_timeout_s: deadline of unary calls (handshake, episode reports, ping).
      stream_deadline_s: deadline of the long-lived streams (they are then reopened).
      ack_timeout_s: a sent batch not acked within this time restarts the stream.
      first_seq: the first sequence number (continue a persisted actor's numbering).
    """

    def __init__(
        self,
        address: str,
        spec: EnvSpec,
        config_hash: str,
        actor_id: str,
        token: str | None = None,
        tls_root_cert: str | None = None,
        params_template: Any | None = None,
        max_outbox: int = 4096,
        max_batch: int = 32,
        linger_s: float = 0.05,
        max_inflight: int = 8,
        max_message_bytes: int = c.DEFAULT_MAX_MESSAGE_BYTES,
        call_timeout_s: float = 5.0,
        stream_deadline_s: float = 600.0,
        ack_timeout_s: float = 15.0,
        backoff_initial_s: float = 0.05,
        backoff_max_s: float = 2.0,
        first_seq: int = 1,
        subscribe_params: bool = True,
    ) -> None:
        if not actor_id:
            raise ValueError("actor_id must not be empty")
        if first_seq < 1:
            raise ValueError(f"first_seq must be >= 1, got {first_seq}")
        self.address, self.spec, self.config_hash, self.actor_id = (
            address, spec, config_hash, actor_id)
        self._max_outbox = int(max_outbox)
        self._max_batch = int(max_batch)
        self._linger_s = float(linger_s)
        self._max_inflight = int(max_inflight)
        self._max_message_bytes = int(max_message_bytes)
        self._call_timeout_s = float(call_timeout_s)
        self._stream_deadline_s = float(stream_deadline_s)
        self._ack_timeout_s = float(ack_timeout_s)
        self._backoff = (float(backoff_initial_s), float(backoff_max_s))
        self._metadata = [
            (c.MD_PROTOCOL, str(c.PROTOCOL_VERSION)),
            (c.MD_CONFIG, config_hash),
            (c.MD_ACTOR, actor_id),
        ]
        if token:
            self._metadata.append((c.MD_TOKEN, token))
        self._tls = bool(tls_root_cert)
        self._plain_closes = 0
        self._channel, self._params_channel = _open_channels(
            address, self._max_message_bytes, tls_root_cert)
        # The stubs generated from silri.proto (silri_pb2_grpc); the params channel also
        # carries the long poll, which must not sit behind a transition stream's flow
        # control.
        self._stub = pb_grpc.LearnerStub(self._channel)
        self._params_stub = pb_grpc.LearnerStub(self._params_channel)
        self._init_outbox(int(first_seq))
        self._init_params(params_template)

        loops = {"send": self._sender_loop, "episodes": self._episode_loop}
        if subscribe_params:
            loops["params"] = self._params_loop
        self._threads = [threading.Thread(target=self._guarded, args=(role, loop),
                                          name=f"{actor_id}-{role}", daemon=True)
                         for role, loop in loops.items()]
        for t in self._threads:
            t.start()

    def _init_outbox(self, first_seq: int) -> None:
        """The outbox, the in-flight window, the counters and the stream's state."""
        # Outbox: unacknowledged (seq, transition) in seq order; _pending[:_send_pos] is
        # in flight on the current stream, the rest is waiting to be sent.
        self._cv = threading.Condition()
        self._pending: collections.deque[tuple[int, dict[str, Any]]] = collections.deque()
        self._send_pos = 0
        self._inflight: collections.deque[tuple[int, float]] = collections.deque()
        self._next_seq = first_seq
        self._acked_seq = first_seq - 1
        self._closed = False
        self._fatal: TransportError | None = None
        self._stream_epoch = 0
        self._batch_cap = self._max_batch
        self._counters: collections.Counter[str] = collections.Counter({
            k: 0 for k in ("queued", "sent", "batches_sent", "acked", "connects", "reconnects",
                           "ack_timeouts", "params_received")
        })
        self._server_id = ""
        self._current_call: Any = None
        self._progress: c.Progress | None = None
        self._progress_t = 0.0  # monotonic time of the newest progress report

    def _init_params(self, params_template: Any | None) -> None:
        """The newest parameters received, and the episode reports waiting to go out."""
        self._params_lock = threading.Lock()
        self._assembler = codec.ParamsAssembler(params_template)
        self._latest: tuple[int, Any, float, float] | None = None
        self._returned_version = 0
        self._params_call: Any = None
        # Episode reports go out from their own thread: a learner that is slow to answer
        # must never hold the actor's control loop at an episode boundary.
        self._pending_episodes: collections.deque[pb.EpisodeStats] = collections.deque(
            maxlen=1000)
        self._episode_cv = threading.Condition()
        self._episodes_in_flight = False

    # ------------------------------------------------------------------ public API

    def send(self, item: Mapping[str, Any], timeout: float | None = 10.0) -> int:
        """Queues one transition or a batch of them; returns the last sequence number.

        A transition is a dict with ``observations``, ``next_observations`` (dicts keyed
        like the spec), ``actions``, ``rewards``, ``terminated``, ``truncated``,
        ``is_intervention``, ``episode_ids``, ``steps`` and, with a gripper,
        ``gripper_actions``; a batch has the same keys with a leading axis. Blocks up to
        ``timeout`` seconds while the outbox is full, then raises ``OutboxFull``.
        """
        rows = self._split(item)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while True:
                self._raise_if_failed()
                if len(self._pending) + len(rows) <= max(self._max_outbox, len(rows)):
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise OutboxFull(
                        f"outbox full ({len(self._pending)} unacknowledged transitions) for "
                        f"{timeout} s: the learner is not keeping up or unreachable"
                    )
                self._cv.wait(timeout=left)
            for r in rows:
                self._pending.append((self._next_seq, r))
                self._next_seq += 1
            self._counters["queued"] += len(rows)
            self._cv.notify_all()
            return self._next_seq - 1

    def flush(self, timeout: float | None = None) -> bool:
        """Waits until every queued transition is acknowledged; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cv:
            while self._pending:
                self._raise_if_failed()
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._cv.wait(timeout=0.1 if left is None else min(left, 0.1))
        left = None if deadline is None else max(deadline - time.monotonic(), 0.0)
        delivered = self._wait_episodes(left)
        if self._fatal is not None:
            raise self._fatal
        return delivered

    def latest_params(self) -> tuple[int, Any] | None:
        """``(version, pytree)`` when a version newer than the last returned one arrived."""
        with self._params_lock:
            if self._latest is None or self._latest[0] <= self._returned_version:
                return None
            self._returned_version = self._latest[0]
            return self._latest[0], self._latest[1]

    def params_timing(self) -> tuple[int, float, float] | None:
        """``(version, published_unix_s, received_unix_s)`` of the newest received version.

        Both times are wall clocks (the learner's and this process's); on one machine their
        difference is the push latency, and ``now - published`` the policy's staleness.
        """
        with self._params_lock:
            if self._latest is None:
                return None
            return self._latest[0], self._latest[2], self._latest[3]

    def report_episode(self, stats: Mapping[str, Any]) -> bool:
        """Queues episode statistics for the learner and returns at once (True).

        A background thread sends them and retries while the learner is away (the newest
        1,000 are kept); a learner that refuses them for good (e.g. a wrong token) makes the
        next ``send`` raise. Known keys map to ``EpisodeStats`` fields; other numeric keys
        go to ``extra``.
        """
        self._raise_if_failed()
        fields = {"episode_id", "episode_return", "length", "success", "intervention_steps",
                  "duration_s", "params_version"}
        msg = pb.EpisodeStats(actor_id=self.actor_id)
        for k, v in stats.items():
            if k in fields:
                setattr(msg, k, type(getattr(msg, k))(v))
            elif k != "actor_id":
                msg.extra[k] = float(v)
        with self._episode_cv:
            self._pending_episodes.append(msg)
            self._episode_cv.notify_all()
        return True

    def episodes_pending(self) -> int:
        """Episode reports not yet delivered (queued or in flight)."""
        with self._episode_cv:
            return len(self._pending_episodes) + int(self._episodes_in_flight)

    def ping(self) -> pb.PingReply:
        """Health check with a deadline; raises ``grpc.RpcError`` when unreachable."""
        reply = self._stub.Ping(pb.PingRequest(actor_id=self.actor_id),
                                timeout=self._call_timeout_s, metadata=self._metadata)
        if reply.HasField("progress"):
            self._note_progress(reply.progress)
        return reply

    def health(self) -> pb.HealthReply:
        """The learner's ``Health``: ``ok``, and each stopped worker with its cause."""
        return self._stub.Health(pb.HealthRequest(), timeout=self._call_timeout_s,
                                 metadata=self._metadata)

    def progress(self) -> tuple[c.Progress, float] | None:
        """``(newest learner progress, its monotonic receive time)``; None before any."""
        with self._cv:
            if self._progress is None:
                return None
            return self._progress, self._progress_t

    def wait_progress(self, min_updates: int, max_wait_s: float) -> c.Progress:
        """Asks the learner for its progress once it has done ``min_updates`` update calls
        (or after ``max_wait_s``, which the learner caps at a few seconds).

        Raises ``grpc.RpcError`` when the learner is unreachable (the caller decides how
        long to keep trying) and ``TransportError`` when it refuses this actor.
        """
        self._raise_if_failed()
        req = pb.WaitProgressRequest(actor_id=self.actor_id, min_updates=max(0, min_updates),
                                     max_wait_s=max(0.0, float(max_wait_s)))
        try:
            reply = self._params_stub.WaitProgress(req, timeout=max_wait_s + self._call_timeout_s,
                                                   metadata=self._metadata)
        except grpc.RpcError as e:
            if e.code() in FATAL_CODES:
                self._fail(e, "progress poll")
                raise self._fatal from e
            raise
        return self._note_progress(reply)

    def _note_progress(self, msg: pb.LearnerProgress) -> c.Progress:
        got = c.Progress.from_pb(msg)
        with self._cv:
            self._progress, self._progress_t = got, time.monotonic()
        return got

    @property
    def acked_seq(self) -> int:
        with self._cv:
            return self._acked_seq

    @property
    def error(self) -> TransportError | None:
        return self._fatal

    def outbox_len(self) -> int:
        """Transitions queued and not yet acknowledged (cheap: read on every paced step)."""
        with self._cv:
            return len(self._pending)

    def stats(self) -> dict[str, Any]:
        with self._cv:
            return {
                **self._counters,
                "outbox": len(self._pending),
                "inflight_batches": len(self._inflight),
                "acked_seq": self._acked_seq,
                "next_seq": self._next_seq,
                "params_version": self._returned_version,
            }

    def close(self, flush_timeout: float = 0.0) -> None:
        """Stops the background threads (after flushing up to ``flush_timeout`` seconds)."""
        if flush_timeout > 0:
            try:
                self.flush(flush_timeout)
            except TransportError:
                pass
        else:
            # give queued episode reports a moment even without a flush
            self._wait_episodes(min(1.0, self._call_timeout_s))
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        with self._episode_cv:
            self._episode_cv.notify_all()
        for call in (self._current_call, self._params_call):
            if call is not None:
                call.cancel()
        for t in self._threads:
            t.join(timeout=5)
        self._channel.close()
        self._params_channel.close()

    def __enter__(self) -> ActorClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ helpers

    def _raise_if_failed(self) -> None:
        if self._fatal is not None:
            raise self._fatal
        if self._closed:
            raise TransportError("client is closed")

    def _split(self, item: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Validates and splits a transition or batch into per-transition dicts."""
        if np.ndim(item["rewards"]) == 0:
            return [codec.validate_transition(self.spec, item)]
        batch = _tree_map(np.asarray, dict(item))
        # Validate on the actor so a bad transition fails where it was produced.
        n = codec.validate_batch(self.spec, batch)
        return [_tree_map(lambda a, i=i: a[i], batch) for i in range(n)]

    def _sleep_backoff(self, attempt: int) -> None:
        lo, hi = self._backoff
        delay = min(hi, lo * (2 ** min(attempt, 16))) * (0.5 + random.random() / 2)
        with self._cv:
            if not self._closed:
                self._cv.wait(timeout=delay)

    def _probe_connection(self) -> None:
        """Before the first handshake: one quick Ping without ``wait_for_ready`` shows the
        transport's own error, so a TLS mistake becomes a fatal error naming it instead
        of endless retries (a handshake waiting for readiness only ever times out)."""
        try:
            self._stub.Ping(pb.PingRequest(), timeout=5.0, metadata=self._metadata)
            self._plain_closes = 0
        except grpc.RpcError as e:
            details = e.details() or ""
            problem = connection_problem(details, self.address, self._tls)
            if problem is None and not self._tls and "socket closed" in details.lower():
                self._plain_closes += 1
                if self._plain_closes >= PLAIN_TO_TLS_CLOSES:
                    problem = (f"the learner at {self.address} closed {self._plain_closes} "
                               "plain-text connections in a row: it probably serves TLS; "
                               "set runtime.tls_root_cert to the certificate authority "
                               "that signed its certificate")
            if problem is not None:
                self._fatal = TransportError(problem)
                log.error("%s", problem)
                with self._cv:
                    self._cv.notify_all()

    def _guarded(self, role: str, loop: Callable[[], None]) -> None:
        """Runs one worker loop; an exception it does not handle ends the client with an
        error naming the thread and the cause (``send``, ``flush`` and ``error`` report
        it), instead of a thread that is silently gone while the actor runs on."""
        try:
            loop()
        except BaseException as e:  # every cause must reach the actor
            self._thread_failed(role, e)

    def _thread_failed(self, role: str, e: BaseException) -> None:
        if self._fatal is None:
            self._fatal = TransportError(
                f"the actor client's {role} thread stopped: {type(e).__name__}: {e}; "
                "unacknowledged transitions stay in the outbox (and the actor's spool)")
            self._fatal.__cause__ = e
        log.error("%s", self._fatal, exc_info=e)
        with self._cv:
            self._cv.notify_all()
        with self._episode_cv:
            self._episode_cv.notify_all()
        call = self._current_call
        if call is not None and role != "send":
            call.cancel()

    def _fail(self, e: grpc.RpcError, where: str) -> None:
        self._fatal = TransportError(f"{where} refused by the learner: {e.code().name}: "
                                     f"{e.details()}")
        log.error("%s", self._fatal)
        with self._cv:
            self._cv.notify_all()

    # ------------------------------------------------------------------ sender

    def _handshake(self) -> pb.HandshakeReply:
        req = pb.HandshakeRequest(
            protocol_version=c.PROTOCOL_VERSION, config_hash=self.config_hash,
            env_spec=codec.env_spec_to_pb(self.spec), actor_id=self.actor_id,
        )
        return self._stub.Handshake(req, timeout=self._call_timeout_s, metadata=self._metadata,
                                    wait_for_ready=True)

    def _sender_loop(self) -> None:
        attempt = 0
        while not self._closed and self._fatal is None:
            if not self._counters["connects"]:
                self._probe_connection()
                if self._fatal is not None:
                    break
            try:
                reply = self._handshake()
                if self._server_id and reply.server_id != self._server_id:
                    log.info("learner restarted (acked seq %d there)", reply.acked_seq)
                self._server_id = reply.server_id
                # An older learner sends no progress: the default reads "not training".
                self._note_progress(reply.progress)
                per_t = codec.transition_bytes(self.spec)
                limit = min(self._max_message_bytes, int(reply.max_message_bytes))
                room = max(1, (limit - c.CHUNK_HEADROOM_BYTES) // max(per_t, 1))
                with self._cv:
                    self._batch_cap = max(1, min(self._max_batch, room))
                    self._apply_ack(int(reply.acked_seq))
                    self._send_pos = 0  # resend everything not acknowledged
                    self._inflight.clear()
                    self._stream_epoch += 1
                    epoch = self._stream_epoch
                    if self._counters["connects"]:
                        self._counters["reconnects"] += 1
                    self._counters["connects"] += 1
                # The stream carries the session this handshake was given: the learner
                # takes this actor id's data only under its newest session.
                call = self._stub.StreamTransitions(
                    self._requests(epoch), timeout=self._stream_deadline_s,
                    metadata=[*self._metadata, (c.MD_SESSION, reply.session)])
                self._current_call = call
                for ack in call:
                    # Progress first: between the two a pacing actor over-counts its steps
                    # (waits a moment longer), never under-counts them (runs ahead).
                    self._note_progress(ack.progress)
                    with self._cv:
                        self._apply_ack(int(ack.acked_seq))
                    attempt = 0
            except grpc.RpcError as e:
                if self._closed:
                    break
                if e.code() in FATAL_CODES:
                    self._fail(e, "transition stream")
                    break
                log.info("transition stream: %s %s; reconnecting", e.code().name, e.details())
                attempt += 1
                self._sleep_backoff(attempt)
            finally:
                with self._cv:
                    self._stream_epoch += 1  # ends this stream's request generator
                    self._cv.notify_all()

    def _apply_ack(self, acked: int) -> None:
        """Drops acknowledged transitions (caller holds ``_cv``)."""
        if acked <= self._acked_seq:
            return
        self._acked_seq = acked
        while self._pending and self._pending[0][0] <= acked:
            self._pending.popleft()
            self._send_pos = max(0, self._send_pos - 1)
        while self._inflight and self._inflight[0][0] <= acked:
            self._inflight.popleft()
        self._counters["acked"] = acked
        self._cv.notify_all()

    def _requests(self, epoch: int) -> Iterator[pb.TransitionBatch]:
        """Yields encoded batches for one stream; ends when the stream is replaced."""
        while True:
            with self._cv:
                batch_start = None
                while True:
                    if self._closed or self._stream_epoch != epoch:
                        return
                    now = time.monotonic()
                    if self._inflight and now - self._inflight[0][1] > self._ack_timeout_s:
                        log.warning("no ack for %.1f s; restarting the stream", self._ack_timeout_s)
                        self._counters["ack_timeouts"] += 1
                        if self._current_call is not None:
                            self._current_call.cancel()
                        return
                    ready = len(self._pending) - self._send_pos
                    if ready > 0 and len(self._inflight) < self._max_inflight:
                        if batch_start is None:
                            batch_start = now
                        if ready >= self._batch_cap or now - batch_start >= self._linger_s:
                            break
                        self._cv.wait(timeout=self._linger_s - (now - batch_start))
                    else:
                        batch_start = None
                        self._cv.wait(timeout=0.1)
                k = min(ready, self._batch_cap)
                rows = [self._pending[self._send_pos + i] for i in range(k)]
                self._send_pos += k
                first = rows[0][0]
                self._inflight.append((rows[-1][0], time.monotonic()))
            try:
                data = codec.stack_transitions(self.spec, [r for _, r in rows])
                msg = codec.build_batch_pb(self.spec, self.actor_id, first, data)
            except Exception as e:  # gRPC would swallow it and retry forever
                # The rows were validated by send(): a failure here is a fault of this
                # process, and resending the same rows would fail the same way.
                self._thread_failed("send", e)
                if self._current_call is not None:
                    self._current_call.cancel()
                return
            self._counters["sent"] += k
            self._counters["batches_sent"] += 1
            yield msg

    # ------------------------------------------------------------------ params

    def _params_loop(self) -> None:
        attempt = 0
        while not self._closed and self._fatal is None:
            try:
                req = pb.SubscribeRequest(actor_id=self.actor_id,
                                          have_version=self._assembler.completed_version)
                call = self._params_stub.SubscribeParams(
                    req, timeout=self._stream_deadline_s, metadata=self._metadata,
                    wait_for_ready=True)
                self._params_call = call
                for update in call:
                    done = self._assembler.add(update)
                    attempt = 0
                    if done is not None:
                        with self._params_lock:
                            self._latest = (done[0], done[1], update.published_unix_s,
                                            time.time())
                        self._counters["params_received"] += 1
            except grpc.RpcError as e:
                if self._closed:
                    break
                if e.code() in FATAL_CODES:
                    self._fail(e, "params subscription")
                    break
                attempt += 1
                self._sleep_backoff(attempt)
            except codec.CodecError as e:
                log.error("bad params update: %s", e)
                self._assembler.reset()
                attempt += 1
                self._sleep_backoff(attempt)

    # ------------------------------------------------------------------ episodes

    def _wait_episodes(self, timeout: float | None) -> bool:
        """Waits until every queued episode report is delivered; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._episode_cv:
            while self._pending_episodes or self._episodes_in_flight:
                if self._fatal is not None or self._closed:
                    return False
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._episode_cv.wait(timeout=0.1 if left is None else min(left, 0.1))
        return True

    def _episode_loop(self) -> None:
        attempt = 0
        while True:
            with self._episode_cv:
                while not self._pending_episodes and not self._closed:
                    self._episode_cv.wait(timeout=0.5)
                if self._closed:
                    return
                msg = self._pending_episodes[0]
                self._episodes_in_flight = True
            delivered = False
            try:
                self._stub.ReportEpisode(msg, timeout=self._call_timeout_s,
                                         metadata=self._metadata)
                delivered = True
            except grpc.RpcError as e:
                if e.code() in FATAL_CODES:
                    delivered = True  # dropped: retrying cannot help
                    self._fail(e, "episode report")
            with self._episode_cv:
                self._episodes_in_flight = False
                if delivered and self._pending_episodes and self._pending_episodes[0] is msg:
                    self._pending_episodes.popleft()
                self._episode_cv.notify_all()
            if self._fatal is not None:
                return
            attempt = 0 if delivered else attempt + 1
            if attempt:
                self._sleep_backoff(attempt)


def _tree_map(fn: Any, tree: Any) -> Any:
    if isinstance(tree, Mapping):
        return {k: _tree_map(fn, v) for k, v in tree.items()}
    return fn(tree)
