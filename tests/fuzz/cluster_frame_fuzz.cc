// libFuzzer target: arbitrary bytes as a cluster connection's byte stream
// (see cluster_fuzz_entries.h for what is checked).
#include <cstddef>
#include <cstdint>

#include "cluster_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzClusterStream(data, size);
  return 0;
}
