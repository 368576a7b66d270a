#include "base/logging.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace rq::log {

bool SetLevel(std::string_view level) {
  std::string lower(level);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "debug") spdlog::set_level(spdlog::level::debug);
  else if (lower == "info") spdlog::set_level(spdlog::level::info);
  else if (lower == "warn" || lower == "warning") spdlog::set_level(spdlog::level::warn);
  else if (lower == "error") spdlog::set_level(spdlog::level::err);
  else return false;
  return true;
}

}  // namespace rq::log
