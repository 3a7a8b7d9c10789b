"""TLS between learner and actors on different machines, with certificates made here: a
good certificate connects and stores; a client trusting the wrong certificate authority,
a learner with an expired certificate, plain text against a TLS learner and TLS against a
plain learner each end with a clear error naming what to change, not endless retries."""

from __future__ import annotations

import datetime
import ipaddress
import time

import pytest
from transport_helpers import CONFIG_HASH, Recorder, make_batch, row, state_spec

from silri_jax.transport.client import ActorClient
from silri_jax.transport.server import LearnerServer

x509 = pytest.importorskip("cryptography.x509", reason="needs the cryptography package "
                           "(the [dev] extras install it) to make test certificates")
from cryptography.hazmat.primitives import hashes, serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402
from cryptography.x509.oid import NameOID  # noqa: E402

pytestmark = pytest.mark.timeout(120)
NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def _name(cn: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, cert, key=None):
    path.with_suffix(".pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    if key is not None:
        path.with_suffix(".key").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()))


def _ca(cn: str):
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (x509.CertificateBuilder().subject_name(_name(cn)).issuer_name(_name(cn))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(NOW - DAY).not_valid_after(NOW + 30 * DAY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return key, cert


def _leaf(ca_key, ca_cert, start, end):
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                       x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    cert = (x509.CertificateBuilder().subject_name(_name("learner"))
            .issuer_name(ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start)
            .not_valid_after(end).add_extension(san, critical=False)
            .sign(ca_key, hashes.SHA256()))
    return key, cert


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    ca_key, ca_cert = _ca("silri test CA")
    _write(d / "ca", ca_cert)
    _write(d / "other_ca", _ca("another CA")[1])
    k, c = _leaf(ca_key, ca_cert, NOW - DAY, NOW + 30 * DAY)
    _write(d / "learner", c, k)
    k, c = _leaf(ca_key, ca_cert, NOW - 30 * DAY, NOW - DAY)
    _write(d / "expired", c, k)
    return d


def _server(certs, name: str | None) -> LearnerServer:
    tls = (str(certs / f"{name}.pem"), str(certs / f"{name}.key")) if name else None
    return LearnerServer(state_spec(), CONFIG_HASH, Recorder(), tls=tls)


def _error_of(srv, root: str | None) -> str:
    cl = ActorClient(srv.address, state_spec(), CONFIG_HASH, "a0", tls_root_cert=root,
                     backoff_max_s=0.2)
    try:
        deadline = time.monotonic() + 30
        while cl.error is None and cl.stats()["connects"] == 0:
            assert time.monotonic() < deadline, "neither connected nor failed"
            time.sleep(0.05)
        return "" if cl.error is None else str(cl.error)
    finally:
        cl.close()
        srv.stop(0)


def test_a_good_certificate_connects_and_stores(certs):
    srv = _server(certs, "learner")
    rec = srv._on_transitions
    with ActorClient(srv.address, state_spec(), CONFIG_HASH, "a0",
                     tls_root_cert=str(certs / "ca.pem")) as cl:
        b = make_batch(state_spec(), 5)
        for i in range(5):
            cl.send(row(b, i))
        assert cl.flush(15)
    assert rec.count("a0") == 5
    srv.stop(0)


@pytest.mark.parametrize(("server", "root", "expected"), [
    ("learner", "other_ca.pem", "is not the certificate authority that signed"),
    ("expired", "ca.pem", "the learner's certificate has expired"),
    ("learner", None, "it probably serves TLS; set runtime.tls_root_cert"),
    (None, "ca.pem", "the learner does not serve TLS"),
])
def test_tls_mistakes_end_with_an_error_naming_them(certs, server, root, expected):
    err = _error_of(_server(certs, server), str(certs / root) if root else None)
    assert expected in err, err
