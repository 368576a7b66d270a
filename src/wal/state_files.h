// The two small WAL side files, each replaced atomically
// (FileSystem::WriteFileAtomic) and guarded by a CRC:
//  - HardState: the Raft term, vote and commit index (opaque to the WAL).
//  - LogMeta:   where the log starts (floor) and which segment epoch is live.
// Layouts: wal_format.h and docs/wal_format.md.
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "base/strong_types.h"

namespace rq::wal {

struct HardState {
  Term term;
  std::string vote;  // empty: no vote in this term
  LogIndex commit;
  bool operator==(const HardState&) const = default;
};

struct LogMeta {
  // Segments whose header carries another epoch are leftovers of a log that
  // Reset() replaced; recovery deletes them.
  uint64_t epoch = 0;
  // Entries below floor_index are compacted; 0 when the log was never
  // compacted or reset.
  LogIndex floor_index;
  Term floor_term;  // term of floor_index - 1 when known, else 0
  bool operator==(const LogMeta&) const = default;
};

std::string EncodeHardState(const HardState& state);
// Corruption when the bytes are not a well-formed hard state file.
Result<HardState> DecodeHardState(std::string_view bytes);

std::string EncodeLogMeta(const LogMeta& meta);
Result<LogMeta> DecodeLogMeta(std::string_view bytes);

}  // namespace rq::wal
