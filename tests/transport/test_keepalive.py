"""Keepalives find a dead learner behind a live TCP stack (a pulled cable, a frozen host):
the client and the learner reach each other through a proxy that can blackhole every open
connection (bytes are swallowed, nothing is closed). Without keepalives the channel would
sit on the dead connection for ever; with them it is declared dead within about
keepalive_time + keepalive_timeout, a new connection is made and every transition is
delivered. The keepalive times are shortened for the test; the options' consistency
(the learner accepts pings as often as actors send them) is checked at the real values.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

from silri_jax.transport import common
from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

pytestmark = pytest.mark.timeout(120)


class BlackholeProxy:
    """Forwards TCP to ``target``; ``blackhole()`` makes every open connection swallow
    its bytes from then on (connections opened later forward normally)."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.address = f"127.0.0.1:{self.listener.getsockname()[1]}"
        self.connections: list[dict] = []
        self._stop = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            conn = {"dead": False, "socks": (client, upstream)}
            self.connections.append(conn)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(conn, a, b), daemon=True).start()

    def _pump(self, conn: dict, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):  # the other side closed: the pump ends
            while data := src.recv(65536):
                if not conn["dead"]:
                    dst.sendall(data)
        if not conn["dead"]:
            for s in conn["socks"]:
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def blackhole(self) -> int:
        for conn in self.connections:
            conn["dead"] = True
        return len(self.connections)

    def close(self) -> None:
        self._stop.set()
        self.listener.close()
        for conn in self.connections:
            for s in conn["socks"]:
                s.close()


def test_the_learner_accepts_pings_as_often_as_actors_send_them():
    client = dict(common.client_channel_options(1 << 20))
    server = dict(common.server_options(1 << 20))
    # a server that thinks pings come too often sends GOAWAY (too_many_pings)
    assert server["grpc.http2.min_recv_ping_interval_without_data_ms"] <= \
        client["grpc.keepalive_time_ms"]
    assert server["grpc.keepalive_permit_without_calls"] == 1
    assert client["grpc.keepalive_time_ms"] + client["grpc.keepalive_timeout_ms"] <= 20_000
    # a ping in flight (gRPC's flow-control pings) holds back the keepalive ping until it
    # times out: with gRPC's default of 60 s a dead peer took over a minute to be found
    for options in (client, server):
        assert options["grpc.http2.ping_timeout_ms"] <= options["grpc.keepalive_timeout_ms"]


def test_a_blackholed_connection_is_found_dead_and_nothing_is_lost(monkeypatch):
    monkeypatch.setattr(common, "KEEPALIVE_TIME_MS", 1_000)
    monkeypatch.setattr(common, "KEEPALIVE_TIMEOUT_MS", 1_000)
    spec = state_spec()
    rec = Recorder()
    b = make_batch(spec, 20)
    with LearnerServer(spec, CONFIG_HASH, rec) as srv:
        host, port = srv.address.rsplit(":", 1)
        proxy = BlackholeProxy((host, int(port)))
        try:
            # ack_timeout_s far beyond the test: only keepalives can end the dead stream
            with ActorClient(proxy.address, spec, CONFIG_HASH, "a0", subscribe_params=False,
                             ack_timeout_s=600.0, call_timeout_s=30.0) as cl:
                for i in range(10):
                    cl.send(row(b, i))
                assert cl.flush(15) and rec.count("a0") == 10
                assert proxy.blackhole() >= 1
                t0 = time.monotonic()
                for i in range(10, 20):
                    cl.send(row(b, i))
                assert cl.flush(30), "the dead connection was never replaced"
                took = time.monotonic() - t0
                assert cl.stats()["reconnects"] >= 1
            assert [s for a, s in rec.seqs if a == "a0"] == list(range(1, 21))
            assert took < 15.0, took
        finally:
            proxy.close()
