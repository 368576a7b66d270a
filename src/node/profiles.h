// Profiles: rqlite's -cpu-profile, -mem-profile and -trace-profile, each
// written to its file for the node's lifetime (started first, written at
// shutdown), with the tools a C++ program has:
//   -cpu-profile FILE    gperftools' sampling CPU profiler (libprofiler,
//                        100 samples/s), pprof's format: read it with
//                        `google-pprof --text /path/to/rqlited FILE`;
//   -mem-profile FILE    at shutdown, a text report: the process's memory
//                        (/proc/self/status), SQLite's allocator counters,
//                        and glibc's heap statistics per arena (malloc_info
//                        XML);
//   -trace-profile FILE  Chrome trace-event JSON of every HTTP request and
//                        every log fsync (metrics/trace.h), for Perfetto.
// A file that cannot be created stops the start, naming it.
//
// Thread-safety: Start and Stop from the thread that starts the node.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "metrics/trace.h"

namespace rq::node {

struct ProfileFiles {
  std::string cpu;
  std::string mem;
  std::string trace;
};

class Profiles {
 public:
  Profiles() = default;
  ~Profiles() { Stop(); }
  Profiles(const Profiles&) = delete;
  Profiles& operator=(const Profiles&) = delete;

  Status Start(const ProfileFiles& files);
  // Writes what is due; safe to call twice.
  void Stop();

 private:
  ProfileFiles files_;
  bool cpu_running_ = false;
  std::unique_ptr<metrics::TraceRecorder> trace_;
  bool stopped_ = true;
};

}  // namespace rq::node
