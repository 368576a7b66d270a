#!/usr/bin/env bash
# Single-node benchmark: rqbench against one rqlited and against raw SQLite
# on the same disk, in one run, printed as ratios (machines are shared and
# noisy, so only same-run ratios mean anything).
# Usage: bench/run_single_node.sh [build-dir]   (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rqlited=$build/src/cmd/rqlited
rqbench=$build/bench/rqbench
N=${N:-2000}

work=$(mktemp -d "${TMPDIR:-/tmp}/rqbench.XXXXXX")
port=$((10000 + RANDOM % 20000))  # below the ephemeral range (32768+)
"$rqlited" -node-id 1 -http-addr 127.0.0.1:$port -raft-addr 127.0.0.1:$((port + 1)) "$work/node" \
  >"$work/node.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 100); do
  curl -sf "127.0.0.1:$port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done

rate() { awk -F': ' '/^Statements\/sec/ {print $2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
create="CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"
insert="INSERT INTO foo(name) VALUES('fiona')"

base_insert=$("$rqbench" -baseline insert -dir "$work" -n "$N" -o "$create" "$insert" | rate)
seq_insert=$("$rqbench" -a 127.0.0.1:$port -n "$N" -o "$create" "$insert" | rate)
c64_insert=$("$rqbench" -a 127.0.0.1:$port -n $((N * 4)) -c 64 "$insert" | rate)
base_batch=$("$rqbench" -baseline insert -dir "$work" -n 20 -b 1000 -o "$create" "$insert" | rate)
batch=$("$rqbench" -a 127.0.0.1:$port -n 20 -b 1000 "$insert" | rate)
batch_tx=$("$rqbench" -a 127.0.0.1:$port -n 20 -b 1000 -x "$insert" | rate)
rows=$(curl -s -G "127.0.0.1:$port/db/query" --data-urlencode 'q=SELECT MAX(id) FROM foo' |
       sed -E 's/.*"values":\[\[([0-9]+)\]\].*/\1/')
base_select=$("$rqbench" -baseline select -dir "$work" -n $((N * 10)) -c 32 -r "$rows" -o "$create" \
              "SELECT * FROM foo WHERE id=?" | rate)
select=$("$rqbench" -a 127.0.0.1:$port -n $((N * 10)) -c 32 -r "$rows" -p "/db/query?level=none" \
         "SELECT * FROM foo WHERE id=?" | rate)

printf '%-44s %12s %12s %8s\n' "scenario" "rqlited/s" "baseline/s" "ratio"
printf '%-44s %12.0f %12.0f %8s\n' "sequential INSERT vs SQLite (FULL sync)" "$seq_insert" "$base_insert" "$(ratio "$seq_insert" "$base_insert")"
printf '%-44s %12.0f %12.0f %8s\n' "64 writers vs our sequential" "$c64_insert" "$seq_insert" "$(ratio "$c64_insert" "$seq_insert")"
printf '%-44s %12.0f %12.0f %8s\n' "1000-row request vs SQLite 1000-row tx" "$batch" "$base_batch" "$(ratio "$batch" "$base_batch")"
printf '%-44s %12.0f %12.0f %8s\n' "1000-row request ?transaction vs SQLite" "$batch_tx" "$base_batch" "$(ratio "$batch_tx" "$base_batch")"
printf '%-44s %12.0f %12.0f %8s\n' "point SELECT level=none, 32 conns" "$select" "$base_select" "$(ratio "$select" "$base_select")"
