#!/usr/bin/env bash
# The full test suite. It needs nothing running: it starts a throwaway Redis
# on a free loopback port for the run (installing Debian's redis-server when
# it is missing and this user may), runs every Go test against it, and stops
# it again.
set -euo pipefail
cd "$(dirname "$0")"

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else echo "test.sh: need root to run: $*" >&2; return 1
  fi
}

apt_updated=""
need_package() { # need_package COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  echo "test.sh: installing $2 (for $1)" >&2
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq; apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

need_package redis-server redis-server

port_free() { ! (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
port=""
for p in $(seq 6390 6499); do
  if port_free "$p"; then port=$p; break; fi
done
[ -n "$port" ] || { echo "test.sh: no free port in 6390-6499" >&2; exit 1; }

redis_dir=$(mktemp -d)
redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no \
  --dir "$redis_dir" --daemonize no --loglevel warning >"$redis_dir/log" 2>&1 &
redis_pid=$!
cleanup() { kill "$redis_pid" 2>/dev/null || true; wait "$redis_pid" 2>/dev/null || true; rm -rf "$redis_dir"; }
trap cleanup EXIT
for _ in $(seq 50); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
export PARLEY_TEST_REDIS="127.0.0.1:$port"
echo "test.sh: throwaway redis-server on $PARLEY_TEST_REDIS" >&2

race=""
if command -v gcc >/dev/null || command -v cc >/dev/null; then race="-race"; fi
go test $race -count=1 -timeout 20m "$@" ./...
