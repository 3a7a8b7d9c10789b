"""Regenerates the committed protobuf/gRPC code from ``silri.proto``.

Generated code is committed so that users need only the ``protobuf`` and ``grpcio``
runtimes, not ``grpcio-tools``; ``tests/transport/test_generated_sync.py`` fails when the
committed files drift from the schema. Run ``python -m silri_jax.transport.regen``.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO = pathlib.Path("silri_jax/transport/silri.proto")
GENERATED = ("silri_pb2.py", "silri_pb2_grpc.py", "silri_pb2.pyi")


def generate(out_dir: pathlib.Path) -> dict[str, pathlib.Path]:
    """Runs ``grpc_tools.protoc`` into ``out_dir``; returns generated file name -> path."""
    import grpc_tools
    from grpc_tools import protoc  # dev dependency, imported only when generating

    include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{PACKAGE_ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        str(PROTO),
    ]
    code = protoc.main(args)
    if code != 0:
        raise RuntimeError(f"protoc failed with exit code {code}: {' '.join(args)}")
    gen_dir = out_dir / PROTO.parent
    return {name: gen_dir / name for name in GENERATED}


def main() -> int:
    target = PACKAGE_ROOT / PROTO.parent
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in generate(pathlib.Path(tmp)).items():
            shutil.copyfile(path, target / name)
            print(f"wrote {target / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
