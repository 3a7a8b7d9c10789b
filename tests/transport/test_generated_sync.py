"""The committed generated code matches silri.proto and imports with the installed runtime."""

from __future__ import annotations

import importlib.util
import pathlib

import pytest

from silri_jax.transport import regen


@pytest.mark.skipif(
    importlib.util.find_spec("grpc_tools") is None,
    reason="needs grpcio-tools (the dev extra: pip install -e .[dev]) to run protoc",
)
def test_committed_code_matches_the_proto(tmp_path: pathlib.Path):
    generated = regen.generate(tmp_path)
    committed_dir = regen.PACKAGE_ROOT / regen.PROTO.parent
    for name, path in generated.items():
        committed = committed_dir / name
        assert committed.exists(), f"{committed} is missing: run the regen module"
        assert committed.read_bytes() == path.read_bytes(), (
            f"{committed} is stale: run python -m silri_jax.transport.regen"
        )


def test_generated_code_imports_with_installed_protobuf():
    from google.protobuf import __version__ as protobuf_version

    from silri_jax.transport import silri_pb2, silri_pb2_grpc

    assert silri_pb2.PROTOCOL_VERSION >= 1
    assert silri_pb2.DESCRIPTOR.package == "silri_jax.v1"
    assert hasattr(silri_pb2_grpc, "LearnerStub")
    assert int(protobuf_version.split(".")[0]) >= 5
