#!/usr/bin/env bash
# Cluster benchmark: the same rqbench scenarios against a 3-node loopback
# cluster and against a single node, printed side by side with the
# cluster/single ratio.
#
# Both deployments run at once and every scenario alternates between them
# for ROUNDS rounds; the medians are compared. On a shared 2-core VM one
# long run of each, one after the other, measured whatever else the machine
# did meanwhile (others' builds, their fsyncs) as much as our code. For the
# sequential INSERT it also prints the median p50 latency and, for the
# cluster, CPU time and voluntary context switches per write summed over
# the three nodes (both far steadier than rates on a noisy machine).
#
# Usage: bench/run_cluster.sh [build-dir]   (default: build)
#   N=2000      requests per sequential scenario per round (others scale)
#   ROUNDS=3    alternations per scenario
#   SEQ_ONLY=1  only the sequential INSERT (the latency-bound case)
#   SCENARIOS="c8 c64"  only these (seq c8 c64 batch queued select)
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
rqlited=$build/src/cmd/rqlited
rqbench=$build/bench/rqbench
N=${N:-2000}
ROUNDS=${ROUNDS:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqcluster.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

# Below Linux's ephemeral range (32768+), where a client socket may hold the port.
base=$((10000 + RANDOM % 20000))
start_node() {  # id http raft [join]
  local id=$1 http=$2 raft=$3 join=${4:-}
  "$rqlited" -node-id "$id" -http-addr 127.0.0.1:$http -raft-addr 127.0.0.1:$raft ${join:+-join $join} \
    "$work/n$id" >"$work/n$id.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "node $id did not become ready" >&2; cat "$work/n$id.log" >&2; exit 1
}

single=127.0.0.1:$base
cluster=127.0.0.1:$((base + 10))
start_node 1 $base $((base + 1))
start_node 11 $((base + 10)) $((base + 11))
start_node 12 $((base + 12)) $((base + 13)) 127.0.0.1:$((base + 11))
start_node 13 $((base + 14)) $((base + 15)) 127.0.0.1:$((base + 11))
cluster_pids="${pids[*]:1}"

create="CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"
insert="INSERT INTO foo(name) VALUES('fiona')"
for a in $single $cluster; do "$rqbench" -a "$a" -n 1 -o "$create" "$insert" >/dev/null; done

median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }
rate() { awk -F': ' '/^Statements\/sec/ {print $2}'; }
p50() { awk '/^Latency/ {print $4}'; }
# Sum over the cluster's processes: CPU clock ticks and voluntary switches.
usage() {
  local ticks=0 switches=0 p s
  for p in $cluster_pids; do
    ticks=$((ticks + $(awk '{print $14 + $15}' /proc/$p/stat)))
    for s in /proc/$p/task/*/status; do switches=$((switches + $(awk '/^voluntary_ctxt/ {print $2}' "$s"))); done
  done
  echo "$ticks $switches"
}

run() {  # addr scenario -> rqbench output
  local a=$1
  case $2 in
    seq) "$rqbench" -a "$a" -n "$N" "$insert" ;;
    c8) "$rqbench" -a "$a" -n $((N * 2)) -c 8 "$insert" ;;
    c64) "$rqbench" -a "$a" -n $((N * 4)) -c 64 "$insert" ;;
    batch) "$rqbench" -a "$a" -n 20 -b 1000 "$insert" ;;
    queued) "$rqbench" -a "$a" -n "$N" -q "$insert" ;;
    select)
      local rows
      rows=$(curl -s -G "$a/db/query" --data-urlencode 'q=SELECT MAX(id) FROM foo' | sed -E 's/.*"values":\[\[([0-9]+)\]\].*/\1/')
      "$rqbench" -a "$a" -n $((N * 10)) -c 32 -r "$rows" -p "/db/query?level=none" "SELECT * FROM foo WHERE id=?" ;;
  esac
}

scenarios=(seq c8 c64 batch queued select)
names=("sequential INSERT" "8 concurrent writers" "64 concurrent writers" "1000-row batch (rows/s)" "queued writes" "point SELECT none, 32 conns")
[[ -n "${SEQ_ONLY:-}" ]] && scenarios=(seq)
if [[ -n "${SCENARIOS:-}" ]]; then
  read -r -a wanted <<<"$SCENARIOS"
  all=("${scenarios[@]}") all_names=("${names[@]}")
  scenarios=() names=()
  for w in "${wanted[@]}"; do
    for k in "${!all[@]}"; do [[ ${all[$k]} == "$w" ]] && scenarios+=("$w") && names+=("${all_names[$k]}"); done
  done
fi
hz=$(getconf CLK_TCK)
printf '%-30s %12s %12s %8s   (median of %s rounds)\n' scenario "3-node/s" "single/s" ratio "$ROUNDS"
for i in "${!scenarios[@]}"; do
  s=${scenarios[$i]}
  : >"$work/s.rate"; : >"$work/c.rate"; : >"$work/s.p50"; : >"$work/c.p50"; : >"$work/c.cpu"; : >"$work/c.csw"
  for _ in $(seq "$ROUNDS"); do
    out=$(run $single $s); rate <<<"$out" >>"$work/s.rate"; p50 <<<"$out" >>"$work/s.p50"
    read -r t0 c0 < <(usage)
    out=$(run $cluster $s); rate <<<"$out" >>"$work/c.rate"; p50 <<<"$out" >>"$work/c.p50"
    read -r t1 c1 < <(usage)
    awk -v a=$t0 -v b=$t1 -v n=$N -v hz=$hz 'BEGIN {print (b - a) * 1000 / hz / n}' >>"$work/c.cpu"
    awk -v a=$c0 -v b=$c1 -v n=$N 'BEGIN {print (b - a) / n}' >>"$work/c.csw"
  done
  c=$(median <"$work/c.rate"); sg=$(median <"$work/s.rate")
  printf '%-30s %12.0f %12.0f %8.2f\n' "${names[$i]}" "$c" "$sg" "$(awk -v a="$c" -v b="$sg" 'BEGIN { print a / b }')"
  if [[ $s == seq ]]; then
    cp50=$(median <"$work/c.p50"); sp50=$(median <"$work/s.p50")
    printf '%-30s %12.3f %12.3f %8.2f\n' "  p50 latency ms (single/3-node)" "$cp50" "$sp50" \
      "$(awk -v a="$cp50" -v b="$sp50" 'BEGIN { print b / a }')"
    printf '%-30s %12.3f %12s\n' "  3-node CPU ms per write" "$(median <"$work/c.cpu")" ""
    printf '%-30s %12.1f %12s\n' "  3-node ctx switches per write" "$(median <"$work/c.csw")" ""
  fi
done
