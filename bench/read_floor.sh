#!/usr/bin/env bash
# Point reads against the HTTP floor (issue 14): one node answering
# `SELECT * FROM foo WHERE id=?` at level=none, and build/bench/http_floor
# (our HTTP threading, a fixed body of the same size, no SQL or JSON work)
# under the same rqbench load, rounds alternating, medians and the ratio.
#
# Usage: bench/read_floor.sh [RQLITED] [BUILD_DIR]
#   C=8 N=40000 ROUNDS=5
set -euo pipefail
cd "$(dirname "$0")/.."
rqlited=${1:-build/src/cmd/rqlited}
build=${2:-build}
rqbench=$build/bench/rqbench
floor=$build/bench/http_floor
C=${C:-8}
N=${N:-40000}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqfloor.XXXXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base=$((10000 + RANDOM % 20000))
node=127.0.0.1:$base
"$rqlited" -node-id 1 -http-addr "$node" -raft-addr 127.0.0.1:$((base + 1)) "$work/node" >"$work/node.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do curl -sf "$node/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
"$rqbench" -a "$node" -n 1000 -o "CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)" \
  "INSERT INTO foo(name) VALUES('fiona')" >/dev/null
# The floor answers with what the node answers for one of the reads.
curl -s -XPOST "$node/db/query?level=none" -H 'Content-Type: application/json' \
  -d '[["SELECT * FROM foo WHERE id=?", 500]]' >"$work/body.json"
floor_addr=127.0.0.1:$((base + 2))
"$floor" $((base + 2)) "$work/body.json" 2 >"$work/floor.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do grep -q listening "$work/floor.log" 2>/dev/null && break; sleep 0.05; done
echo "body: $(wc -c <"$work/body.json") bytes: $(cat "$work/body.json")"

run() { "$rqbench" -a "$1" -n "$N" -c "$C" -r 1000 -p "/db/query?level=none" "SELECT * FROM foo WHERE id=?"; }
rate() { awk -F': ' '/^Requests\/sec/ {print $2}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
: >"$work/node.rate"; : >"$work/floor.rate"
for round in $(seq "$ROUNDS"); do
  run "$node" | rate >>"$work/node.rate"
  run "$floor_addr" | rate >>"$work/floor.rate"
done
echo "point SELECT at level=none, $C connections, $ROUNDS rounds"
echo "node rounds:  $(tr '\n' ' ' <"$work/node.rate")"
echo "floor rounds: $(tr '\n' ' ' <"$work/floor.rate")"
n=$(median <"$work/node.rate")
f=$(median <"$work/floor.rate")
echo "median requests/s: node $n, floor $f, node/floor $(awk -v n="$n" -v f="$f" 'BEGIN {printf "%.3f", n / f}')"
