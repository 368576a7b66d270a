// libFuzzer target: the SQL lexer and processor (command/sql_processor.h).
#include <cstddef>
#include <cstdint>

#include "command_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzSqlProcessor(data, size);
  return 0;
}
