// libFuzzer target: arbitrary bytes as a WAL segment file (see
// wal_fuzz_entries.h for what is checked).
#include <cstddef>
#include <cstdint>

#include "base/logging.h"
#include "wal_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static bool quiet = [] {
    spdlog::set_level(spdlog::level::err);  // recovery warnings would flood the output
    return true;
  }();
  (void)quiet;
  rq::fuzz::FuzzWalSegment(data, size);
  return 0;
}
