// libFuzzer target: arbitrary bytes as a snapshot record (see store_fuzz_entries.h for
// what is checked).
#include <cstddef>
#include <cstdint>

#include "store_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzSnapshotRecord(data, size);
  return 0;
}
