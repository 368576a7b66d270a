// Logging goes through spdlog. Modules log through rq::log::Get(), which is
// the process-wide default logger configured once by main(). The Raft core
// does not use this: it receives a Logger& (raft/logger.h) so the simulator
// can capture its lines.
#pragma once

#include <spdlog/spdlog.h>

#include <string_view>

namespace rq::log {

// level: "debug", "info", "warn" or "error" (case-insensitive). Returns false
// for anything else.
bool SetLevel(std::string_view level);

}  // namespace rq::log

#define RQ_LOG_DEBUG(...) SPDLOG_DEBUG(__VA_ARGS__)
#define RQ_LOG_INFO(...) spdlog::info(__VA_ARGS__)
#define RQ_LOG_WARN(...) spdlog::warn(__VA_ARGS__)
#define RQ_LOG_ERROR(...) spdlog::error(__VA_ARGS__)
