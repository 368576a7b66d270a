// rqlited: one node of the database. main() parses the flags, builds a
// node::Node, runs it until SIGINT or SIGTERM and exits with the status:
// 0 after a clean stop, 1 when the node cannot start, 2 for bad flags.
#include <signal.h>
#include <sqlite3.h>

#include <cstdio>
#include <string>
#include <vector>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "base/build_info.h"
#include "config/config.h"
#include "node/node.h"
#include "node/profiles.h"

namespace {

rq::config::BuildInfo MakeBuildInfo() {
  rq::config::BuildInfo build;
  build.version = rq::ThisBuild().version;
  build.commit = rq::ThisBuild().commit;
  build.branch = rq::ThisBuild().branch;
  build.build_time = rq::ThisBuild().build_time;
  build.sqlite_version = sqlite3_libversion();
  return build;
}

}  // namespace

int main(int argc, char** argv) {
  // SQLite's memory statistics take a process-wide mutex on every
  // allocation; nothing here reads them. Must precede any SQLite use.
  sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
  // Block the shutdown signals in every thread; the node waits for them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  rq::config::ParseResult parsed = rq::config::ParseAndValidate(args, MakeBuildInfo());
  // Before anything is printed: the run under tcmalloc prints it once.
  if (parsed.config && !parsed.config->mem_profile.empty()) rq::node::RunWithHeapProfiler(argv);
  if (!parsed.stdout_text.empty()) std::fputs(parsed.stdout_text.c_str(), stdout);
  if (!parsed.stderr_text.empty()) std::fputs(parsed.stderr_text.c_str(), stderr);
  if (!parsed.config) return parsed.exit_code;

  // Logs go to stderr, as rqlite's do: stdout is for -cdc-config stdout's
  // events, one JSON envelope per line.
  spdlog::set_default_logger(
      std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_color_sink_mt>()));
  rq::node::Node node(*parsed.config, rq::ThisBuild().version);
  if (rq::Status started = node.Start(); !started.ok()) {
    std::fprintf(stderr, "fatal: %s\n", started.message().c_str());
    return 1;
  }
  node.WaitForSignal();
  node.Shutdown();
  return 0;
}
