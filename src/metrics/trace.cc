#include "metrics/trace.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdio>

namespace rq::metrics {

namespace {

std::atomic<TraceRecorder*> active{nullptr};

int32_t ThisThread() {
  thread_local const int32_t id = static_cast<int32_t>(::syscall(SYS_gettid));
  return id;
}

void AppendEscaped(std::string* out, std::string_view text) {
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out->push_back('\\');
      out->push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out->append(buf);
    } else {
      out->push_back(c);
    }
  }
}

}  // namespace

TraceRecorder* ActiveTrace() { return active.load(std::memory_order_relaxed); }
void SetActiveTrace(TraceRecorder* recorder) { active.store(recorder, std::memory_order_release); }

TraceRecorder::TraceRecorder(size_t max_events) : origin_(std::chrono::steady_clock::now()), max_events_(max_events) {}

void TraceRecorder::Span(const char* category, std::string_view name, std::chrono::steady_clock::time_point start,
                         std::chrono::nanoseconds duration, int status) {
  Event event{category, std::string(name), std::chrono::duration_cast<std::chrono::nanoseconds>(start - origin_).count(),
              duration.count(), ThisThread(), status};
  std::lock_guard lock(mutex_);
  if (events_.size() >= max_events_) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  events_.push_back(std::move(event));
}

std::string TraceRecorder::ToJson() const {
  std::lock_guard lock(mutex_);
  const std::string pid = std::to_string(::getpid());
  std::string out = "{\"displayTimeUnit\":\"ms\",\"traceEvents\":[";
  out += "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":" + pid +
         ",\"tid\":0,\"args\":{\"name\":\"rqlited\"}}";
  char number[64];
  for (const Event& e : events_) {
    out += ",{\"name\":\"";
    AppendEscaped(&out, e.name);
    out += "\",\"cat\":\"";
    AppendEscaped(&out, e.category);
    // Complete events ("X"), in microseconds with nanosecond precision.
    std::snprintf(number, sizeof number, "\",\"ph\":\"X\",\"ts\":%.3f,\"dur\":%.3f", e.start_ns / 1e3,
                  e.duration_ns / 1e3);
    out += number;
    out += ",\"pid\":" + pid + ",\"tid\":" + std::to_string(e.thread);
    if (e.status >= 0) out += ",\"args\":{\"status\":" + std::to_string(e.status) + "}";
    out += "}";
  }
  out += "],\"otherData\":{\"dropped_events\":" + std::to_string(dropped()) + "}}";
  return out;
}

}  // namespace rq::metrics
