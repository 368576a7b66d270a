// Profiles: rqlite's -cpu-profile, -mem-profile and -trace-profile, each
// written to its file for the node's lifetime (started first, written at
// shutdown), with the tools a C++ program has:
//   -cpu-profile FILE    gperftools' sampling CPU profiler (libprofiler,
//                        100 samples/s), pprof's format: read it with
//                        `google-pprof --text /path/to/rqlited FILE`;
//   -mem-profile FILE    gperftools' heap profile of what is allocated at
//                        shutdown (`google-pprof --text rqlited FILE`); the
//                        heap profiler needs tcmalloc as the allocator, so a
//                        node given -mem-profile runs itself again with
//                        tcmalloc preloaded (RunWithHeapProfiler) and only
//                        then; where that cannot be (a sanitizer build, no
//                        libtcmalloc), FILE gets a text report instead and
//                        the log says why. Both ways the log gets a summary
//                        (RSS, SQLite's and the heap's bytes);
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

// -mem-profile: replaces the process with itself run under tcmalloc
// (LD_PRELOAD of libtcmalloc.so.4, with periodic heap dumps off); returns
// when tcmalloc is already the allocator, or cannot be (see above). Call
// first thing in main, before any thread starts.
void RunWithHeapProfiler(char** argv);

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
  bool heap_running_ = false;
  std::unique_ptr<metrics::TraceRecorder> trace_;
  bool stopped_ = true;
};

}  // namespace rq::node
