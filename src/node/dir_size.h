// The bytes of every regular file under a directory (for /status and
// /metrics); unreadable entries count as nothing.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace rq::node {

inline uint64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(dir, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace rq::node
