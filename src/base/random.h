// Seeded pseudo-random numbers. Every random choice that can affect a
// replica's behaviour (election jitter, simulator faults) comes from an
// injected Random, so a seed replays a run exactly.
//
// Thread-safety: none; each owner keeps its own.
#pragma once

#include <cstdint>

#include "base/assert.h"

namespace rq {

class Random {
 public:
  explicit Random(uint64_t seed) : state_(seed ^ 0x9e3779b97f4a7c15ull) {
    if (state_ == 0) state_ = 0x853c49e6748fea9bull;
  }

  // splitmix64: small, fast, good enough for scheduling and fault injection.
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound). REQUIRES: bound > 0.
  uint64_t Uniform(uint64_t bound) {
    RQ_ASSERT(bound > 0);
    return Next() % bound;
  }

  // Uniform in [low, high]. REQUIRES: low <= high.
  uint64_t Range(uint64_t low, uint64_t high) {
    RQ_ASSERT(low <= high);
    return low + Uniform(high - low + 1);
  }

  // True with probability numerator/denominator.
  bool Chance(uint64_t numerator, uint64_t denominator) { return Uniform(denominator) < numerator; }

  // Where the sequence is, and back there: a computation run again from its
  // start (db's seeded random()) draws what it drew the first time.
  uint64_t state() const { return state_; }
  void Restore(uint64_t state) { state_ = state; }

 private:
  uint64_t state_;
};

}  // namespace rq
