#!/usr/bin/env bash
# Cluster benchmark: the same rqbench scenarios against a 3-node loopback
# cluster and against a single node, in one run, printed side by side with
# the cluster/single ratio.
# Usage: bench/run_cluster.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rqlited=$build/src/cmd/rqlited
rqbench=$build/bench/rqbench
N=${N:-2000}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqcluster.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base=$((20000 + RANDOM % 20000))
start_node() {  # id http raft [join]
  local id=$1 http=$2 raft=$3 join=${4:-}
  "$rqlited" -node-id "$id" -http-addr 127.0.0.1:$http -raft-addr 127.0.0.1:$raft ${join:+-join $join} \
    "$work/n$id" >"$work/n$id.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "node $id did not become ready" >&2; cat "$work/n$id.log" >&2; exit 1
}

rate() { awk -F': ' '/^Statements\/sec/ {print $2}'; }
create="CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"
insert="INSERT INTO foo(name) VALUES('fiona')"
scenarios() {  # addr -> five rates
  local a=$1
  local seq c64 batch queued select rows
  seq=$("$rqbench" -a "$a" -n "$N" -o "$create" "$insert" | rate)
  c64=$("$rqbench" -a "$a" -n $((N * 4)) -c 64 "$insert" | rate)
  batch=$("$rqbench" -a "$a" -n 20 -b 1000 "$insert" | rate)
  queued=$("$rqbench" -a "$a" -n "$N" -q "$insert" | rate)
  rows=$(curl -s -G "$a/db/query" --data-urlencode 'q=SELECT MAX(id) FROM foo' | sed -E 's/.*"values":\[\[([0-9]+)\]\].*/\1/')
  select=$("$rqbench" -a "$a" -n $((N * 10)) -c 32 -r "$rows" -p "/db/query?level=none" "SELECT * FROM foo WHERE id=?" | rate)
  echo "$seq $c64 $batch $queued $select"
}

start_node 1 $base $((base + 1))
single=($(scenarios 127.0.0.1:$base))
kill "${pids[0]}"; wait "${pids[0]}" 2>/dev/null || true; pids=()

start_node 11 $((base + 10)) $((base + 11))
start_node 12 $((base + 12)) $((base + 13)) 127.0.0.1:$((base + 11))
start_node 13 $((base + 14)) $((base + 15)) 127.0.0.1:$((base + 11))
cluster=($(scenarios 127.0.0.1:$((base + 10))))

names=("sequential INSERT" "64 concurrent writers" "1000-row batch (rows/s)" "queued writes" "point SELECT none, 32 conns")
printf '%-30s %12s %12s %8s\n' scenario "3-node/s" "single/s" ratio
for i in 0 1 2 3 4; do
  printf '%-30s %12.0f %12.0f %8.2f\n' "${names[$i]}" "${cluster[$i]}" "${single[$i]}" \
    "$(awk -v a="${cluster[$i]}" -v b="${single[$i]}" 'BEGIN { print a / b }')"
done
