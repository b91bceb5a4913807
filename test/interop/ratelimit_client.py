#!/usr/bin/env python3
"""An independent client of the rate limiter in Python (gRPC C-core, like Envoy's own C++ client),
built only from proto/: Envoy's rls.proto and its imports, compiled with grpc_tools
(Debian: python3-grpc-tools).

It expects the service started with a rules folder holding:
    domain: interop
    descriptors:
      - key: user
        rate_limit: {unit: minute, requests_per_unit: 3}
and checks, over the wire: decisions up to the limit and past it, the response fields and headers,
a bad request's INVALID_ARGUMENT naming the field, a gzip-compressed request, a deadline sent
as grpc-timeout, caller metadata, a descriptor hits_addend of 0 (a check that counts nothing) and
is_negative_hits (hits given back).
Usage: /usr/bin/python3 test/interop/ratelimit_client.py HOST:PORT PROTO_ROOT [TLS_DIR]
Prints one line per step and exits 0 when every check passed.
"""
import importlib
import sys
import uuid

import grpc

from protos import channel, compile_protos

PROTOS = [
    "envoy/service/ratelimit/v3/rls.proto",
    "envoy/config/core/v3/base.proto",
    "envoy/extensions/common/ratelimit/v3/ratelimit.proto",
    "envoy/type/v3/ratelimit_unit.proto",
]


def main() -> None:
    address, proto_root = sys.argv[1], sys.argv[2]
    tls_dir = sys.argv[3] if len(sys.argv) > 3 else None
    compile_protos(proto_root, PROTOS)
    pb = importlib.import_module("envoy.service.ratelimit.v3.rls_pb2")
    rpc = importlib.import_module("envoy.service.ratelimit.v3.rls_pb2_grpc")
    common = importlib.import_module("envoy.extensions.common.ratelimit.v3.ratelimit_pb2")

    stub = rpc.RateLimitServiceStub(channel(address, tls_dir))
    user = "py-" + uuid.uuid4().hex

    def request(domain: str = "interop", value: str = user) -> object:
        entry = common.RateLimitDescriptor.Entry(key="user", value=value)
        return pb.RateLimitRequest(domain=domain, descriptors=[common.RateLimitDescriptor(entries=[entry])])

    codes = []
    for i in range(4):
        res = stub.ShouldRateLimit(request(), timeout=5)
        codes.append(pb.RateLimitResponse.Code.Name(res.overall_code))
        status = res.statuses[0]
        assert status.current_limit.requests_per_unit == 3, f"current_limit {status.current_limit}"
        assert status.current_limit.unit == pb.RateLimitResponse.RateLimit.Unit.Value("MINUTE"), status.current_limit
        assert status.limit_remaining == max(0, 2 - i), f"call {i}: limit_remaining {status.limit_remaining}"
        assert 0 < status.duration_until_reset.seconds <= 60, status.duration_until_reset
        headers = {h.key.lower(): h.value for h in res.response_headers_to_add}
        assert headers.get("x-ratelimit-limit") == "3", headers
    assert codes == ["OK", "OK", "OK", "OVER_LIMIT"], codes
    assert "retry-after" in headers, f"no Retry-After when over the limit: {headers}"
    print(f"four calls against a limit of 3: {codes}, then Retry-After {headers['retry-after']}")

    try:
        stub.ShouldRateLimit(request(domain=""), timeout=5)
        raise AssertionError("an empty domain was accepted")
    except grpc.RpcError as err:
        assert err.code() == grpc.StatusCode.INVALID_ARGUMENT, err.code()
        assert err.details() == "domain: must not be empty", err.details()
        print(f"empty domain: {err.code().name} {err.details()!r}")

    other = "py-gzip-" + uuid.uuid4().hex
    res = stub.ShouldRateLimit(request(value=other), timeout=5, compression=grpc.Compression.Gzip)
    assert res.overall_code == pb.RateLimitResponse.Code.Value("OK"), res
    assert res.statuses[0].limit_remaining == 2, res.statuses[0]
    print("gzip-compressed request: OK, limit_remaining 2")

    res, call = stub.ShouldRateLimit.with_call(
        request(value="py-md-" + uuid.uuid4().hex), timeout=0.5, metadata=[("x-quorumkv-caller", "interop")]
    )
    assert res.overall_code == pb.RateLimitResponse.Code.Value("OK"), res
    assert call.code() == grpc.StatusCode.OK, call.code()
    print("with a 500 ms deadline and caller metadata: OK")

    wrappers = importlib.import_module("google.protobuf.wrappers_pb2")
    spent = "py-refund-" + uuid.uuid4().hex
    for _ in range(3):
        stub.ShouldRateLimit(request(value=spent), timeout=5)
    check = request(value=spent)
    check.descriptors[0].hits_addend.CopyFrom(wrappers.UInt64Value(value=0))
    remaining = []
    for _ in range(3):
        res = stub.ShouldRateLimit(check, timeout=5)
        assert res.overall_code == pb.RateLimitResponse.Code.Value("OK"), res
        remaining.append(res.statuses[0].limit_remaining)
    assert remaining == [0, 0, 0], remaining
    print(f"hits_addend 0 on a used-up key: OK x3, limit_remaining {remaining} (a check counts nothing)")

    refund = request(value=spent)
    refund.descriptors[0].hits_addend.CopyFrom(wrappers.UInt64Value(value=2))
    refund.descriptors[0].is_negative_hits = True
    res = stub.ShouldRateLimit(refund, timeout=5)
    assert res.statuses[0].limit_remaining == 2, res.statuses[0]
    after = [pb.RateLimitResponse.Code.Name(stub.ShouldRateLimit(request(value=spent), timeout=5).overall_code) for _ in range(3)]
    assert after == ["OK", "OK", "OVER_LIMIT"], after
    print(f"is_negative_hits 2 gives two hits back: limit_remaining 2, then {after}")

    print("python rate-limit interop: all checks passed")


if __name__ == "__main__":
    main()
