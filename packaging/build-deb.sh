#!/usr/bin/env bash
# Builds the Debian package rqlite-cpp_<version>_<arch>.deb from binaries
# already built in BUILD_DIR: /usr/bin/rqlited and /usr/bin/rqlite
# (stripped), their man pages (help2man from -h), the systemd unit with its
# /etc/default/rqlited, and the licence, copyright and changelogs.
# Usage: packaging/build-deb.sh [BUILD_DIR] [OUT_DIR]   (defaults: build, build/packages)
# Prints the path of the .deb. Needs dpkg-deb, dpkg-shlibdeps (dpkg-dev)
# and help2man (scripts/install-deps.sh --tests installs them).
set -euo pipefail
source "$(dirname "$0")/common.sh"
packaging_paths build-deb "${1:-}" "${2:-}"
command -v help2man >/dev/null || { echo "build-deb: help2man is not installed" >&2; exit 1; }

# v0.1.0 -> 0.1.0
version=$("$rqlited" -version 2>&1 | sed -n 's/^rqlited v\([0-9][0-9.]*\) .*/\1/p')
[ -n "$version" ] || { echo "build-deb: cannot read the version from rqlited -version" >&2; exit 1; }
arch=$(dpkg --print-architecture)
package=rqlite-cpp

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
umask 022
pkg="$stage/pkg"
mkdir -p "$pkg/DEBIAN" "$pkg/usr/bin" "$pkg/usr/share/man/man1" "$pkg/usr/share/doc/$package" \
         "$pkg/lib/systemd/system" "$pkg/etc/default"

install -m 0755 "$rqlited" "$rqlite" "$pkg/usr/bin/"
strip --strip-unneeded --remove-section=.comment --remove-section=.note "$pkg/usr/bin/rqlited" "$pkg/usr/bin/rqlite"

# help2man reads --help and --version on stdout; rqlited prints both on
# stderr, as Go's flag package does, so a wrapper joins the streams.
man_page() {  # man_page NAME DESCRIPTION
  local name=$1 description=$2 wrapper="$stage/$1"
  printf '#!/bin/sh\nexec "%s" "$@" 2>&1\n' "$pkg/usr/bin/$name" >"$wrapper"
  chmod 755 "$wrapper"
  help2man --no-info --no-discard-stderr --name "$description" --version-string "$version" \
           --help-option=-h --output "$stage/$name.1" "$wrapper"
  gzip -9n -c "$stage/$name.1" >"$pkg/usr/share/man/man1/$name.1.gz"
}
man_page rqlited "distributed relational database built on SQLite and Raft"
man_page rqlite "command-line shell for rqlited"

install -m 0644 "$root/packaging/deb/rqlited.service" "$pkg/lib/systemd/system/rqlited.service"
install -m 0644 "$root/packaging/deb/rqlited.default" "$pkg/etc/default/rqlited"
install -m 0644 "$root/packaging/deb/copyright" "$pkg/usr/share/doc/$package/copyright"
gzip -9n -c "$root/CHANGELOG.md" >"$pkg/usr/share/doc/$package/CHANGELOG.md.gz"
# A native package's changelog, in Debian's format, from the commit made.
commit=$("$rqlited" -version 2>&1 | sed -n 's/.*(commit \([^,]*\),.*/\1/p')
date_r=$(date -R -u -d "@${SOURCE_DATE_EPOCH:-$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)}")
cat >"$stage/changelog" <<EOF
$package ($version) unstable; urgency=medium

  * Built from commit ${commit:0:12}; the changes are in CHANGELOG.md.gz.

 -- rqlite-cpp team <rqlite-cpp@lists.example.org>  $date_r
EOF
gzip -9n -c "$stage/changelog" >"$pkg/usr/share/doc/$package/changelog.gz"
for script in postinst prerm postrm; do
  install -m 0755 "$root/packaging/deb/$script" "$pkg/DEBIAN/$script"
done
echo "/etc/default/rqlited" >"$pkg/DEBIAN/conffiles"

# Shared-library dependencies as Debian computes them.
mkdir -p "$stage/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$package" "$package" >"$stage/shlibs/debian/control"
shlibs=$(cd "$stage/shlibs" && dpkg-shlibdeps -O "$pkg/usr/bin/rqlited" "$pkg/usr/bin/rqlite" 2>/dev/null |
         sed -n 's/^shlibs:Depends=//p')
[ -n "$shlibs" ] || { echo "build-deb: dpkg-shlibdeps found no dependencies" >&2; exit 1; }
# Loaded at run time (dlopen), so dpkg-shlibdeps cannot see them: libcurl for
# auto-backup, auto-restore, CDC and OTLP; libarchive for extension archives;
# gperftools for -cpu-profile.
shlibs="$shlibs, libcurl4 (>= 7.62), libarchive13, libgoogle-perftools4"

installed_kb=$(du -sk --exclude=DEBIAN "$pkg" | cut -f1)
cat >"$pkg/DEBIAN/control" <<EOF
Package: $package
Version: $version
Architecture: $arch
Maintainer: rqlite-cpp team <rqlite-cpp@lists.example.org>
Installed-Size: $installed_kb
Depends: $shlibs, adduser
Section: database
Priority: optional
Homepage: https://rqlite.io
Description: distributed relational database built on SQLite and Raft
 A drop-in implementation of rqlite's node (rqlited) and shell (rqlite) in
 C++: every node keeps a real SQLite database on disk, the nodes elect a
 leader with Raft and replicate every write, and clients use rqlite's HTTP
 API, flags and JSON unchanged.
 .
 The package installs a systemd unit, rqlited.service, that runs the node
 as the rqlite system user with its data in /var/lib/rqlited and its flags
 in /etc/default/rqlited.
EOF
(cd "$pkg" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) \
  >"$pkg/DEBIAN/md5sums"

deb="$out_dir/${package}_${version}_${arch}.deb"
dpkg-deb --root-owner-group -Zxz --build "$pkg" "$deb" >/dev/null
echo "$deb"
