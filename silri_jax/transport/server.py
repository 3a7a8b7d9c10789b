"""The learner's side of the transport: a gRPC server that stores transitions and pushes
parameters.

Design, and why:
- Handlers take raw bytes and parse them here, so garbage, truncated, oversized or
  non-finite messages are refused with a status naming the problem and counted, instead
  of failing inside gRPC's deserializer with an opaque "Exception deserializing request".
- One ingest thread calls ``on_transitions`` for every actor in turn: replay inserts are
  never concurrent, deduplication by sequence number is decided in one place, and an Ack
  is sent only after the callback returned (an ack means stored).
- The ingest queue is bounded. When it is full the stream's reader stops reading, gRPC
  flow control stops the actor's sender and the actor's outbox fills up: a slow learner
  slows the actors down instead of dropping data or growing memory.
- Parameters are encoded once per version and the same chunks go to every subscriber;
  a subscriber always gets the newest version (latest wins) and never an older one.
- Training progress (update calls, ingested transitions) rides on every Ack, handshake and
  ping, and ``WaitProgress`` is a long poll woken by ``notify_progress``: a pacing actor
  learns the moment the learner caught up, without polling in a loop.
"""

from __future__ import annotations

import collections
import dataclasses
import hmac
import logging
import math
import queue
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from concurrent import futures
from typing import Any

import grpc

from silri_jax.specs import EnvSpec
from silri_jax.transport import codec
from silri_jax.transport import common as c
from silri_jax.transport import silri_pb2 as pb

log = logging.getLogger(__name__)

TransitionsCallback = Callable[[codec.DecodedBatch], None]
EpisodeCallback = Callable[[dict[str, Any]], None]
ProgressCallback = Callable[[], c.Progress]
# The longest a WaitProgress call is held open, whatever the actor asks: a stopping learner
# or a dead actor frees the handler thread within this time.
MAX_PROGRESS_WAIT_S = 5.0


# The most sequence numbers a batch may skip past what an actor id has stored. Gaps happen
# only when a learner lost acknowledged data (resumed without its write-ahead log); a
# larger jump is a client writing under someone else's id and is refused.
DEFAULT_MAX_SEQ_GAP = 100_000


def _no_progress() -> c.Progress:
    return c.Progress()


class Refused(Exception):
    """A request refused with a gRPC status; ``reason`` is the ``stats()`` counter key."""

    def __init__(self, code: grpc.StatusCode, reason: str, message: str) -> None:
        super().__init__(message)
        self.code, self.reason, self.message = code, reason, message


@dataclasses.dataclass
class _Stream:
    """One open StreamTransitions call: where its acks (or its failure) go."""

    actor_id: str
    acks: queue.SimpleQueue


_END = object()
_STOP = object()


@dataclasses.dataclass(frozen=True)
class TLSConfig:
    """PEM files for a TLS listener."""

    cert_file: str
    key_file: str


