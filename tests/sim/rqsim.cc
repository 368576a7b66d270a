// rqsim: runs the deterministic cluster simulator over a range of seeds.
//
//   rqsim --seeds N [--start S] [--seed S] [--steps K] [--nodes 3|5] [--verbose]
//
// Prints one summary line "N seeds, M steps, K violations" (then the elapsed
// time) and exits non-zero on any violation. A violation prints SEED=<n>, one
// status line per node and the last events; `--seed n` replays it exactly.
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <string>
#include <unistd.h>

#include "sim/swarm.h"

namespace {

struct Flags {
  uint64_t seeds = 1;
  uint64_t start = 1;
  uint64_t steps = 2000;
  uint32_t nodes = 0;
  bool verbose = false;
  bool stats = false;
};

// The seed being run, for the abort handler: a core assertion kills the
// process, and the seed is what makes that failure reproducible.
volatile uint64_t g_current_seed = 0;

void OnAbort(int) {
  char line[64];
  int length = std::snprintf(line, sizeof(line), "\nSEED=%llu (aborted)\n",
                             static_cast<unsigned long long>(g_current_seed));
  if (length > 0) (void)!write(STDERR_FILENO, line, static_cast<size_t>(length));
  std::signal(SIGABRT, SIG_DFL);
  std::raise(SIGABRT);
}

bool ParseNumber(const char* text, uint64_t* out) {
  char* end = nullptr;
  unsigned long long value = std::strtoull(text, &end, 10);
  if (end == text || *end != '\0') return false;
  *out = value;
  return true;
}

int Usage() {
  std::fprintf(stderr,
               "usage: rqsim --seeds N [--start S] [--seed S] [--steps K] [--nodes 3|5] "
               "[--verbose] [--stats]\n");
  return 2;
}

bool ParseFlags(int argc, char** argv, Flags* flags) {
  for (int i = 1; i < argc; ++i) {
    std::string name = argv[i];
    if (name == "--verbose" || name == "--stats") {
      (name == "--verbose" ? flags->verbose : flags->stats) = true;
      continue;
    }
    uint64_t value = 0;
    if (i + 1 >= argc || !ParseNumber(argv[i + 1], &value)) return false;
    ++i;
    if (name == "--seeds") flags->seeds = value;
    else if (name == "--start") flags->start = value;
    else if (name == "--seed") flags->start = value, flags->seeds = 1;
    else if (name == "--steps") flags->steps = value;
    else if (name == "--nodes" && (value == 3 || value == 5)) flags->nodes = static_cast<uint32_t>(value);
    else return false;
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  if (!ParseFlags(argc, argv, &flags)) return Usage();
  std::signal(SIGABRT, OnAbort);
  auto started = std::chrono::steady_clock::now();
  uint64_t steps = 0;
  uint64_t violations = 0;
  std::map<std::string, uint64_t> totals;
  for (uint64_t seed = flags.start; seed < flags.start + flags.seeds; ++seed) {
    g_current_seed = seed;
    rq::sim::SwarmOptions options;
    options.seed = seed;
    options.steps = flags.steps;
    options.voters = flags.nodes;
    options.verbose = flags.verbose;
    options.count_events = flags.stats;
    rq::sim::SwarmResult result = rq::sim::RunSwarm(options);
    steps += result.steps;
    for (const auto& [what, count] : result.event_counts) totals[what] += count;
    if (flags.stats) {
      std::fprintf(stderr, "seed %llu: steps=%llu ticks=%llu committed=%llu acks=%llu reads=%llu max_term=%llu\n",
                   static_cast<unsigned long long>(seed), static_cast<unsigned long long>(result.steps),
                   static_cast<unsigned long long>(result.ticks),
                   static_cast<unsigned long long>(result.committed),
                   static_cast<unsigned long long>(result.acks),
                   static_cast<unsigned long long>(result.reads_served),
                   static_cast<unsigned long long>(result.max_term));
    }
    if (!result.ok) {
      ++violations;
      std::fprintf(stderr, "%s\n", result.report.c_str());
    }
  }
  for (const auto& [what, count] : totals) {
    std::fprintf(stderr, "  %-12s %llu\n", what.c_str(), static_cast<unsigned long long>(count));
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::printf("%llu seeds, %llu steps, %llu violations\n",
              static_cast<unsigned long long>(flags.seeds), static_cast<unsigned long long>(steps),
              static_cast<unsigned long long>(violations));
  std::printf("elapsed %.2fs\n", seconds);
  return violations == 0 ? 0 : 1;
}
