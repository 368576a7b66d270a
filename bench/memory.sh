#!/usr/bin/env bash
# Memory and disk of a 3-node loopback cluster: each node's resident set
# (VmRSS, split into RssAnon, the heap and stacks, and RssFile, the pages
# of the binary and its libraries touched), and its data directory's size
# on disk, idle and after ROWS rows written in 1000-row requests.
#
# Usage: bench/memory.sh [RQLITED] [rqbench]   (default: build's)
#   ROWS=100000   rows written before the second measurement
#   EXTRA="-flag value ..."   passed to every node
set -euo pipefail
cd "$(dirname "$0")/.."
rqlited=${1:-build/src/cmd/rqlited}
rqbench=${2:-build/bench/rqbench}
ROWS=${ROWS:-100000}
work=$(mktemp -d "${TMPDIR:-/tmp}/rqmemory.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

base=$((10000 + RANDOM % 20000))
start_node() {  # id http raft [join]
  local id=$1 http=$2 raft=$3 join=${4:-}
  # shellcheck disable=SC2086
  "$rqlited" -node-id "$id" -http-addr 127.0.0.1:$http -raft-addr 127.0.0.1:$raft ${join:+-join $join} \
    ${EXTRA:-} "$work/n$id" >"$work/n$id.log" 2>&1 &
  pids+=($!)
  for _ in $(seq 200); do curl -sf "127.0.0.1:$http/readyz" >/dev/null 2>&1 && return; sleep 0.05; done
  echo "node $id did not become ready" >&2; cat "$work/n$id.log" >&2; exit 1
}
start_node 1 $base $((base + 1))
start_node 2 $((base + 2)) $((base + 3)) 127.0.0.1:$((base + 1))
start_node 3 $((base + 4)) $((base + 5)) 127.0.0.1:$((base + 1))

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$2/status"; }
report() {  # label
  local i=1 p
  for p in "${pids[@]}"; do
    printf '%-6s node %d  VmRSS %6.1f MB  RssAnon %5.1f  RssFile %5.1f  VmHWM %6.1f  data dir %6.1f MB\n' \
      "$1" $i "$(echo "$(kib VmRSS "$p") / 1024" | bc -l)" "$(echo "$(kib RssAnon "$p") / 1024" | bc -l)" \
      "$(echo "$(kib RssFile "$p") / 1024" | bc -l)" "$(echo "$(kib VmHWM "$p") / 1024" | bc -l)" \
      "$(echo "$(du -sk "$work/n$i" | cut -f1) / 1024" | bc -l)"
    i=$((i + 1))
  done
}

sleep 3
report idle
"$rqbench" -a 127.0.0.1:$base -n $((ROWS / 1000)) -b 1000 \
  -o "CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)" \
  "INSERT INTO foo(name) VALUES('fiona')" | grep -E '^Statements/sec' || true
for port in $base $((base + 2)) $((base + 4)); do  # every node has applied them
  for _ in $(seq 100); do
    n=$(curl -s -G "127.0.0.1:$port/db/query?level=none" --data-urlencode 'q=SELECT COUNT(*) FROM foo' |
      sed -E 's/.*"values":\[\[([0-9]+)\]\].*/\1/')
    [[ "$n" == "$ROWS" ]] && break
    sleep 0.1
  done
done
sleep 3
report "$((ROWS / 1000))k"
