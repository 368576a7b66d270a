// Helpers for the gtests that run fuzz entry points over seeded random
// inputs (a cheap stand-in for libFuzzer on every build).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/random.h"

namespace rq::fuzz {

inline void Feed(void (*entry)(const uint8_t*, size_t), const std::string& input) {
  entry(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

// One to five random byte insertions, replacements or deletions.
inline std::string Mutate(Random& random, std::string input) {
  for (uint64_t n = random.Range(1, 6); n > 0; --n) {
    uint64_t what = random.Uniform(3);
    if (input.empty() || what == 0) {
      input.insert(input.begin() + static_cast<long>(random.Uniform(input.size() + 1)),
                   static_cast<char>(random.Next()));
    } else if (what == 1) {
      input[random.Uniform(input.size())] = static_cast<char>(random.Next());
    } else {
      input.erase(random.Uniform(input.size()), 1);
    }
  }
  return input;
}

}  // namespace rq::fuzz
