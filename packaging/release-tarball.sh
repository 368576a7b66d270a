#!/usr/bin/env bash
# Builds the release tarball rqlite-cpp-vX.Y.Z-linux-<arch>.tar.gz, laid out
# like rqlite's: one directory holding rqlited and rqlite (stripped), the
# licence, the changelog, the README and, under licenses/, the copyright
# file of every Debian package the binaries link against.
# Usage: packaging/release-tarball.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, build/packages)
# Prints the path of the tarball.
set -euo pipefail
source "$(dirname "$0")/common.sh"
packaging_paths release-tarball "${1:-}" "${2:-}"
version=$("$rqlited" -version 2>&1 | sed -n 's/^rqlited \(v[0-9][0-9.]*\) .*/\1/p')
[ -n "$version" ] || { echo "release-tarball: cannot read the version from rqlited -version" >&2; exit 1; }
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
name="rqlite-cpp-$version-linux-$arch"

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022
dir="$stage/$name"
mkdir -p "$dir/licenses"
install -m 0755 "$rqlited" "$rqlite" "$dir/"
strip --strip-unneeded "$dir/rqlited" "$dir/rqlite"
install -m 0644 "$root/LICENSE" "$root/CHANGELOG.md" "$root/README.md" "$dir/"

# The packages that provide the shared libraries the binaries load.
libraries=$(ldd "$dir/rqlited" "$dir/rqlite" | awk '/=> \//{print $3}' | sort -u)
packages=$(for lib in $libraries; do
             dpkg -S "$(readlink -f "$lib")" 2>/dev/null || dpkg -S "$lib" 2>/dev/null || true
           done | cut -d: -f1 | sort -u)
for package in $packages; do
  copyright="/usr/share/doc/$package/copyright"
  [ -f "$copyright" ] && install -m 0644 "$copyright" "$dir/licenses/$package.copyright"
done
[ -n "$(ls "$dir/licenses")" ] || { echo "release-tarball: found no licence files" >&2; exit 1; }

tarball="$out_dir/$name.tar.gz"
tar -C "$stage" --owner=0 --group=0 --numeric-owner --sort=name -czf "$tarball" "$name"
echo "$tarball"
