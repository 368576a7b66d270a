#!/usr/bin/env bash
# Installs dependencies, builds, and starts one rqlited node on ~/node.1
# (HTTP localhost:4001, Raft localhost:4002). Extra arguments go to rqlited.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh
cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"${JOBS:-2}" --target rqlited rqlite
exec ./build/src/cmd/rqlited -node-id 1 "$@" "${DATA_DIR:-$HOME/node.1}"
