// The log-entry codec: Command <-> bytes (protobuf, proto/command.proto).
//
// Requests with many statements or one big statement are zlib-compressed
// transparently (the rqlite v10 thresholds below); DecodeCommand undoes it.
// Decoding never trusts its input: any byte string either decodes or gives
// Corruption, never a crash, and the inflated size is bounded.
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "base/status.h"
#include "command/command.h"

namespace rq::command {

namespace codec_config {
// A request this long (statements) is compressed: batching makes it worth it.
inline constexpr size_t kCompressStatementsMin = 512;
// A request with one statement this long (bytes of SQL) is compressed.
inline constexpr size_t kCompressStatementBytesMin = 4096;
// Inflating more than this is refused as Corruption: a log entry this size
// could not have been produced by a leader honouring the HTTP body limit.
inline constexpr size_t kInflatedBytesMax = size_t{1} << 30;
}  // namespace codec_config

// True when EncodeCommand will compress this request.
bool ShouldCompress(const Request& request);

std::string EncodeCommand(const Command& command);

// Corruption for anything that is not a command written by EncodeCommand
// (bad protobuf, unknown type, bad zlib stream, a value with no kind).
Result<Command> DecodeCommand(std::string_view bytes);

}  // namespace rq::command
