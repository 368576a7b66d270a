// Runs the discovery-answer fuzz entry over seeded random inputs built from
// the pieces real Consul and etcd answers are made of, so CI checks its
// properties without clang/libFuzzer (an RQ_ASSERT failure aborts).
#include "disco_fuzz_entries.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "base/random.h"

namespace rq::fuzz {
namespace {

TEST(DiscoFuzzEntriesTest, AnswersSurviveRandomJsonFragments) {
  const std::vector<std::string> fragments = {
      "[", "]", "{", "}", ",", ":", "\"Value\"", "\"kvs\"", "\"value\"", "\"key\"", "\"succeeded\"",
      "\"header\"", "\"id\"", "\"api_addr\"", "\"addr\"", "true", "false", "null", "0", "-1", "1e999",
      "\"eyJpZCI6IjEiLCJhZGRyIjoiaDo0MDAyIn0=\"", "\"!!\"", "\"=\"", "\"\"", "\"1\"", "\"h:4002\"",
      "\"http://h:4001\"", "\"\\u0000\"", "\"\xff\"", " ", "http://", "https://", "[::1]", ":", "4001",
      "host", "/", "\n"};
  Random random(31);
  for (int round = 0; round < 20000; ++round) {
    std::string input(1, static_cast<char>(random.Next()));
    for (uint64_t n = random.Uniform(20); n > 0; --n) input += fragments[random.Uniform(fragments.size())];
    if (round % 7 == 0 && input.size() > 1) input[1 + random.Uniform(input.size() - 1)] = static_cast<char>(random.Next());
    FuzzDiscoAnswer(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
  SUCCEED();
}

}  // namespace
}  // namespace rq::fuzz
