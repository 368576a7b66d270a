// Containing exceptions at the top of a thread. An exception that leaves a
// thread's entry calls std::terminate and takes the whole node down, so one
// request's or one connection's fault (a Boost limit, a bad_alloc, a bug in
// one handler) would stop every client's service. These wrappers log it
// once, with what was running, and carry on. The apply thread is the one
// exception to the rule: it stops the node on a committed entry it cannot
// apply (store/store_apply.cc), and does not use them.
#pragma once

#include <exception>
#include <string_view>
#include <utility>

#include "base/logging.h"

namespace rq {

// Logs the exception in flight as "`what` failed: ..." (call inside catch).
inline void LogCurrentException(std::string_view what) {
  try {
    throw;
  } catch (const std::exception& e) {
    RQ_LOG_ERROR("{} failed: {}", what, e.what());
  } catch (...) {
    RQ_LOG_ERROR("{} failed: unknown exception", what);
  }
}

// Calls fn(); an exception it lets out is logged and swallowed. Returns
// false if it threw.
template <class Fn>
bool CallContained(std::string_view what, Fn&& fn) {
  try {
    std::forward<Fn>(fn)();
    return true;
  } catch (...) {
    LogCurrentException(what);
    return false;
  }
}

// Runs an Asio io_context until it returns normally. When a completion
// handler throws, run() returns by exception with the handler gone (its
// connection closes as its last owner goes); the others stay queued, and
// Asio allows run() to be called again to go on with them.
template <class IoContext>
void RunContained(IoContext& io, std::string_view what) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (...) {
      LogCurrentException(what);
    }
  }
}

}  // namespace rq
