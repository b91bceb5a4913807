"""Compiles .proto files from the repository's proto/ folder for the interop clients, with
grpc_tools (Debian: python3-grpc-tools), into a temporary folder put first on sys.path."""
import os
import sys
import tempfile

import grpc
import grpc_tools
from grpc_tools import protoc


def compile_protos(proto_root: str, files: list[str]) -> None:
    """Compiles `files` (paths below `proto_root`) and makes the generated modules importable."""
    out = tempfile.mkdtemp(prefix="qkv-py-")
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    status = protoc.main(
        ["protoc", f"-I{proto_root}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}"]
        + [os.path.join(proto_root, f) for f in files]
    )
    if status != 0:
        raise SystemExit(f"protoc failed with status {status}")
    sys.path.insert(0, out)


def channel(address: str, tls_dir: str | None) -> grpc.Channel:
    """A plain-text channel, or with `tls_dir` (what `npm start -- --tls` makes: ca.pem,
    client.pem, client-key.pem) a mutual-TLS one."""
    if tls_dir is None:
        return grpc.insecure_channel(address)

    def read(name: str) -> bytes:
        with open(os.path.join(tls_dir, name), "rb") as f:
            return f.read()

    creds = grpc.ssl_channel_credentials(read("ca.pem"), read("client-key.pem"), read("client.pem"))
    return grpc.secure_channel(address, creds)
