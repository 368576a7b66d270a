// The web console's files (src/http/console/), compiled into the binary by
// cmake/embed_console.cmake and served under /console/.
#pragma once

#include <string_view>
#include <vector>

namespace rq::http {

struct ConsoleAsset {
  std::string_view name;          // "index.html", relative to /console/
  std::string_view content_type;
  std::string_view body;
};

const std::vector<ConsoleAsset>& ConsoleAssets();

}  // namespace rq::http
