// The core's logging sink, injected so the simulator can capture lines per
// node and production can route them to spdlog at -raft-log-level.
#pragma once

#include <string_view>

namespace rq::raft {

class Logger {
 public:
  enum class Level { kDebug, kInfo, kWarn, kError };
  virtual ~Logger() = default;
  virtual void Log(Level level, std::string_view line) = 0;
  virtual bool Enabled(Level level) const { return level >= Level::kInfo; }
};

class NullLogger : public Logger {
 public:
  void Log(Level, std::string_view) override {}
  bool Enabled(Level) const override { return false; }
};

}  // namespace rq::raft
