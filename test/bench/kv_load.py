#!/usr/bin/env python3
"""A worker of the benchmarks' Python load generator: gRPC C-core through Debian's
python3-grpcio (grpc.aio), run with /usr/bin/python3. `npm run bench -- --client python`
starts several and drives them together; each keeps its share of the calls in flight, closed
loop. It takes grpc-load.c's flags and protocol (see the comment at the top of that file):
connect, print "ready", wait for a line on stdin, warm up, measure, print one JSON line.

Why requests are spliced bytes, not protobuf messages: the Node side encodes one request with the
real encoder around a key of fixed width and passes the bytes before and after the key; call i
sends `prefix + key digits + suffix` unserialised. No proto compiler is needed here, and the
worker spends as little CPU per call as grpc.aio allows (still 60-200 µs on this machine).
"""
import argparse
import asyncio
import itertools
import json
import sys
import time

import grpc


def bucket(us: int) -> int:
    """The lower bound of `us`'s histogram bucket: exact below 128 µs, 7 significant bits above."""
    if us < 128:
        return us
    shift = us.bit_length() - 7
    return (us >> shift) << shift


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--address", action="append", required=True)
    p.add_argument("--path", required=True)
    p.add_argument("--prefix", required=True)
    p.add_argument("--suffix", default="")
    p.add_argument("--tls-dir", default=None, help="mutual TLS with ca.pem, client.pem, client-key.pem in this folder")
    for name, default in [("width", 0), ("first-key", 0), ("stride", 1), ("offset", 0), ("modulo", 0),
                          ("concurrency", 64), ("connections", 1), ("warmup-ms", 1000), ("duration-ms", 5000),
                          ("timeout-ms", 5000)]:
        p.add_argument(f"--{name}", type=int, default=default)
    return p.parse_args()


async def main() -> None:
    a = parse()
    prefix, suffix = bytes.fromhex(a.prefix), bytes.fromhex(a.suffix)
    digits = b"%0" + str(a.width).encode() + b"d"
    timeout = a.timeout_ms / 1000
    # A separate subchannel pool per channel: otherwise channels to one address share a connection.
    options = [("grpc.use_local_subchannel_pool", 1)]
    if a.tls_dir is None:
        channels = [grpc.aio.insecure_channel(addr, options=options) for _ in range(a.connections) for addr in a.address]
    else:
        def read(name: str) -> bytes:
            with open(f"{a.tls_dir}/{name}", "rb") as f:
                return f.read()

        creds = grpc.ssl_channel_credentials(read("ca.pem"), read("client-key.pem"), read("client.pem"))
        channels = [grpc.aio.secure_channel(addr, creds, options=options) for _ in range(a.connections) for addr in a.address]
    await asyncio.wait_for(asyncio.gather(*(c.channel_ready() for c in channels)), timeout)
    calls = [c.unary_unary(a.path) for c in channels]

    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
    perf = time.perf_counter_ns
    window_start = perf() + a.warmup_ms * 1_000_000
    window_end = window_start + a.duration_ms * 1_000_000
    cpu = {}
    loop = asyncio.get_running_loop()
    loop.call_later(a.warmup_ms / 1000, lambda: cpu.__setitem__("start", time.process_time()))
    loop.call_later((a.warmup_ms + a.duration_ms) / 1000, lambda: cpu.__setitem__("end", time.process_time()))
    counter = itertools.count()
    latencies: list[int] = []
    failures: list[str] = []

    def request(i: int) -> bytes:
        if a.width == 0:
            return prefix
        n = i * a.stride + a.offset
        if a.modulo:
            n %= a.modulo
        return prefix + (digits % (a.first_key + n)) + suffix

    async def caller(j: int) -> None:
        call = calls[j % len(calls)]
        while True:
            t0 = perf()
            if t0 >= window_end:
                return
            failure = None
            try:
                await call(request(next(counter)), timeout=timeout)
            except grpc.aio.AioRpcError as err:
                failure = f"{err.details()} (grpc-status {err.code().value[0]})"
            t1 = perf()
            if window_start <= t1 <= window_end:
                if failure is None:
                    latencies.append(t1 - t0)
                else:
                    failures.append(failure)

    await asyncio.gather(*(caller(j) for j in range(a.concurrency)))
    cpu_seconds = cpu.get("end", time.process_time()) - cpu.get("start", time.process_time())
    hist: dict[int, int] = {}
    for ns in latencies:
        b = bucket(ns // 1000)
        hist[b] = hist.get(b, 0) + 1
    print(json.dumps({
        "issued": next(counter),
        "ops": len(latencies),
        "errors": len(failures),
        "first_error": failures[0] if failures else None,
        "seconds": a.duration_ms / 1000,
        "cpu_seconds": cpu_seconds,
        "hist": sorted(hist.items()),
    }), flush=True)
    for c in channels:
        await c.close()


if __name__ == "__main__":
    asyncio.run(main())