class LearnerServer:
    """gRPC server for actors; starts serving in the constructor.

    Args:
      spec: the env spec every actor must match (checked at handshake and per batch).
      config_hash: the learner's config digest; an actor with another one is refused.
      on_transitions: called from a single ingest thread with each new (deduplicated)
        ``DecodedBatch``; insert into replay here. The arrays are read-only views valid
        after the call, so copying into the buffer is the caller's one copy.
      on_episode: called with a dict of episode statistics.
      address: ``host:port``; loopback by default, port 0 picks a free port.
      token: shared secret required in every call's metadata; mandatory off loopback
        (unless ``actor_tokens`` are given).
      actor_tokens: ``{actor_id: token}``: a call naming one of these actor ids (in its
        metadata, or the handshake's ``actor_id``) must carry that id's token, so one
        actor's token cannot act as another. Other ids, and calls naming none (Health),
        need the shared token when there is one, else any actor's token.
      tls: a ``TLSConfig`` (or ``(cert_file, key_file)``) to serve TLS.
      max_message_bytes: the largest message accepted (and advertised to actors).
      max_queue: bound of the ingest queue in batches.
      progress: returns the learner's training progress (sent with acks, handshakes and
        pings, and awaited by ``WaitProgress``); call ``notify_progress`` when it moved.
        Without it the learner reports "not training", which never makes an actor wait.
    """

    def __init__(
        self,
        spec: EnvSpec,
        config_hash: str,
        on_transitions: TransitionsCallback,
        on_episode: EpisodeCallback | None = None,
        address: str = "127.0.0.1:0",
        token: str | None = None,
        tls: TLSConfig | tuple[str, str] | None = None,
        max_message_bytes: int = c.DEFAULT_MAX_MESSAGE_BYTES,
        max_queue: int = 64,
        max_workers: int = 64,
        progress: ProgressCallback | None = None,
        max_seq_gap: int = DEFAULT_MAX_SEQ_GAP,
        actor_tokens: Mapping[str, str] | None = None,
    ) -> None:
        if not c.is_loopback(address) and not token and not actor_tokens:
            raise ValueError(
                f"binding {address!r} (not loopback) requires a shared token or per-actor "
                "tokens; pass token=... or actor_tokens=..."
            )
        if max_message_bytes < 2 * c.CHUNK_HEADROOM_BYTES:
            raise ValueError(f"max_message_bytes too small: {max_message_bytes}")
        self.spec = spec
        self.config_hash = config_hash
        self.max_message_bytes = int(max_message_bytes)
        self.server_id = uuid.uuid4().hex
        self._on_transitions = on_transitions
        self._on_episode = on_episode
        self._token = token
        self._actor_tokens = dict(actor_tokens or {})
        self._lock = threading.Lock()
        self._acked: dict[str, int] = {}
        self._counters: collections.Counter[str] = collections.Counter()
        self._refused: collections.Counter[str] = collections.Counter()
        self._stopping = threading.Event()
        self._ingest: queue.Queue = queue.Queue(maxsize=max_queue)
        self._params_cond = threading.Condition()
        self._params_version = 0
        self._params_chunks: list[bytes] = []
        self._subscribers = 0
        self._progress = progress or _no_progress
        self._progress_cond = threading.Condition()
        self.max_seq_gap = int(max_seq_gap)
        # actor id -> the newest session issued to it, and its open streams under it
        self._sessions: dict[str, str] = {}
        self._live_streams: collections.Counter[str] = collections.Counter()
        # worker name -> why it stopped ("ingest", or what the owner reports)
        self._stopped: dict[str, str] = {}

        self._server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="learner-rpc"),
            options=c.server_options(self.max_message_bytes),
        )
        self._server.add_generic_rpc_handlers((self._handlers(),))
        if tls is not None:
            cert_file, key_file = (tls.cert_file, tls.key_file) if isinstance(tls, TLSConfig) \
                else tls
            with open(key_file, "rb") as fk, open(cert_file, "rb") as fc:
                creds = grpc.ssl_server_credentials([(fk.read(), fc.read())])
            self.port = self._server.add_secure_port(address, creds)
        else:
            self.port = self._server.add_insecure_port(address)
        if self.port == 0:
            raise OSError(f"could not bind {address!r}")
        self.address = f"{address.rsplit(':', 1)[0]}:{self.port}"
        self._ingest_thread = threading.Thread(
            target=self._ingest_main, name="learner-ingest", daemon=True
        )
        self._ingest_thread.start()
        self._server.start()

    # ------------------------------------------------------------------ public API

    def publish_params(self, version: int, params: Any) -> int:
        """Encodes ``params`` once and pushes them to every subscriber; returns chunk count.

        Versions must increase, also across learner restarts (``state_dict`` keeps the
        last one), because actors never step back to an older version.
        """
        with self._params_cond:
            if version <= self._params_version:
                raise ValueError(
                    f"params version {version} is not newer than {self._params_version}"
                )
        chunks = codec.encode_params(
            version, params, self.max_message_bytes - c.CHUNK_HEADROOM_BYTES, time.time()
        )
        with self._params_cond:
            self._params_version, self._params_chunks = version, chunks
            self._params_cond.notify_all()
        return len(chunks)

    def notify_progress(self) -> None:
        """Wakes ``WaitProgress`` calls; the learner calls it after update calls."""
        with self._progress_cond:
            self._progress_cond.notify_all()

    @property
    def params_version(self) -> int:
        return self._params_version

    def stats(self) -> dict[str, Any]:
        """Counters for logging: received, duplicates, refused by reason, queue depth..."""
        with self._lock:
            return {
                "received": self._counters["received"],
                "duplicates": self._counters["duplicates"],
                "gaps": self._counters["gaps"],
                "batches": self._counters["batches"],
                "episodes": self._counters["episodes"],
                "refused": dict(self._refused),
                "refused_total": sum(self._refused.values()),
                "queue_depth": self._ingest.qsize(),
                "actors": dict(self._acked),
                "params_version": self._params_version,
                "subscribers": self._subscribers,
            }

    def report_stopped(self, worker: str, cause: str) -> None:
        """Marks ``worker`` (a thread of the learner) as stopped: ``Health`` and
        ``stopped()`` name it with ``cause`` from now on."""
        with self._lock:
            self._stopped.setdefault(worker, cause)

    def stopped(self) -> dict[str, str]:
        """``{worker: cause}`` of every learner worker that ended ({} when all run)."""
        with self._lock:
            return dict(self._stopped)

    def state_dict(self) -> dict[str, Any]:
        """What a checkpoint must keep so a resumed learner still deduplicates resends."""
        with self._lock:
            return {"acked_seq": dict(self._acked), "params_version": self._params_version}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        with self._lock:
            self._acked = {str(k): int(v) for k, v in state.get("acked_seq", {}).items()}
        with self._params_cond:
            self._params_version = max(self._params_version, int(state.get("params_version", 0)))

    def stop(self, grace: float | None = 1.0) -> None:
        """Stops serving; batches still queued are not acked, so actors resend them."""
        self._stopping.set()
        with self._params_cond:
            self._params_cond.notify_all()
        self.notify_progress()
        self._server.stop(grace).wait()
        self._ingest.put((None, _STOP))
        self._ingest_thread.join(timeout=10)

    def __enter__(self) -> LearnerServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(grace=0.5)

    # ------------------------------------------------------------------ plumbing

    def _handlers(self) -> grpc.GenericRpcHandler:
        # No (de)serializers: handlers see raw bytes and parse them themselves.
        return grpc.method_handlers_generic_handler(
            c.SERVICE,
            {
                "Handshake": grpc.unary_unary_rpc_method_handler(self._guard(self._handshake)),
                "StreamTransitions": grpc.stream_stream_rpc_method_handler(
                    self._stream_transitions
                ),
                "SubscribeParams": grpc.unary_stream_rpc_method_handler(self._subscribe_params),
                "ReportEpisode": grpc.unary_unary_rpc_method_handler(
                    self._guard(self._report_episode)
                ),
                "Ping": grpc.unary_unary_rpc_method_handler(self._guard(self._ping)),
                "WaitProgress": grpc.unary_unary_rpc_method_handler(
                    self._guard(self._wait_progress)
                ),
                "Health": grpc.unary_unary_rpc_method_handler(self._guard(self._health)),
            },
        )

    def _refuse(self, context: grpc.ServicerContext, r: Refused) -> None:
        with self._lock:
            self._refused[r.reason] += 1
        log.warning("refused %s: %s", r.reason, r.message)
        context.abort(r.code, r.message)

    def _guard(
        self, fn: Callable[[bytes, grpc.ServicerContext], bytes]
    ) -> Callable[[bytes, grpc.ServicerContext], bytes]:
        """Turns ``Refused`` into a status and any other error into INTERNAL, never a crash."""

        def wrapped(raw: bytes, context: grpc.ServicerContext) -> bytes:
            try:
                return fn(raw, context)
            except Refused as r:
                self._refuse(context, r)
            except Exception as e:  # a handler bug must not take the server down
                log.exception("handler failed")
                self._refuse(context, Refused(grpc.StatusCode.INTERNAL, "internal", repr(e)))
            raise AssertionError("unreachable")  # context.abort raises

        return wrapped

    def _metadata(self, context: grpc.ServicerContext) -> dict[str, str]:
        return {k: v for k, v in context.invocation_metadata() if isinstance(v, str)}

    def _check_token(self, md: Mapping[str, str], actor: str | None = None) -> None:
        """The call's token against the one its actor id needs (``actor`` overrides the
        metadata's id: the handshake's own ``actor_id`` is what it registers)."""
        got = md.get(c.MD_TOKEN, "").encode()
        if self._actor_tokens:
            actor = md.get(c.MD_ACTOR, "") if actor is None else actor
            own = self._actor_tokens.get(actor)
            if own is not None:
                if hmac.compare_digest(got, own.encode()):
                    return
                raise Refused(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated",
                              f"missing or wrong token for actor id {actor!r} (each actor "
                              "id in the learner's actor tokens file needs its own token)")
            if self._token is None:
                # no shared token: an id outside the file is refused, a probe naming no
                # id passes with any actor's token
                if not actor and any(hmac.compare_digest(got, t.encode())
                                     for t in self._actor_tokens.values()):
                    return
                raise Refused(grpc.StatusCode.UNAUTHENTICATED, "unauthenticated",
                              f"actor id {actor!r} has no token in the learner's actor "
                              "tokens file" if actor else "missing or wrong token")
        if self._token is None:
            return
        if not hmac.compare_digest(got, self._token.encode()):
            raise Refused(
                grpc.StatusCode.UNAUTHENTICATED, "unauthenticated",
                "missing or wrong token (metadata x-silri-token)",
            )

    def _check_call(self, context: grpc.ServicerContext, need_config: bool) -> dict[str, str]:
        md = self._metadata(context)
        self._check_token(md)
        self._check_version(md.get(c.MD_PROTOCOL))
        if need_config and md.get(c.MD_CONFIG) != self.config_hash:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION, "config_mismatch",
                f"config hash {md.get(c.MD_CONFIG)!r} differs from the learner's "
                f"{self.config_hash!r}",
            )
        return md

    def _check_version(self, version: object) -> None:
        if str(version) != str(c.PROTOCOL_VERSION):
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION, "wrong_version",
                f"protocol version {version} is not supported: the learner speaks protocol "
                f"version {c.PROTOCOL_VERSION}",
            )

    def _check_size(self, raw: bytes, what: str) -> None:
        if len(raw) > self.max_message_bytes:
            raise Refused(
                grpc.StatusCode.RESOURCE_EXHAUSTED, "oversized",
                f"{what} of {len(raw)} bytes exceeds the limit of {self.max_message_bytes} "
                "bytes",
            )

    @staticmethod
    def _parse(cls: type, raw: bytes) -> Any:
        try:
            return cls.FromString(raw)
        except Exception as e:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "malformed",
                f"malformed {cls.__name__}: cannot parse {len(raw)} bytes ({e})",
            ) from e

    # ------------------------------------------------------------------ unary calls

    def _handshake(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        md = self._metadata(context)
        self._check_token(md)
        self._check_size(raw, "HandshakeRequest")
        req = self._parse(pb.HandshakeRequest, raw)
        if self._actor_tokens:
            self._check_token(md, actor=req.actor_id)  # the id it registers, not its label
        self._check_version(req.protocol_version)
        if req.config_hash != self.config_hash:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION, "config_mismatch",
                f"config hash {req.config_hash!r} differs from the learner's "
                f"{self.config_hash!r}",
            )
        if not req.actor_id:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "invalid", "actor_id is empty")
        try:
            actor_spec = codec.env_spec_from_pb(req.env_spec)
        except codec.CodecError as e:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "invalid", str(e)) from e
        diff = codec.describe_spec_difference(self.spec, actor_spec)
        if diff:
            raise Refused(
                grpc.StatusCode.FAILED_PRECONDITION, "spec_mismatch", f"env spec differs: {diff}"
            )
        with self._lock:
            if self._live_streams[req.actor_id] > 0:
                raise Refused(
                    grpc.StatusCode.ALREADY_EXISTS, "actor_busy",
                    f"actor id {req.actor_id!r} is streaming from another connection; a "
                    "second client cannot write into its stream (retry once it ended)")
            session = uuid.uuid4().hex
            self._sessions[req.actor_id] = session
            acked = self._acked.get(req.actor_id, 0)
        log.info("actor %s connected (acked seq %d)", req.actor_id, acked)
        return pb.HandshakeReply(
            protocol_version=c.PROTOCOL_VERSION, acked_seq=acked,
            params_version=self._params_version, max_message_bytes=self.max_message_bytes,
            server_id=self.server_id, progress=self._progress().to_pb(), session=session,
        ).SerializeToString()

    def _health(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        self._check_call(context, need_config=False)
        self._check_size(raw, "HealthRequest")
        self._parse(pb.HealthRequest, raw)
        stopped = self.stopped()
        return pb.HealthReply(ok=not stopped, stopped=[f"{k}: {v}" for k, v in
                                                       sorted(stopped.items())]
                              ).SerializeToString()

    def _report_episode(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        md = self._check_call(context, need_config=True)
        self._check_size(raw, "EpisodeStats")
        msg = self._parse(pb.EpisodeStats, raw)
        if self._actor_tokens:
            self._check_token(md, actor=msg.actor_id)  # reports only as its own id
        stats: dict[str, Any] = {
            "actor_id": msg.actor_id, "episode_id": msg.episode_id,
            "episode_return": msg.episode_return, "length": msg.length,
            "success": msg.success, "intervention_steps": msg.intervention_steps,
            "duration_s": msg.duration_s, "params_version": msg.params_version,
            **dict(msg.extra),
        }
        for k, v in stats.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise Refused(
                    grpc.StatusCode.INVALID_ARGUMENT, "non_finite",
                    f"field {k!r}: holds NaN or infinite values",
                )
        if self._on_episode is not None:
            try:
                self._on_episode(stats)
            except Exception as e:
                log.exception("on_episode failed")
                raise Refused(
                    grpc.StatusCode.INTERNAL, "callback_error", f"learner failed: {e!r}"
                ) from e
        with self._lock:
            self._counters["episodes"] += 1
        return pb.ReportReply(accepted=True).SerializeToString()

    def _ping(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        self._check_call(context, need_config=False)
        self._check_size(raw, "PingRequest")
        self._parse(pb.PingRequest, raw)
        return pb.PingReply(
            protocol_version=c.PROTOCOL_VERSION, params_version=self._params_version,
            server_unix_s=time.time(), server_id=self.server_id,
            progress=self._progress().to_pb(),
        ).SerializeToString()

    def _wait_progress(self, raw: bytes, context: grpc.ServicerContext) -> bytes:
        self._check_call(context, need_config=True)
        self._check_size(raw, "WaitProgressRequest")
        req = self._parse(pb.WaitProgressRequest, raw)
        wait = req.max_wait_s
        if not math.isfinite(wait) or wait < 0:
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, "invalid",
                          f"max_wait_s must be a finite number >= 0, got {wait}")
        deadline = time.monotonic() + min(wait, MAX_PROGRESS_WAIT_S)
        with self._progress_cond:
            while True:
                progress = self._progress()
                left = deadline - time.monotonic()
                if (progress.updates >= req.min_updates or left <= 0
                        or self._stopping.is_set() or not context.is_active()):
                    break
                self._progress_cond.wait(timeout=min(left, 0.5))
        return progress.to_pb().SerializeToString()

    # ------------------------------------------------------------------ params push

    def _subscribe_params(self, raw: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        try:
            self._check_call(context, need_config=True)
            self._check_size(raw, "SubscribeRequest")
            req = self._parse(pb.SubscribeRequest, raw)
        except Refused as r:
            self._refuse(context, r)
            return
        sent = int(req.have_version)
        with self._lock:
            self._subscribers += 1
        try:
            while context.is_active() and not self._stopping.is_set():
                with self._params_cond:
                    self._params_cond.wait_for(
                        lambda s=sent: self._params_version > s or self._stopping.is_set(),
                        timeout=1.0,
                    )
                    version, chunks = self._params_version, self._params_chunks
                if version > sent and chunks:
                    yield from chunks
                    sent = version
        finally:
            with self._lock:
                self._subscribers -= 1

    # ------------------------------------------------------------------ transitions

    def _stream_transitions(
        self, request_iterator: Iterator[bytes], context: grpc.ServicerContext
    ) -> Iterator[bytes]:
        try:
            md = self._check_call(context, need_config=True)
            actor = md.get(c.MD_ACTOR, "")
            with self._lock:
                session = self._sessions.get(actor)
                if not actor or session is None or not hmac.compare_digest(
                        md.get(c.MD_SESSION, "").encode(), session.encode()):
                    raise Refused(
                        grpc.StatusCode.ABORTED, "stale_session",
                        f"no current session for actor id {actor!r} on this stream: handshake "
                        "first (another connection may have taken the id since)")
                if self._live_streams[actor] > 0:
                    raise Refused(grpc.StatusCode.ALREADY_EXISTS, "actor_busy",
                                  f"actor id {actor!r} already has an open stream")
                self._live_streams[actor] += 1
        except Refused as r:
            self._refuse(context, r)
            return
        try:
            yield from self._serve_stream(_Stream(actor, queue.SimpleQueue()),
                                          request_iterator, context)
        finally:
            with self._lock:
                self._live_streams[actor] -= 1

    def _serve_stream(self, stream: _Stream, request_iterator: Iterator[bytes],
                      context: grpc.ServicerContext) -> Iterator[bytes]:
        reader = threading.Thread(
            target=self._read_stream, args=(stream, request_iterator, context),
            name=f"learner-read-{stream.actor_id}", daemon=True,
        )
        reader.start()
        while True:
            try:
                item = stream.acks.get(timeout=0.5)
            except queue.Empty:
                if not context.is_active() or self._stopping.is_set():
                    return
                continue
            if item is _END:
                return
            if isinstance(item, Refused):
                self._refuse(context, item)
                return
            yield item

    def _read_stream(
        self, stream: _Stream, requests: Iterator[bytes], context: grpc.ServicerContext
    ) -> None:
        """Decodes a stream's batches and queues them for the ingest thread (blocking)."""
        end: object = _END
        try:
            for raw in requests:
                try:
                    self._check_size(raw, "TransitionBatch")
                    batch = self._decode(raw)
                    if stream.actor_id and batch.actor_id != stream.actor_id:
                        raise Refused(
                            grpc.StatusCode.INVALID_ARGUMENT, "invalid",
                            f"batch actor_id {batch.actor_id!r} differs from the stream's "
                            f"{stream.actor_id!r}",
                        )
                except Refused as r:
                    end = r
                    break
                if not self._put(stream, batch, context):
                    return
        except grpc.RpcError:
            pass  # the actor went away; what it sent so far is still stored
        except Exception as e:
            log.exception("reading a transition stream failed")
            end = Refused(grpc.StatusCode.INTERNAL, "internal", repr(e))
        # The end marker goes through the ingest queue so it follows the stream's batches.
        self._put(stream, end, context, force=True)

    def _decode(self, raw: bytes) -> codec.DecodedBatch:
        try:
            batch = codec.decode_batch(self.spec, codec.parse_batch(raw))
            return dataclasses.replace(batch, raw=raw)
        except codec.CodecError as e:
            if e.field == "TransitionBatch":
                reason = "malformed"
            elif "NaN" in e.problem:
                reason = "non_finite"
            else:
                reason = "invalid"
            text = f"malformed TransitionBatch: {e.problem}" if reason == "malformed" else str(e)
            raise Refused(grpc.StatusCode.INVALID_ARGUMENT, reason, text) from e

    def _put(
        self, stream: _Stream, item: object, context: grpc.ServicerContext, force: bool = False
    ) -> bool:
        while not self._stopping.is_set():
            try:
                self._ingest.put((stream, item), timeout=0.2)
                return True
            except queue.Full:
                if not force and not context.is_active():
                    return False
        return False

    def _ingest_main(self) -> None:
        """The ingest thread; if it ever ends other than by ``stop``, ``Health`` and
        ``stopped()`` name it and why (the learner then stops with that error)."""
        try:
            self._ingest_loop()
        except BaseException as e:
            log.exception("the ingest thread stopped")
            self.report_stopped("ingest", repr(e))
            raise

    def _ingest_loop(self) -> None:
        while True:
            stream, item = self._ingest.get()
            if item is _STOP:
                return
            if item is _END or isinstance(item, Refused):
                stream.acks.put(item)
                continue
            try:
                ack = self._store(item)
            except Refused as r:
                stream.acks.put(r)
                continue
            except Exception as e:  # a bad batch is refused to its sender; intake goes on
                log.exception("storing a batch of %s failed", getattr(item, "actor_id", "?"))
                r = Refused(grpc.StatusCode.INTERNAL, "internal",
                            f"the learner could not store the batch: {e!r}")
                with self._lock:
                    self._counters["ingest_errors"] += 1
                stream.acks.put(r)
                continue
            stream.acks.put(ack)

    def _store(self, batch: codec.DecodedBatch) -> bytes:
        """Deduplicates by sequence number, hands new transitions over, returns the Ack."""
        actor = batch.actor_id
        with self._lock:
            last = self._acked.get(actor, 0)
        if batch.last_seq <= last:
            with self._lock:
                self._counters["duplicates"] += len(batch)
            return pb.Ack(actor_id=actor, acked_seq=last,
                          progress=self._progress().to_pb()).SerializeToString()
        if batch.first_seq > last + 1 + self.max_seq_gap:
            raise Refused(
                grpc.StatusCode.INVALID_ARGUMENT, "invalid",
                f"first_seq {batch.first_seq} is {batch.first_seq - last - 1} past actor "
                f"{actor!r}'s last stored sequence number {last} (at most {self.max_seq_gap} "
                "may be missing)")
        if batch.first_seq > last + 1:
            # The learner resumed from a checkpoint older than what it had acked: the
            # transitions in between are gone on both sides. Accept and count, rather than
            # wedging the actor on data it no longer holds.
            log.warning("actor %s: sequence gap %d..%d", actor, last + 1, batch.first_seq - 1)
            with self._lock:
                self._counters["gaps"] += batch.first_seq - last - 1
        skip = max(0, last + 1 - batch.first_seq)
        if skip:
            with self._lock:
                self._counters["duplicates"] += skip
            batch = batch.slice(skip)
        try:
            self._on_transitions(batch)
        except Exception as e:
            log.exception("on_transitions failed")
            raise Refused(
                grpc.StatusCode.INTERNAL, "callback_error",
                f"learner failed to store the batch: {e!r}",
            ) from e
        with self._lock:
            self._acked[actor] = batch.last_seq
            self._counters["received"] += len(batch)
            self._counters["batches"] += 1
        return pb.Ack(actor_id=actor, acked_seq=batch.last_seq,
                      progress=self._progress().to_pb()).SerializeToString()
