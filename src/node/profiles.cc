#include "node/profiles.h"

#include <gperftools/profiler.h>
#include <malloc.h>
#include <sqlite3.h>

#include <cstdio>
#include <fstream>
#include <sstream>

#include "base/logging.h"

namespace rq::node {

namespace {

// A million spans: about 100 MB at most, minutes of a busy node.
constexpr size_t kTraceEventsMax = 1'000'000;

// Creates (or empties) path now, so a bad path fails the start rather than
// the shutdown.
Status Touch(const std::string& path, const char* flag) {
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (file == nullptr) return Status::InvalidArgument(std::string(flag) + ": cannot create " + path);
  std::fclose(file);
  return Status::OK();
}

void WriteMemoryReport(const std::string& path) {
  std::FILE* out = std::fopen(path.c_str(), "w");
  if (out == nullptr) {
    RQ_LOG_ERROR("-mem-profile: cannot write {}", path);
    return;
  }
  std::fprintf(out, "# rqlited memory at shutdown\n\n## process (/proc/self/status)\n");
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("Vm", 0) == 0 || line.rfind("Rss", 0) == 0 || line.rfind("Threads", 0) == 0) {
      std::fprintf(out, "%s\n", line.c_str());
    }
  }
  std::fprintf(out, "\n## SQLite allocator\nsqlite3_memory_used %lld\nsqlite3_memory_highwater %lld\n",
               static_cast<long long>(sqlite3_memory_used()), static_cast<long long>(sqlite3_memory_highwater(0)));
  struct mallinfo2 info = mallinfo2();
  std::fprintf(out,
               "\n## glibc malloc (mallinfo2)\narena_bytes %zu\nmmap_bytes %zu\nin_use_bytes %zu\nfree_bytes %zu\n"
               "releasable_bytes %zu\n\n## glibc malloc_info\n",
               info.arena, info.hblkhd, info.uordblks, info.fordblks, info.keepcost);
  malloc_info(0, out);
  std::fclose(out);
}

}  // namespace

Status Profiles::Start(const ProfileFiles& files) {
  files_ = files;
  stopped_ = false;
  if (!files.cpu.empty()) {
    RQ_RETURN_IF_ERROR(Touch(files.cpu, "-cpu-profile"));
    if (ProfilerStart(files.cpu.c_str()) == 0) {
      return Status::InvalidArgument("-cpu-profile: the CPU profiler did not start on " + files.cpu);
    }
    cpu_running_ = true;
    RQ_LOG_INFO("CPU profile to {} (pprof format, written at shutdown)", files.cpu);
  }
  if (!files.mem.empty()) {
    RQ_RETURN_IF_ERROR(Touch(files.mem, "-mem-profile"));
    RQ_LOG_INFO("memory report to {} at shutdown", files.mem);
  }
  if (!files.trace.empty()) {
    RQ_RETURN_IF_ERROR(Touch(files.trace, "-trace-profile"));
    trace_ = std::make_unique<metrics::TraceRecorder>(kTraceEventsMax);
    metrics::SetActiveTrace(trace_.get());
    RQ_LOG_INFO("trace (Chrome trace-event JSON) to {} at shutdown", files.trace);
  }
  return Status::OK();
}

void Profiles::Stop() {
  if (stopped_) return;
  stopped_ = true;
  if (cpu_running_) {
    ProfilerStop();
    cpu_running_ = false;
    RQ_LOG_INFO("CPU profile written to {}", files_.cpu);
  }
  if (!files_.mem.empty()) {
    WriteMemoryReport(files_.mem);
    RQ_LOG_INFO("memory report written to {}", files_.mem);
  }
  if (trace_) {
    metrics::SetActiveTrace(nullptr);
    // Spans in flight may still hold the pointer: they finish under the
    // recorder's mutex, which ToJson takes too; the recorder lives on.
    std::ofstream out(files_.trace, std::ios::trunc);
    out << trace_->ToJson();
    RQ_LOG_INFO("trace written to {} ({} events dropped)", files_.trace, trace_->dropped());
  }
}

}  // namespace rq::node
