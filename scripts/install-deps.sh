#!/usr/bin/env bash
# Installs every Debian 12 package the build and the benchmarks need; with
# --tests also what only the tests use (a real etcd server, whose system
# service is then stopped and disabled: the tests start their own).
# Idempotent: a second run on a ready machine only checks.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libboost1.81-dev libboost-program-options1.81-dev libboost-json1.81-dev
  libboost-url1.81-dev
  libsqlite3-dev sqlite3 libssl-dev zlib1g-dev
  libprotobuf-dev protobuf-compiler
  libedit-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  python3 curl procps
)
test_packages=(etcd-server)
with_tests=0
if [ "${1:-}" = "--tests" ]; then with_tests=1; packages+=("${test_packages[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
if [ "$with_tests" -eq 1 ] && command -v systemctl >/dev/null && systemctl is-enabled etcd.service >/dev/null 2>&1; then
  $SUDO systemctl disable --now etcd.service >/dev/null 2>&1 || true
fi
