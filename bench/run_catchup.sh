#!/usr/bin/env bash
# Catch-up benchmark: how long a node joining a leader with a large database
# (default 1 GiB; the log compacted, so it must take the snapshot path) needs
# until its db.sqlite holds every row, in MB/s, next to the time `cp` + fsync
# of the leader's db.sqlite takes on the same disk in the same run.
# Usage: bench/run_catchup.sh [build-dir] [MiB]   (defaults: build 1024)
# Needs free disk of about 3x the size (leader, new node, cp baseline).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
mb=${2:-1024}
rqlited=$build/src/cmd/rqlited
[ -x "$rqlited" ] || { echo "no $rqlited; build the rqlited target first" >&2; exit 1; }
out=$(mktemp "${TMPDIR:-/tmp}/rqcatchup.XXXXXX")
trap 'rm -f "$out"' EXIT
if ! python3 tests/e2e/test_catchup.py --rqlited "$rqlited" --mb "$mb" --timeout 1800 --report \
    --allow-second-transfer CatchupTest.test_new_node_receives_snapshot_then_tail_and_survives_kill9 >"$out" 2>&1; then
  tail -40 "$out" >&2
  exit 1
fi
grep '^catch-up:' "$out"
