#!/bin/sh
# The quorumkv image's entrypoint: `quorumkv SERVICE [--setting value ...]` runs one service.
#
# SERVICE names a folder under services/ (storage-node, coordinator, rate-limiter, ...); every
# other argument goes to the service unchanged (`quorumkv coordinator --help` lists its
# settings). It execs the service's committed bin (services/SERVICE/bin/quorumkv-SERVICE.js),
# whose shebang carries the service's Node/V8 flags (the rate limiter's --no-memory-reducer), so
# the flags have one source and the service itself is PID 1 and receives SIGTERM.
set -eu

app="${QKV_APP_DIR:-/app}"

usage() {
  echo "usage: quorumkv SERVICE [--setting value ...]    (quorumkv SERVICE --help lists its settings)"
  printf 'services:'
  for bin in "$app"/services/*/bin/quorumkv-*.js; do
    [ -e "$bin" ] || continue
    name="${bin#"$app"/services/}"
    printf ' %s' "${name%%/*}"
  done
  echo
}

if [ "$#" -eq 0 ]; then
  usage >&2
  exit 2
fi
service="$1"
shift
case "$service" in
  -h | --help)
    usage
    exit 0
    ;;
  "" | .* | */*)
    echo "quorumkv: \"$service\" is not a service" >&2
    usage >&2
    exit 2
    ;;
esac

bin="$app/services/$service/bin/quorumkv-$service.js"
if [ ! -x "$bin" ]; then
  echo "quorumkv: unknown service \"$service\"" >&2
  usage >&2
  exit 2
fi
exec "$bin" "$@"
