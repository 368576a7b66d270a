#!/usr/bin/env bash
# Two builds side by side: a 3-node loopback cluster of each, the same
# rqbench scenario alternating between them for ROUNDS rounds, medians and
# the new/old ratio. On a shared 2-core machine this is how a change is
# measured: both clusters live through the same noise.
#
# Usage: bench/compare_builds.sh OLD_RQLITED NEW_RQLITED [rqbench]
#   SCENARIO=c64   seq | c8 | c64 | batch | select   (as bench/run_cluster.sh)
#   N=2000 ROUNDS=5
#   SCRAPE=1       scrape every node's /metrics once a second while the new
#                  build runs (a Prometheus at 1 s, 15x its usual rate)
set -euo pipefail
cd "$(dirname "$0")/.."
old=$1
new=$2
rqbench=${3:-build/bench/rqbench}
SCENARIO=${SCENARIO:-c64}
N=${N:-2000}
ROUNDS=${ROUNDS:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqcompare.XXXXXX")
pids=()
scraper=""
cleanup() {
  [[ -n "$scraper" ]] && kill "$scraper" 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

base=$((10000 + RANDOM % 20000))
start_node() {  # binary dir http raft [join]
  local binary=$1 dir=$2 http=$3 raft=$4 join=${5:-}
  "$binary" -node-id "$(basename "$dir")" -http-addr 127.0.0.1:$http -raft-addr 127.0.0.1:$raft \
    ${join:+-join $join} "$dir" >"$dir.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "node $dir did not become ready" >&2; cat "$dir.log" >&2; exit 1
}
start_cluster() {  # binary name first-port
  local binary=$1 name=$2 p=$3
  start_node "$binary" "$work/$name-1" $p $((p + 1))
  start_node "$binary" "$work/$name-2" $((p + 2)) $((p + 3)) 127.0.0.1:$((p + 1))
  start_node "$binary" "$work/$name-3" $((p + 4)) $((p + 5)) 127.0.0.1:$((p + 1))
}
start_cluster "$old" old $base
start_cluster "$new" new $((base + 10))
old_addr=127.0.0.1:$base
new_addr=127.0.0.1:$((base + 10))

insert="INSERT INTO foo(name) VALUES('fiona')"
for a in $old_addr $new_addr; do
  "$rqbench" -a "$a" -n 1 -o "CREATE TABLE IF NOT EXISTS foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)" \
    "$insert" >/dev/null
done

run() {  # addr
  local a=$1
  case $SCENARIO in
    seq) "$rqbench" -a "$a" -n "$N" "$insert" ;;
    c8) "$rqbench" -a "$a" -n $((N * 2)) -c 8 "$insert" ;;
    c64) "$rqbench" -a "$a" -n $((N * 4)) -c 64 "$insert" ;;
    batch) "$rqbench" -a "$a" -n 20 -b 1000 "$insert" ;;
    select) "$rqbench" -a "$a" -n $((N * 10)) -c 32 -r 1000 -p "/db/query?level=none" "SELECT * FROM foo WHERE id=?" ;;
    *) echo "unknown SCENARIO $SCENARIO" >&2; exit 2 ;;
  esac
}
rate() { awk -F': ' '/^Statements\/sec/ {print $2}'; }
median() { sort -g | awk '{v[NR] = $1} END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'; }

if [[ -n "${SCRAPE:-}" ]]; then
  (while true; do
     for port in $((base + 10)) $((base + 12)) $((base + 14)); do curl -s "127.0.0.1:$port/metrics" >/dev/null; done
     sleep 1
   done) &
  scraper=$!
fi

: >"$work/old.rate"; : >"$work/new.rate"
for round in $(seq "$ROUNDS"); do
  # Alternate which goes first, so neither always runs on a warmer machine.
  if (( round % 2 )); then
    run $old_addr | rate >>"$work/old.rate"; run $new_addr | rate >>"$work/new.rate"
  else
    run $new_addr | rate >>"$work/new.rate"; run $old_addr | rate >>"$work/old.rate"
  fi
done
o=$(median <"$work/old.rate"); n=$(median <"$work/new.rate")
echo "scenario $SCENARIO, $ROUNDS rounds${SCRAPE:+, new build scraped every second}"
echo "old rounds: $(tr '\n' ' ' <"$work/old.rate")"
echo "new rounds: $(tr '\n' ' ' <"$work/new.rate")"
printf 'median statements/s: old %.0f, new %.0f, new/old %.3f\n' "$o" "$n" "$(awk -v a="$n" -v b="$o" 'BEGIN {print a / b}')"
