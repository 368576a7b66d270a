// Private to store*.cc: the few helpers more than one part of Store uses.
// Not part of the module's API.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <string>
#include <utility>

#include "command/types.h"

namespace rq::store::internal {

using SteadyClock = std::chrono::steady_clock;

// Reads waiting for ?sync_index at once; more are answered Busy, so that
// clients asking for indexes that never come cannot grow the node's memory.
inline constexpr size_t kSyncReadsMax = 4096;
// Likewise for follower reads waiting for the next read-index request.
inline constexpr size_t kReadIndexWaitersMax = 4096;

// now + d, with d capped at a day: a client's ?timeout=100000h must not
// overflow the clock into the past.
inline SteadyClock::time_point DeadlineAfter(std::chrono::nanoseconds d) {
  const auto capped = std::min<std::chrono::nanoseconds>(d, std::chrono::hours(24));
  return SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(capped);
}

inline command::Response ErrorResponse(std::string message) {
  command::Response response;
  response.error = std::move(message);
  return response;
}

// Stops the process at once, saying why on the log and on stderr. For
// failures after which going on could make this replica wrong; a restart
// recovers from the durable state (snapshot, intent, log).
[[noreturn]] void StopNode(const std::string& why);

}  // namespace rq::store::internal
