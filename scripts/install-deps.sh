#!/usr/bin/env bash
# Installs every Debian 12 package the build and the benchmarks need; with
# --tests also what only the tests use: real servers (etcd, Prometheus,
# whose system services are then stopped and disabled: the tests start
# their own), boto3 for reading S3 objects back, and from the npm registry
# under $RQ_TEST_NPM_PREFIX: s3rver (an S3-compatible server) and
# sqlite-vec's Linux build (vec0.so, a SQLite extension).
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
  libcurl4-openssl-dev libgrpc++-dev protobuf-compiler-grpc libarchive-dev
  libgoogle-perftools-dev
  python3 curl procps
  valgrind
)
test_packages=(etcd-server prometheus python3-boto3 lintian help2man chromium chromium-driver python3-selenium sqlite3-pcre libsqlite3-mod-spatialite google-perftools)
# npm packages the tests start, and where they go (tests look there too).
npm_prefix=${RQ_TEST_NPM_PREFIX:-/usr/local/lib/rqlite-cpp-tests}
npm_packages=(s3rver@3.7.1 sqlite-vec-linux-x64@0.1.9)
with_tests=0
if [ "${1:-}" = "--tests" ]; then
  with_tests=1
  packages+=("${test_packages[@]}")
  command -v npm >/dev/null || packages+=(nodejs npm)
fi

install_npm_packages() {
  [ "$with_tests" -eq 1 ] || return 0
  local missing_npm=() p
  for p in "${npm_packages[@]}"; do
    [ -f "$npm_prefix/node_modules/${p%@*}/package.json" ] || missing_npm+=("$p")
  done
  [ ${#missing_npm[@]} -eq 0 ] && return 0
  mkdir -p "$npm_prefix"
  npm install --prefix "$npm_prefix" --no-audit --no-fund --loglevel=error "${missing_npm[@]}"
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  install_npm_packages
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
if [ "$with_tests" -eq 1 ] && command -v systemctl >/dev/null && systemctl is-enabled prometheus.service >/dev/null 2>&1; then
  $SUDO systemctl disable --now prometheus.service >/dev/null 2>&1 || true
fi
install_npm_packages
