#!/usr/bin/env bash
# User-space instructions per request of one node, counted by callgrind:
# the steady figure to compare builds by on a shared machine where time is
# noise (there are no hardware counters in this VM). The node runs under
# valgrind; after a warm-up the counters are zeroed, N requests are sent by
# rqbench, and the total is divided by N. Kernel work (sendmsg, fdatasync)
# is not counted: compare it with bench/compare_builds.sh.
#
# Usage: bench/instructions.sh [RQLITED] [BUILD_DIR]
#   N=3000 C=8
#   ENDPOINT='/db/query?level=none' SQL='SELECT * FROM foo WHERE id=?'   (the default: point reads)
#   ENDPOINT=/db/execute SQL="INSERT INTO foo(name) VALUES('fiona')"     (writes)
#   KEEP=file   keep callgrind's output (for callgrind_annotate)
set -euo pipefail
cd "$(dirname "$0")/.."
rqlited=${1:-build/src/cmd/rqlited}
build=${2:-build}
rqbench=$build/bench/rqbench
N=${N:-3000}
C=${C:-8}
ENDPOINT=${ENDPOINT:-/db/query?level=none}
SQL=${SQL:-SELECT * FROM foo WHERE id=?}
command -v valgrind >/dev/null || { echo "valgrind is not installed (scripts/install-deps.sh --tests)" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/rqinstr.XXXXXX")
pid=""
cleanup() { [[ -n "$pid" ]] && kill "$pid" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base=$((10000 + RANDOM % 20000))
node=127.0.0.1:$base
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$rqlited" -node-id 1 -http-addr "$node" -raft-addr 127.0.0.1:$((base + 1)) "$work/node" >"$work/node.log" 2>&1 &
pid=$!
for _ in $(seq 300); do curl -sf "$node/readyz" >/dev/null 2>&1 && break; sleep 0.2; done
"$rqbench" -a "$node" -n 300 -o "CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)" \
  "INSERT INTO foo(name) VALUES('fiona')" >/dev/null
"$rqbench" -a "$node" -n 500 -c "$C" -r 300 -p "$ENDPOINT" "$SQL" >/dev/null  # warm-up
callgrind_control -z "$pid" >/dev/null 2>&1
"$rqbench" -a "$node" -n "$N" -c "$C" -r 300 -p "$ENDPOINT" "$SQL" >/dev/null
callgrind_control -d "$pid" >/dev/null 2>&1
sleep 1
out=$(ls -t "$work"/callgrind.out* | head -1)
total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')
echo "$ENDPOINT \"$SQL\": $((total / N)) instructions per request (user space, $N requests, $C clients)"
if [[ -n "${KEEP:-}" ]]; then cp "$out" "$KEEP"; fi
