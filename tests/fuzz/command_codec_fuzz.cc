// libFuzzer target: DecodeCommand on arbitrary bytes (command/codec.h).
#include <cstddef>
#include <cstdint>

#include "command_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzCommandCodec(data, size);
  return 0;
}
