#!/usr/bin/env bash
# The release tarball: built from this tree's binaries, it unpacks into one
# directory whose rqlited runs (-version names this build) and which holds
# the licence and the copyright files of the libraries linked.
# Usage: tests/packaging/test_tarball.sh BUILD_DIR
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "$1" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

tarball=$(bash "$root/packaging/release-tarball.sh" "$build_dir" "$work")
case "$(basename "$tarball")" in
  rqlite-cpp-v*-linux-*.tar.gz) ;;
  *) fail "unexpected name $(basename "$tarball")" ;;
esac
tar -C "$work" -xzf "$tarball"
dir="$work/$(basename "$tarball" .tar.gz)"
[ -d "$dir" ] || fail "the tarball does not unpack into $(basename "$dir")"
for f in rqlited rqlite LICENSE CHANGELOG.md licenses/libsqlite3-0.copyright licenses/libssl3.copyright; do
  [ -e "$dir/$f" ] || fail "$f is missing"
done
want=$("$build_dir/src/cmd/rqlited" -version 2>&1)
got=$("$dir/rqlited" -version 2>&1)
[ "$got" = "$want" ] || fail "rqlited -version says '$got', want '$want'"
"$dir/rqlite" -h >/dev/null || fail "rqlite -h failed"
echo "PASS: $(basename "$tarball")"
