#!/usr/bin/env bash
# The full test suite. It needs nothing running. First it checks (and, where
# this user may, installs) everything it needs: Debian's redis-server,
# chromium, Node.js 18 or later, npm and playwright-core; gcc turns on the
# race detector. Then it starts a throwaway Redis on a free loopback port,
# runs every Go test against it, the ingest and engine suites on a Redis
# Cluster and through a Sentinel, each fuzz target for a few seconds, and the
# desk page's browser tests (chromium driven by playwright-core under Node's
# test runner, against a freshly built parley binary). Every phase runs even
# when an earlier one fails; the script fails at the end, naming the phases
# that failed.
set -euo pipefail
cd "$(dirname "$0")"

# --- Prerequisites, all of them before the first test ---------------------

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then sudo "$@"
  else echo "test.sh: need root (or password-less sudo) to run: $*" >&2; return 1
  fi
}

apt_updated=""
missing=""
need_package() { # need_package COMMAND PACKAGE
  command -v "$1" >/dev/null && return 0
  echo "test.sh: installing $2 (for $1)" >&2
  if [ -z "$apt_updated" ]; then as_root apt-get update -qq && apt_updated=1; fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null || true
  command -v "$1" >/dev/null && return 0
  missing="$missing $2"
}

command -v go >/dev/null || { echo "test.sh: go is not on PATH (see go.mod for the version)" >&2; exit 1; }
need_package redis-server redis-server
need_package chromium chromium
need_package node nodejs
need_package npm npm
if [ -n "$missing" ]; then
  echo "test.sh: cannot run without:$missing (install them, then run again)" >&2
  exit 1
fi
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 18 ]; then
  echo "test.sh: the browser tests need Node.js 18 or later; found $(node --version)" >&2
  exit 1
fi
e2e=desk/web/e2e
# npm ci only when node_modules is missing or older than the lock file.
if ! cmp -s "$e2e/package-lock.json" "$e2e/node_modules/.parley-lock.json" 2>/dev/null; then
  (cd "$e2e" && npm ci --no-audit --no-fund --loglevel=error) ||
    { echo "test.sh: npm ci in $e2e failed (is the npm registry reachable?)" >&2; exit 1; }
  cp "$e2e/package-lock.json" "$e2e/node_modules/.parley-lock.json"
fi
race=""
if command -v gcc >/dev/null || command -v cc >/dev/null; then
  race="-race"
else
  echo "test.sh: no C compiler (gcc): the Go tests run WITHOUT the race detector" >&2
fi

# --- Phases: each one runs, failed or not; the summary comes at the end ---

