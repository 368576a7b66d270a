// libFuzzer target: SQLite WAL checking for v10 snapshots (see upgrade_fuzz_entries.h for what is checked).
#include <cstddef>
#include <cstdint>

#include "upgrade_fuzz_entries.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::fuzz::FuzzSqliteWal(data, size);
  return 0;
}
