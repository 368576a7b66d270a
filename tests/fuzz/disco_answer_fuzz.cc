// libFuzzer target: arbitrary bytes as a discovery service's answer (see
// disco_fuzz_entries.h for what is checked).
#include <cstddef>
#include <cstdint>

#include "disco_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzDiscoAnswer(data, size);
  return 0;
}
