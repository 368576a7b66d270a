// Swarm: one seeded randomized run of a Cluster (TigerBeetle's VOPR shape).
// The seed picks the cluster shape and the fault probabilities ("swarm
// testing"), then a safety phase of `steps` random events with faults, then a
// liveness phase: heal the network, restart every crashed node, stop faults
// and require a leader and a newly committed proposal within a tick bound.
//
// Ownership: a value holding options; Run() builds and owns its Cluster.
// Thread-safety: none; separate Swarms may run on separate threads.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace rq::sim {

struct SwarmOptions {
  uint64_t seed = 1;
  uint64_t steps = 2000;       // safety-phase steps
  uint32_t voters = 0;         // 0: the seed picks 3 or 5
  uint32_t liveness_ticks = 400;
  bool verbose = false;
  bool count_events = false;
};

struct SwarmResult {
  uint64_t steps = 0;          // all steps, both phases
  bool ok = true;
  std::string report;          // on violation: SEED=, status lines, events
  // What the run exercised, for tuning the event mix.
  uint64_t committed = 0;      // distinct indexes applied somewhere
  uint64_t acks = 0;           // proposals acknowledged to the client
  uint64_t max_term = 0;
  uint64_t reads_served = 0;
  uint64_t ticks = 0;
  std::map<std::string, uint64_t> event_counts;  // when count_events
};

SwarmResult RunSwarm(const SwarmOptions& options);

}  // namespace rq::sim
