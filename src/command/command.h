// command::Command: what one normal Raft entry carries, as a plain struct.
// The rest of the code builds and reads these; only command/codec.cc knows
// the protobuf form (proto/command.proto) they travel in.
//
// Thread-safety: a value; copy freely.
#pragma once

#include <cstdint>
#include <string>

#include "command/types.h"

namespace rq::command {

// Stored in log entries: never renumber (mirrors proto Command.Type).
enum class CommandType : uint8_t {
  kExecute = 1,       // writes, and /db/request with writes
  kQuery = 2,         // level=strong reads through the log
  kExecuteQuery = 3,  // /db/request mixing reads and writes
  kLoad = 4,          // replace the whole database; payload is the image
  kNoop = 5,          // leader's first entry of a term, barriers
  // Change data capture: the CDC sink acknowledged every event up to
  // high_water_mark; each node prunes its queue to it (cdc/service.h).
  kCdcHighWaterMark = 6,
};

struct Command {
  CommandType type = CommandType::kNoop;
  Request request;      // kExecute, kQuery, kExecuteQuery
  std::string payload;  // kLoad: the SQLite image, carried as-is
  uint64_t high_water_mark = 0;  // kCdcHighWaterMark
  bool operator==(const Command&) const = default;
};

}  // namespace rq::command
