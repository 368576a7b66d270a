#include "node/profiles.h"

#include <dlfcn.h>
#include <malloc.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "base/logging.h"
#include "base/shared_library.h"

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

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;  // their allocator and tcmalloc cannot both own the heap
#else
constexpr bool kSanitized = false;
#endif
constexpr const char* kTcmalloc = "libtcmalloc.so.4";
constexpr const char* kReexecMarker = "RQLITED_HEAP_PROFILER_REEXEC";

// gperftools' heap profiler, present only when tcmalloc is the allocator
// (found at run time: rqlited does not link tcmalloc).
struct HeapProfiler {
  void (*start)(const char* prefix) = nullptr;
  void (*stop)() = nullptr;
  char* (*get)() = nullptr;  // the profile's text, malloc'd
  bool available() const { return start != nullptr && stop != nullptr && get != nullptr; }
};

HeapProfiler FindHeapProfiler() {
  HeapProfiler h;
  h.start = reinterpret_cast<void (*)(const char*)>(dlsym(RTLD_DEFAULT, "HeapProfilerStart"));
  h.stop = reinterpret_cast<void (*)()>(dlsym(RTLD_DEFAULT, "HeapProfilerStop"));
  h.get = reinterpret_cast<char* (*)()>(dlsym(RTLD_DEFAULT, "GetHeapProfile"));
  return h;
}

// gperftools' CPU profiler, loaded when -cpu-profile is set (linked, its
// library and libunwind would load into every node).
struct CpuProfiler {
  int (*start)(const char* file) = nullptr;  // 0: did not start
  void (*stop)() = nullptr;
};

Result<CpuProfiler> BindCpuProfiler() {
  Result<SharedLibrary> library = SharedLibrary::Open("libprofiler.so.0");
  if (!library.ok()) return library.status();
  CpuProfiler p;
  RQ_RETURN_IF_ERROR(library->Bind("ProfilerStart", &p.start));
  RQ_RETURN_IF_ERROR(library->Bind("ProfilerStop", &p.stop));
  return p;
}

Result<const CpuProfiler*> LoadCpuProfiler() { return LoadOnce<CpuProfiler, BindCpuProfiler>(); }

std::string ProcStatusLine(const char* key) {
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind(key, 0) == 0) {
      const size_t value = line.find_first_not_of(" \t", line.find(':') + 1);
      return value == std::string::npos ? "" : line.substr(value);
    }
  }
  return "?";
}

// Bytes the program holds from the allocator: tcmalloc's count when it is
// the allocator, else glibc's.
size_t HeapBytesInUse() {
  using GetProperty = int (*)(const char*, size_t*);
  auto get = reinterpret_cast<GetProperty>(dlsym(RTLD_DEFAULT, "MallocExtension_GetNumericProperty"));
  size_t bytes = 0;
  if (get != nullptr && get("generic.current_allocated_bytes", &bytes) != 0) return bytes;
  return mallinfo2().uordblks;
}

void LogMemorySummary() {
  RQ_LOG_INFO("memory at shutdown: VmRSS {}, VmHWM {}, heap in use {} bytes", ProcStatusLine("VmRSS"),
              ProcStatusLine("VmHWM"), HeapBytesInUse());
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

void RunWithHeapProfiler(char** argv) {
  if (kSanitized || FindHeapProfiler().available()) return;
  // Tried once already: the loader could not preload tcmalloc.
  if (std::getenv(kReexecMarker) != nullptr) return;
  std::string preload = kTcmalloc;
  if (const char* other = std::getenv("LD_PRELOAD"); other != nullptr && *other != '\0') {
    preload += std::string(":") + other;
  }
  setenv(kReexecMarker, "1", 1);
  setenv("LD_PRELOAD", preload.c_str(), 1);
  // One profile, written at shutdown: no dumps along the way.
  setenv("HEAP_PROFILE_ALLOCATION_INTERVAL", "0", 0);
  setenv("HEAP_PROFILE_INUSE_INTERVAL", "0", 0);
  // By its real path, so the process keeps its name (pkill rqlited, ps).
  char self[4096];
  const ssize_t length = readlink("/proc/self/exe", self, sizeof(self) - 1);
  if (length > 0) {
    self[length] = '\0';
    execv(self, argv);
  }
  // exec failed: go on without the heap profiler (Profiles::Start says so).
  unsetenv("LD_PRELOAD");
}

Status Profiles::Start(const ProfileFiles& files) {
  files_ = files;
  stopped_ = false;
  if (!files.cpu.empty()) {
    RQ_RETURN_IF_ERROR(Touch(files.cpu, "-cpu-profile"));
    Result<const CpuProfiler*> profiler = LoadCpuProfiler();
    if (!profiler.ok()) return Status::InvalidArgument("-cpu-profile: " + profiler.status().message());
    if ((*profiler)->start(files.cpu.c_str()) == 0) {
      return Status::InvalidArgument("-cpu-profile: the CPU profiler did not start on " + files.cpu);
    }
    cpu_running_ = true;
    RQ_LOG_INFO("CPU profile to {} (pprof format, written at shutdown)", files.cpu);
  }
  if (!files.mem.empty()) {
    RQ_RETURN_IF_ERROR(Touch(files.mem, "-mem-profile"));
    HeapProfiler heap = FindHeapProfiler();
    // tcmalloc is in: whatever this process starts need not preload it.
    if (std::getenv(kReexecMarker) != nullptr) unsetenv("LD_PRELOAD");
    if (heap.available()) {
      heap.start(files.mem.c_str());
      heap_running_ = true;
      RQ_LOG_INFO("heap profile (gperftools, under tcmalloc) to {} at shutdown", files.mem);
    } else {
      RQ_LOG_WARN("-mem-profile: no heap profiler ({}); writing a text memory report to {} at shutdown instead",
                  kSanitized ? "a sanitizer build cannot run tcmalloc" : std::string(kTcmalloc) + " did not load",
                  files.mem);
    }
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
    (*LoadCpuProfiler())->stop();  // loaded: it started
    cpu_running_ = false;
    RQ_LOG_INFO("CPU profile written to {}", files_.cpu);
  }
  if (!files_.mem.empty()) {
    LogMemorySummary();
    HeapProfiler heap = FindHeapProfiler();
    if (heap_running_ && heap.available()) {
      char* profile = heap.get();
      std::ofstream out(files_.mem, std::ios::trunc | std::ios::binary);
      if (profile != nullptr) out << profile;
      std::free(profile);
      heap.stop();
      heap_running_ = false;
      RQ_LOG_INFO("heap profile written to {}", files_.mem);
    } else {
      WriteMemoryReport(files_.mem);
      RQ_LOG_INFO("memory report written to {}", files_.mem);
    }
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
