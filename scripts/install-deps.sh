#!/usr/bin/env bash
# Installs the system programs quorumkv's tests and benchmarks use, from Debian's packages:
#   nats-server  (JetStream, hinted handoff)        etcd-server  (benchmark baseline)
#   redis-server (rate-limit benchmark baseline)   prometheus   (promtool; `npm run start:observe`)
#   nghttp2-client (h2load: the C HTTP/2 client `npm run bench:ratelimit` drives the servers with)
#   python3-grpcio, python3-grpc-tools (the independent Python client in test/interop)
#   gcc, libnghttp2-dev (npm run bench builds its load generator, test/bench/grpc-load.c)
#   iproute2 (ip: the network namespaces and partitions of the fault suite, test/faults)
# Safe to run again: it installs only what is missing. Needs root (or sudo).
set -euo pipefail
declare -A want=( [nats-server]=nats-server [etcd]=etcd-server [redis-server]=redis-server [promtool]=prometheus [h2load]=nghttp2-client [cc]=gcc [ip]=iproute2 )
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
/usr/bin/python3 -c 'import grpc, grpc_tools' >/dev/null 2>&1 || missing+=(python3-grpcio python3-grpc-tools)
[ -f /usr/include/nghttp2/nghttp2.h ] || missing+=(libnghttp2-dev)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: nothing to install"
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null 2>&1; then
    echo "install-deps: missing ${missing[*]}; run this script as root (or install sudo), or install those Debian packages yourself" >&2
    exit 1
  fi
  sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The Debian packages start their daemons; quorumkv starts its own on loopback ports.
for svc in etcd redis-server nats-server prometheus; do
  $sudo systemctl disable --now "$svc" >/dev/null 2>&1 || $sudo service "$svc" stop >/dev/null 2>&1 || true
done
echo "install-deps: done"
