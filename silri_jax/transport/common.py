"""Names and options shared by the learner server and the actor client.

Kept in one place so that the two ends cannot disagree about metadata keys, keepalive
timings or which addresses count as loopback.
"""

from __future__ import annotations

import dataclasses
import ipaddress

from silri_jax.transport import silri_pb2 as pb

PROTOCOL_VERSION: int = pb.PROTOCOL_VERSION
SERVICE = "silri_jax.v1.Learner"

# Per-call metadata (gRPC metadata keys must be lower case).
MD_TOKEN = "x-silri-token"
MD_PROTOCOL = "x-silri-protocol"
MD_CONFIG = "x-silri-config-hash"
MD_ACTOR = "x-silri-actor"
MD_SESSION = "x-silri-session"

DEFAULT_MAX_MESSAGE_BYTES = 16 * 1024 * 1024
# Room left in a params chunk for the message framing and piece headers.
CHUNK_HEADROOM_BYTES = 64 * 1024

# Keepalives find a dead peer (a killed learner behind a live TCP stack, a pulled cable)
# within about keepalive_time + keepalive_timeout instead of never.
KEEPALIVE_TIME_MS = 10_000
KEEPALIVE_TIMEOUT_MS = 5_000


def method(name: str) -> str:
    return f"/{SERVICE}/{name}"


def client_channel_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.max_receive_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.max_pings_without_data", 0),
        # Every ping (not only keepalive's) gives up after the keepalive timeout: a
        # flow-control ping in flight when the peer vanished otherwise waits gRPC's default
        # 60 s, and the keepalive ping is not sent while it waits.
        ("grpc.http2.ping_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        # Reconnect quickly after a learner restart (gRPC's default backoff grows to 120 s).
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.min_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 2_000),
        ("grpc.enable_retries", 0),
    ]


def server_options(max_message_bytes: int) -> list[tuple[str, int]]:
    return [
        # The hard limit is twice the advertised one so that a message between the two
        # reaches the handler and is refused there with a clear status (and counted).
        ("grpc.max_receive_message_length", 2 * max_message_bytes),
        ("grpc.max_send_message_length", max_message_bytes),
        ("grpc.keepalive_time_ms", KEEPALIVE_TIME_MS),
        ("grpc.keepalive_timeout_ms", KEEPALIVE_TIMEOUT_MS),
        ("grpc.keepalive_permit_without_calls", 1),
        ("grpc.http2.min_recv_ping_interval_without_data_ms", KEEPALIVE_TIME_MS // 2),
        ("grpc.http2.max_ping_strikes", 0),
        ("grpc.http2.max_pings_without_data", 0),
        ("grpc.http2.ping_timeout_ms", KEEPALIVE_TIMEOUT_MS),
    ]


def is_loopback(address: str) -> bool:
    """True when ``host:port`` names a loopback host (only those may skip the token)."""
    host = address.rsplit(":", 1)[0] if ":" in address else address
    host = host.strip("[]")
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclasses.dataclass(frozen=True)
class Progress:
    """The learner's training progress as the wire carries it (``LearnerProgress``).

    ``training`` is False until update calls start; actors never wait on a learner that
    is not training, so a learner that cannot train (no data for its sampler yet) does not
    stall collection, and an absent field (an older learner) reads as "not training".
    """

    updates: int = 0
    env_steps: int = 0
    training: bool = False
    train_from: int = 0

    def to_pb(self) -> pb.LearnerProgress:
        return pb.LearnerProgress(updates=self.updates, env_steps=self.env_steps,
                                  training=self.training, train_from=self.train_from)

    @staticmethod
    def from_pb(msg: pb.LearnerProgress) -> Progress:
        return Progress(int(msg.updates), int(msg.env_steps), bool(msg.training),
                        int(msg.train_from))
