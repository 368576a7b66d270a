// What this binary was built from: the release version, the git commit and
// branch of the checkout, and when that commit was first built. Defined in a
// file cmake/build_info.cmake generates (library rq_build_info), so only the
// programs that report it relink when the commit changes.
#pragma once

#include <string>

namespace rq {

struct BuildStamp {
  std::string version;     // "v0.1.0"
  std::string commit;      // full hash, or "unknown" outside a git checkout
  std::string branch;      // or "unknown"
  std::string build_time;  // RFC 3339, UTC
};

const BuildStamp& ThisBuild();

}  // namespace rq
