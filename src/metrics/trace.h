// TraceRecorder: spans (a name, a start, a duration, the thread) kept for
// -trace-profile and written at shutdown as Chrome trace-event JSON, which
// Perfetto (ui.perfetto.dev) and chrome://tracing open. rqlite's flag of the
// same name writes a Go execution trace; this is the same idea with the
// tools C++ users have: where the time of each request and each log fsync
// went, thread by thread.
//
// Off unless a recorder is installed (SetActiveTrace): then a span costs one
// relaxed load; on, a mutex-guarded append. At most max_events are kept; the
// rest are counted as dropped.
//
// Thread-safety: Span and ToJson are safe from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace rq::metrics {

class TraceRecorder {
 public:
  explicit TraceRecorder(size_t max_events);
  TraceRecorder(const TraceRecorder&) = delete;
  TraceRecorder& operator=(const TraceRecorder&) = delete;

  // `name` and `category` must outlive the recorder (string literals, or
  // names the caller keeps); `status` goes into the span's args when >= 0.
  void Span(const char* category, std::string_view name, std::chrono::steady_clock::time_point start,
            std::chrono::nanoseconds duration, int status = -1);

  std::string ToJson() const;
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  struct Event {
    const char* category;
    std::string name;
    int64_t start_ns;  // since origin_
    int64_t duration_ns;
    int32_t thread;
    int32_t status;
  };
  const std::chrono::steady_clock::time_point origin_;
  const size_t max_events_;
  mutable std::mutex mutex_;
  std::vector<Event> events_;  // GUARDED_BY(mutex_)
  std::atomic<uint64_t> dropped_{0};
};

// The process's recorder, or nullptr (the default): tracing off.
TraceRecorder* ActiveTrace();
void SetActiveTrace(TraceRecorder* recorder);

}  // namespace rq::metrics
