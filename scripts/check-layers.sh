#!/usr/bin/env bash
# Checks every #include "module/..." in src/ against the layer map in
# DESIGN.md section 2: a module may include its own headers and those of the
# modules below it (the map's arrows, followed transitively), nothing above.
# Prints file:line and the offending include for each violation; exits 1 if
# there is one. Usage: scripts/check-layers.sh [src-dir]
set -euo pipefail
src=${1:-"$(dirname "$0")/../src"}

# Direct edges, "module: what it may include". command/ (the request
# vocabulary: statements, results, the log-entry codec) sits beside base/
# as something every layer that speaks requests may use.
declare -A edges=(
  [cmd]="node config cli client"
  [node]="config http disco backup cdc upgrade store cluster command"
  [cli]="client"
  [client]="base"
  [http]="command base"
  [config]="base"
  [disco]="base"
  [backup]="base"
  [cdc]="command base"
  [upgrade]="wal db env"
  [store]="raft wal db cluster command env"
  [cluster]="raft command env"
  [raft]="base"
  [wal]="env"
  [db]="command env"
  [command]="base"
  [env]="base"
  [metrics]="base"
  [base]=""
)
# Anyone may count.
leaf_for_all="metrics"

declare -A allowed=()
closure() {  # closure MODULE -> every module reachable from it
  local start=$1 queue=("$1") seen=" $1 " m n
  while [ ${#queue[@]} -gt 0 ]; do
    m=${queue[0]}; queue=("${queue[@]:1}")
    for n in ${edges[$m]:-}; do
      case "$seen" in *" $n "*) ;; *) seen+="$n "; queue+=("$n");; esac
    done
  done
  echo "$seen"
}
for m in "${!edges[@]}"; do allowed[$m]="$(closure "$m") $leaf_for_all "; done

status=0
while IFS= read -r file; do
  rel=${file#"$src"/}
  module=${rel%%/*}
  if [ -z "${edges[$module]+x}" ]; then
    echo "$rel: module '$module' is not in the layer map (scripts/check-layers.sh, DESIGN.md section 2)"
    status=1
    continue
  fi
  while IFS=: read -r line include; do
    target=${include#*\"}; target=${target%%/*}
    [ "$target" = "${include#*\"}" ] && continue   # "foo.h": same directory
    [ "$target" = "$module" ] && continue
    case "${allowed[$module]}" in
      *" $target "*) ;;
      *) echo "$rel:$line: $module/ may not include $target/ (${include//[[:space:]]/ })"; status=1;;
    esac
  done < <(grep -n '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$file" | sed 's/^\([0-9]*\):[[:space:]]*#[[:space:]]*include[[:space:]]*/\1:/')
done < <(find "$src" -mindepth 2 -type f \( -name '*.h' -o -name '*.cc' \) | sort)

if [ $status -eq 0 ]; then echo "check-layers: every #include in $(cd "$src" && pwd) follows the layer map"; fi
exit $status
