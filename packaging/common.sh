# Sourced by build-deb.sh and release-tarball.sh: sets root, build_dir,
# out_dir (made), rqlited and rqlite from the script's two optional
# arguments, and stops when the binaries are not built.
# Usage: packaging_paths NAME [BUILD_DIR] [OUT_DIR]
packaging_paths() {
  local name=$1
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  build_dir=$(cd "${2:-$root/build}" && pwd)
  out_dir=${3:-$build_dir/packages}
  mkdir -p "$out_dir"
  out_dir=$(cd "$out_dir" && pwd)
  rqlited="$build_dir/src/cmd/rqlited"
  rqlite="$build_dir/src/cmd/rqlite"
  local binary
  for binary in "$rqlited" "$rqlite"; do
    [ -x "$binary" ] || { echo "$name: $binary is missing: build first" >&2; exit 1; }
  done
}
