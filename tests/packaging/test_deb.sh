#!/usr/bin/env bash
# The Debian package, built from this tree's binaries and installed for real:
# lintian reports no error, dpkg -i installs it (the rqlite user, the unit),
# systemd-analyze verify accepts the unit, /usr/bin/rqlited -version names
# this build, the installed binary runs as the rqlite user and stops cleanly
# on SIGTERM (exit 0), and dpkg -r / -P remove it again.
# Usage: tests/packaging/test_deb.sh BUILD_DIR. Exits 77 (skipped) when not
# root, or when the machine already has a /usr/bin/rqlited of its own.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
build_dir=$(cd "$1" && pwd)

skip() { echo "SKIP: $*"; exit 77; }
[ "$(id -u)" -eq 0 ] || skip "installing a package needs root"
command -v dpkg-deb >/dev/null || skip "dpkg-deb not found"
if [ -e /usr/bin/rqlited ] && ! dpkg -S /usr/bin/rqlited 2>/dev/null | grep -q '^rqlite-cpp:'; then
  skip "/usr/bin/rqlited exists and is not ours"
fi

work=$(mktemp -d)
node_pid=""
cleanup() {
  [ -n "$node_pid" ] && kill -9 "$node_pid" 2>/dev/null || true
  dpkg -P rqlite-cpp >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

deb=$(bash "$root/packaging/build-deb.sh" "$build_dir" "$work")
echo "built $deb"

if command -v lintian >/dev/null; then
  lintian --fail-on error --suppress-tags maintainer-script-calls-systemctl "$deb" 2>&1 | grep -v 'root privileges' || true
  lintian --fail-on error "$deb" >/dev/null 2>&1 || fail "lintian reports errors"
  echo "lintian: no errors"
else
  echo "lintian not installed: not checked (scripts/install-deps.sh --tests installs it)"
fi

# What rqlited loads at run time is no linked library: the package must name it.
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libcurl4 libarchive13 libgoogle-perftools4; do
  case "$depends" in *"$lib"*) ;; *) fail "Depends lacks $lib (loaded at run time): $depends";; esac
done

dpkg -i "$deb" >/dev/null || fail "dpkg -i failed"
[ -x /usr/bin/rqlited ] && [ -x /usr/bin/rqlite ] || fail "binaries not installed"
getent passwd rqlite >/dev/null || fail "no rqlite system user"
[ -f /etc/default/rqlited ] || fail "no /etc/default/rqlited"
[ -f /usr/share/man/man1/rqlited.1.gz ] || fail "no man page"
zcat /usr/share/man/man1/rqlited.1.gz | grep -qF 'raft\-snap' || fail "the man page lacks the flags"

want=$("$build_dir/src/cmd/rqlited" -version 2>&1)
got=$(/usr/bin/rqlited -version 2>&1)
[ "$got" = "$want" ] || fail "/usr/bin/rqlited -version says '$got', want '$want'"
echo "$got"

if command -v systemd-analyze >/dev/null; then
  verify=$(systemd-analyze verify /lib/systemd/system/rqlited.service 2>&1) || fail "systemd-analyze verify: $verify"
  [ -z "$verify" ] || fail "systemd-analyze verify complains: $verify"
  echo "systemd-analyze verify: accepted"
else
  echo "systemd-analyze not found: the unit is not verified"
fi

# The installed node, as the unit runs it: the rqlite user, flags from
# /etc/default/rqlited's form, a state directory it owns; SIGTERM stops it
# with status 0.
port() { python3 -c 'import socket,random
while True:
    p=random.randrange(10000,32000); s=socket.socket()
    try: s.bind(("127.0.0.1",p)); s.close(); print(p); break
    except OSError: pass'; }
http_port=$(port); raft_port=$(port)
mkdir -p "$work/state" && chown rqlite:rqlite "$work/state" && chmod 755 "$work"
setpriv --reuid=rqlite --regid=rqlite --init-groups /usr/bin/rqlited -node-id 1 -http-addr "127.0.0.1:$http_port" \
  -raft-addr "127.0.0.1:$raft_port" "$work/state" >"$work/node.log" 2>&1 &
node_pid=$!
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$http_port/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -sf -XPOST "http://127.0.0.1:$http_port/db/execute" -H 'Content-Type: application/json' \
  -d '["CREATE TABLE foo (id INTEGER PRIMARY KEY, name TEXT)", "INSERT INTO foo(name) VALUES(\"fiona\")"]' \
  >/dev/null || { cat "$work/node.log"; fail "the installed node did not take a write"; }
kill -TERM "$node_pid"
status=0
wait "$node_pid" || status=$?
node_pid=""
[ "$status" -eq 0 ] || { cat "$work/node.log"; fail "rqlited exited $status after SIGTERM"; }
[ "$(stat -c %U "$work/state/db.sqlite")" = rqlite ] || fail "db.sqlite is not owned by rqlite"
[ "$(sqlite3 "file:$work/state/db.sqlite?mode=ro" 'SELECT name FROM foo')" = fiona ] || fail "the row is not in db.sqlite"
echo "installed node: served a write, stopped cleanly on SIGTERM"

dpkg -r rqlite-cpp >/dev/null || fail "dpkg -r failed"
[ ! -e /usr/bin/rqlited ] || fail "/usr/bin/rqlited left after dpkg -r"
[ -f /etc/default/rqlited ] || fail "dpkg -r removed the conffile (only purge should)"
dpkg -P rqlite-cpp >/dev/null || fail "dpkg -P failed"
[ ! -f /etc/default/rqlited ] || fail "/etc/default/rqlited left after purge"
echo "PASS: package built, installed, run and removed"
