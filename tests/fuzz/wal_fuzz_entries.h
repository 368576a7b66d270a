// Fuzz entry point of the WAL segment reader, shared by the libFuzzer target
// (wal_reader_fuzz.cc) and a gtest that feeds it seeded random inputs so CI
// exercises it without clang. Violations RQ_ASSERT, i.e. crash like a
// fuzzer finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rq::fuzz {

// Treats the input as the content of a segment file (when the first byte is
// odd, a valid header is put in front of the rest, so records get explored)
// and opens a Wal on it. Recovery must either refuse with Corruption or
// yield a log whose every record reads back, that reopens identically, and
// that accepts the next append.
void FuzzWalSegment(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
