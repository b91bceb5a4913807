#!/usr/bin/env python3
"""An independent quorumkv client in Python, built only from proto/ and the API's names.

It compiles proto/quorumkv/kv/v1/kv.proto with grpc_tools (Debian: python3-grpc-tools; see protos.py) into a
temporary folder, then puts, reads siblings, resolves them with the context, and deletes.
Usage: /usr/bin/python3 test/interop/kv_client.py HOST:PORT PROTO_ROOT [TLS_DIR]
Prints one line per step and exits 0 when every check passed.
"""
import importlib
import sys
import uuid

import grpc

from protos import channel, compile_protos


def main() -> None:
    address, proto_root = sys.argv[1], sys.argv[2]
    tls_dir = sys.argv[3] if len(sys.argv) > 3 else None
    compile_protos(proto_root, ["quorumkv/kv/v1/kv.proto"])
    pb = importlib.import_module("quorumkv.kv.v1.kv_pb2")
    rpc = importlib.import_module("quorumkv.kv.v1.kv_pb2_grpc")

    stub = rpc.KeyValueServiceStub(channel(address, tls_dir))
    key = ("py-" + uuid.uuid4().hex).encode()

    stub.Put(pb.PutRequest(key=key, value=b"one"), timeout=5)
    stub.Put(pb.PutRequest(key=key, value=b"two", consistency=pb.CONSISTENCY_LEVEL_ALL), timeout=5)
    got = stub.Get(pb.GetRequest(key=key, consistency=pb.CONSISTENCY_LEVEL_QUORUM), timeout=5)
    values = sorted(s.value for s in got.siblings)
    assert got.found and values == [b"one", b"two"], f"expected two siblings, got {values}"
    print(f"siblings after two blind puts: {values}")

    stub.Put(pb.PutRequest(key=key, value=b"resolved", context=got.context, w=2), timeout=5)
    got = stub.Get(pb.GetRequest(key=key, r=2), timeout=5)
    values = [s.value for s in got.siblings]
    assert values == [b"resolved"], f"expected one resolved value, got {values}"
    print(f"after a put with the context: {values}")

    stub.Delete(pb.DeleteRequest(key=key, context=got.context), timeout=5)
    got = stub.Get(pb.GetRequest(key=key), timeout=5)
    assert not got.found and len(got.siblings) == 0, "expected the key to be gone"
    print("after delete: not found")

    try:
        stub.Put(pb.PutRequest(key=b"", value=b"x"), timeout=5)
        raise AssertionError("an empty key was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.code()
        print(f"empty key: {err.code().name}: {err.details()}")
    print("python interop: all checks passed")


if __name__ == "__main__":
    main()