failed=()
phase() { # phase NAME COMMAND...: run it, remember it if it fails
  echo "test.sh: phase $1" >&2
  if ! "${@:2}"; then
    echo "test.sh: phase $1 FAILED" >&2
    failed+=("$1")
  fi
}

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
e2e_bin_dir=""
cluster_pids=""
cleanup() {
  kill "$redis_pid" $cluster_pids 2>/dev/null || true; wait "$redis_pid" $cluster_pids 2>/dev/null || true; rm -rf "$redis_dir"
  if [ -n "$e2e_bin_dir" ]; then rm -rf "$e2e_bin_dir"; fi
}
trap cleanup EXIT
for _ in $(seq 50); do
  if (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then break; fi
  sleep 0.1
done
export PARLEY_TEST_REDIS="127.0.0.1:$port"
echo "test.sh: throwaway redis-server on $PARLEY_TEST_REDIS" >&2

phase "go test" go test $race -count=1 -timeout 20m "$@" ./...

# The ingest and engine suites again on a 3-master Redis Cluster on
# loopback: the store's scripts, Asynq's cluster mode and pub/sub across
# nodes. Each test takes the whole cluster in turn (desk/redistest).
cluster_phase() {
  local nodes="" p n
  for p in $(seq 7100 7199); do
    port_free "$p" && port_free "$((p + 10000))" || continue # +10000: the cluster bus
    mkdir -p "$redis_dir/cluster-$p"
    (cd "$redis_dir/cluster-$p" && exec redis-server --port "$p" --bind 127.0.0.1 --cluster-enabled yes \
      --cluster-config-file nodes.conf --save "" --appendonly no --daemonize no --loglevel warning) \
      >"$redis_dir/cluster-$p/log" 2>&1 &
    cluster_pids="$cluster_pids $!"
    nodes="$nodes 127.0.0.1:$p"
    [ "$(echo $nodes | wc -w)" = 3 ] && break
  done
  for n in $nodes; do
    for _ in $(seq 50); do redis-cli -h 127.0.0.1 -p "${n#*:}" ping >/dev/null 2>&1 && break; sleep 0.1; done
  done
  redis-cli --cluster create $nodes --cluster-replicas 0 --cluster-yes >"$redis_dir/cluster-create.log" 2>&1 ||
    { cat "$redis_dir/cluster-create.log" >&2; return 1; }
  for _ in $(seq 100); do
    redis-cli -p "${nodes##*:}" cluster info | grep -q 'cluster_state:ok' && break; sleep 0.1
  done
  echo "test.sh: Redis Cluster on$nodes" >&2
  local rc=0
  PARLEY_TEST_REDIS_CLUSTER=$(echo $nodes | tr ' ' ,) go test $race -count=1 -timeout 20m ./desk/ ./worker/ || rc=1
  PARLEY_TEST_REDIS_CLUSTER=$(echo $nodes | tr ' ' ,) go test $race -count=1 -timeout 20m \
    -run 'TestBlackbox(Inbound|Outbound|Engine)' ./cmd/parley/ || rc=1
  return $rc
}

# Ingest through a Redis Sentinel watching the throwaway server.
sentinel_phase() {
  local sentinel_port="" p
  for p in $(seq 26390 26499); do
    if port_free "$p"; then sentinel_port=$p; break; fi
  done
  [ -n "$sentinel_port" ] || { echo "test.sh: no free port in 26390-26499" >&2; return 1; }
  printf 'port %s\nbind 127.0.0.1\nsentinel monitor parley-test 127.0.0.1 %s 1\n' "$sentinel_port" "$port" >"$redis_dir/sentinel.conf"
  redis-server "$redis_dir/sentinel.conf" --sentinel --daemonize no --loglevel warning >"$redis_dir/sentinel.log" 2>&1 &
  cluster_pids="$cluster_pids $!"
  for _ in $(seq 50); do
    redis-cli -p "$sentinel_port" sentinel get-master-addr-by-name parley-test 2>/dev/null | grep -q "$port" && break; sleep 0.1
  done
  echo "test.sh: Redis Sentinel on 127.0.0.1:$sentinel_port" >&2
  PARLEY_TEST_REDIS_SENTINEL="127.0.0.1:$sentinel_port" go test $race -count=1 -timeout 10m \
    -run 'TestReceive|TestBlackbox(Inbound|Outbound)' ./desk/ ./cmd/parley/
}

# PARLEY_TOPOLOGIES=0 skips both.
if [ "${PARLEY_TOPOLOGIES:-1}" != 0 ]; then
  phase "redis cluster" cluster_phase
  phase "redis sentinel" sentinel_phase
fi

# Each fuzz target explores past its kept corpus (testdata/fuzz) for a
# bounded number of inputs, sized to a few seconds each. Counts, not
# durations: Go 1.26's fuzz coordinator can fail a target with a bare
# "context deadline exceeded" when a -fuzztime duration ends while a
# starved worker is mid-input (golang/go#75804), and a count has no
# deadline to race. PARLEY_FUZZTIME overrides every budget (e.g. 30s or
# 100000x); PARLEY_FUZZTIME=0 skips the phase.
fuzz_phase() {
  local rc=0 target pkg name budget
  for target in channels:FuzzParseInbound:50000x channels:FuzzParseStatus:50000x \
    channels:FuzzSignature:50000x desk/engine:FuzzKeywords:15000x desk:FuzzEventEncode:50000x config:FuzzHours:50000x \
    config:FuzzYAML:20000x gateway:FuzzAPIJSON:400x; do
    IFS=: read -r pkg name budget <<<"$target"
    go test -run '^$' -fuzz "^${name}\$" -fuzztime "${PARLEY_FUZZTIME:-$budget}" "./$pkg" || rc=1
  done
  return $rc
}
if [ "${PARLEY_FUZZTIME:-}" != 0 ]; then
  phase "fuzz" fuzz_phase
fi

# The desk page in a real browser: desk/web/e2e/*.test.mjs.
browser_phase() {
  e2e_bin_dir=$(mktemp -d)
  go build -o "$e2e_bin_dir/parley" ./cmd/parley || return 1
  PARLEY_BIN="$e2e_bin_dir/parley" node --test "$e2e"/*.test.mjs
}
phase "browser" browser_phase

if [ ${#failed[@]} -gt 0 ]; then
  echo "test.sh: FAILED phases: $(IFS=,; echo "${failed[*]}" | sed 's/,/, /g')" >&2
  exit 1
fi
echo "test.sh: all phases passed" >&2
