"""gRPC transport between actors and the learner: schema, codec, server and client.

See ``docs/protocol.md`` for the protocol. Import ``LearnerServer`` / ``ActorClient``
from their modules (``silri_jax.transport.server`` / ``.client``); this package only
exposes the protocol version so that importing it stays cheap.
"""

from silri_jax.transport.silri_pb2 import PROTOCOL_VERSION

__all__ = ["PROTOCOL_VERSION"]
