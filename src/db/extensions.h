// -extensions-path: the shared libraries a node loads into every SQLite
// connection, found as rqlite finds them. Each comma-separated entry is a
// library file (loaded itself), a directory (every regular file in it, by
// name), or a .zip / .tar.gz / .tgz archive (its regular files unpacked,
// flattened to their base names, into a directory of the node's own, then
// loaded by name). Archives are read with libarchive; an entry that is
// neither, or an archive that cannot be read, is an error naming it.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"

namespace rq::db {

// `unpack_dir` receives one subdirectory per archive (emptied first).
Result<std::vector<std::string>> ResolveExtensions(const std::vector<std::string>& entries,
                                                    const std::string& unpack_dir);

}  // namespace rq::db
