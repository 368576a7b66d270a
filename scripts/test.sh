#!/usr/bin/env bash
# Installs dependencies, builds everything and runs every test (what CI runs).
# Usage: scripts/test.sh [extra ctest args]
# Env: BUILD_DIR (default build), RQ_SANITIZE (address|undefined|thread), JOBS (default 2).
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --tests
# Includes against the layer map (DESIGN.md section 2) before spending a build.
bash scripts/check-layers.sh

build_dir=${BUILD_DIR:-build}
jobs=${JOBS:-2}
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRQ_SANITIZE="${RQ_SANITIZE:-}" >/dev/null
cmake --build "$build_dir" -j"$jobs"
ctest --test-dir "$build_dir" -j"$jobs" --output-on-failure --timeout 900 "$@"
