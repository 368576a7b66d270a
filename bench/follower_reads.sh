#!/usr/bin/env bash
# Linearizable reads spread over every node of a 3-node cluster: this build
# (followers serve them with the leader's read index) against an older
# build (followers forward each one to the leader), both clusters running
# at once, rounds alternating between them; medians of the aggregate rate.
# One rqbench per node, C clients each, point SELECTs at level=linearizable.
#
# Usage: bench/follower_reads.sh NEW_RQLITED OLD_RQLITED [rqbench]
#   N=3000 requests per node per round, C=4 clients per node, ROUNDS=3
set -euo pipefail
cd "$(dirname "$0")/.."
new=$1
old=$2
rqbench=${3:-build/bench/rqbench}
N=${N:-3000}
C=${C:-4}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqfollower.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base=$((10000 + RANDOM % 20000))
start_node() {  # binary name id http raft [join]
  local bin=$1 name=$2 id=$3 http=$4 raft=$5 join=${6:-}
  "$bin" -node-id "$id" -http-addr 127.0.0.1:$http -raft-addr 127.0.0.1:$raft ${join:+-join $join} \
    "$work/$name$id" >"$work/$name$id.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "node $name$id did not become ready" >&2; cat "$work/$name$id.log" >&2; exit 1
}
cluster() {  # binary name first-port: three nodes, HTTP on first, first+2, first+4
  local bin=$1 name=$2 p=$3
  start_node "$bin" "$name" 1 $p $((p + 1))
  start_node "$bin" "$name" 2 $((p + 2)) $((p + 3)) 127.0.0.1:$((p + 1))
  start_node "$bin" "$name" 3 $((p + 4)) $((p + 5)) 127.0.0.1:$((p + 1))
  curl -sf -XPOST "127.0.0.1:$p/db/execute" -H 'Content-Type: application/json' \
    -d '["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) INSERT INTO foo SELECT x, hex(randomblob(8)) FROM c"]' >/dev/null
  sleep 1  # every node has the rows
}
cpu_ticks() {  # pids... -> utime+stime summed, in clock ticks
  local total=0 pid f
  for pid in "$@"; do
    read -ra f < "/proc/$pid/stat"
    total=$((total + f[13] + f[14]))
  done
  echo "$total"
}
round() {  # first-port pids... -> "aggregate-requests/s node-cpu-us-per-read"
  local p=$1 i out=()
  shift
  local before
  before=$(cpu_ticks "$@")
  for i in 0 2 4; do
    "$rqbench" -a 127.0.0.1:$((p + i)) -n "$N" -c "$C" -p '/db/query?level=linearizable' -r 1000 \
      "SELECT * FROM foo WHERE id = ?" >"$work/out$i" 2>&1 &
    out+=($!)
  done
  wait "${out[@]}"
  for i in 0 2 4; do
    grep -q '^Failures: 0$' "$work/out$i" || { echo "failures on node $i:" >&2; cat "$work/out$i" >&2; exit 1; }
  done
  local used=$(( $(cpu_ticks "$@") - before )) hz
  hz=$(getconf CLK_TCK)
  # The slowest node's duration bounds the aggregate.
  awk -v n="$N" -v used="$used" -v hz="$hz" \
    '/^Total duration:/ {d = $3 + 0; if (d > max) max = d}
     END {printf "%.0f %.0f\n", 3 * n / max, used * 1e6 / hz / (3 * n)}' \
    "$work/out0" "$work/out2" "$work/out4"
}
median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }

cluster "$new" new $base
new_pids=("${pids[@]}")
cluster "$old" old $((base + 10))
old_pids=("${pids[@]:3}")
news=() olds=() new_cpu=() old_cpu=()
for r in $(seq "$ROUNDS"); do
  read -r rate cpu < <(round $base "${new_pids[@]}")
  news+=("$rate") new_cpu+=("$cpu")
  read -r rate cpu < <(round $((base + 10)) "${old_pids[@]}")
  olds+=("$rate") old_cpu+=("$cpu")
  echo "round $r: follower reads ${news[-1]}/s (${new_cpu[-1]} us CPU/read), forwarded ${olds[-1]}/s" \
       "(${old_cpu[-1]} us CPU/read)" >&2
done
n=$(printf '%s\n' "${news[@]}" | median)
o=$(printf '%s\n' "${olds[@]}" | median)
nc=$(printf '%s\n' "${new_cpu[@]}" | median)
oc=$(printf '%s\n' "${old_cpu[@]}" | median)
echo "linearizable reads, 3 nodes x $C clients: follower reads $n/s, forwarded to the leader $o/s," \
     "ratio $(awk -v a="$n" -v b="$o" 'BEGIN {printf "%.2f", a / b}')x; node CPU per read $nc us vs $oc us"
echo "(the nodes share this machine's $(nproc) cores: the aggregate is bounded by nproc / CPU per read)"
