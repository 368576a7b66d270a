// Runs the WAL fuzz entry point over seeded random inputs on every build:
// pure noise, and valid segments with random damage (flips, cuts, garbage).
#include <gtest/gtest.h>

#include <string>

#include "base/random.h"
#include "wal/segment.h"
#include "wal_fuzz_entries.h"

namespace rq::fuzz {
namespace {

std::string ValidRecords(Random* random) {
  std::string bytes(1, '\x01');  // odd first byte: the entry point adds the header
  uint64_t count = random->Range(1, 8);
  for (uint64_t i = 1; i <= count; ++i) {
    wal::Record record{LogIndex(i), Term(random->Range(1, 3)), 0, std::string(random->Uniform(60), 'p')};
    wal::EncodeRecord(record, &bytes);
  }
  return bytes;
}

void Damage(Random* random, std::string* bytes) {
  switch (random->Uniform(4)) {
    case 0:  // bit flips
      for (uint64_t n = random->Range(1, 3); n > 0; --n) {
        size_t at = random->Range(1, bytes->size() - 1);
        (*bytes)[at] = static_cast<char>((*bytes)[at] ^ (1 << random->Uniform(8)));
      }
      break;
    case 1:  // cut
      bytes->resize(random->Range(1, bytes->size()));
      break;
    case 2:  // trailing garbage or zeros
      bytes->append(random->Range(1, 64), random->Chance(1, 2) ? '\0' : static_cast<char>(random->Next()));
      break;
    default:  // untouched
      break;
  }
}

TEST(WalFuzzEntriesTest, RandomNoiseNeverCrashesRecovery) {
  Random random(2024);
  for (int i = 0; i < 1500; ++i) {
    std::string input(random.Uniform(300), '\0');
    for (char& c : input) c = static_cast<char>(random.Next());
    FuzzWalSegment(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

TEST(WalFuzzEntriesTest, DamagedValidSegmentsRecoverOrRefuse) {
  Random random(77);
  for (int i = 0; i < 3000; ++i) {
    std::string input = ValidRecords(&random);
    Damage(&random, &input);
    FuzzWalSegment(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace rq::fuzz
