// The Data of a LogCommand entry as Go rqlite wrote it, decoded into plain
// structs (statements as SQL plus typed parameters).
//
// Format facts: v5-v9 write a protobuf Command {type, sub_command,
// compressed} (wire format in go_command.proto); sub_command is a gzip
// stream when compressed. The Type numbering changed in v7 (see
// GoCommandDialect). Releases before v5 wrote JSON {"typ": n, "sub": {...}}
// (rqlite's command/legacy): an entry whose first byte is '{' is read so.
// A LOAD's database image is gzip-compressed inside LoadRequest.data.
//
// Thread-safety: stateless functions and values.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace rq::upgrade {

// Which Command.Type numbering the entry was written with.
enum class GoCommandDialect : uint8_t {
  kV7Plus,  // 3 noop, 4 load, 5 join, 6 execute_query, 7 load_chunk
  kV5V6,    // 3 metadata_set, 4 metadata_delete, 5 noop
};

enum class GoCommandKind : uint8_t {
  kQuery,
  kExecute,
  kExecuteQuery,
  kNoop,
  kLoad,
  kLoadChunk,
  kJoin,
  kMetadataSet,
  kMetadataDelete,
};
const char* GoCommandKindName(GoCommandKind kind);

struct GoNull {
  bool operator==(const GoNull&) const = default;
};
struct GoBlob {
  std::string bytes;
  bool operator==(const GoBlob&) const = default;
};
// A parameter value: null (no oneof set), integer, real, bool, blob, text.
using GoValue = std::variant<GoNull, int64_t, double, bool, GoBlob, std::string>;

struct GoParameter {
  std::string name;  // empty for positional parameters
  GoValue value;
};

struct GoStatement {
  std::string sql;
  std::vector<GoParameter> parameters;
  bool force_query = false;
};

struct GoRequest {
  bool transaction = false;
  std::vector<GoStatement> statements;
  int64_t db_timeout_ns = 0;
};

struct GoLoadChunk {
  std::string stream_id;
  int64_t sequence_number = 0;
  bool is_last = false;
  bool abort = false;
  std::string data;  // a piece of a gzip stream; not decompressed here
};

struct GoCommand {
  GoCommandKind kind = GoCommandKind::kNoop;
  int32_t raw_type = 0;
  bool compressed = false;
  bool legacy_json = false;
  GoRequest request;         // query, execute, execute_query
  std::string database;      // load: the decompressed SQLite image
  GoLoadChunk load_chunk;    // load_chunk
  std::string node_id;       // noop id, join id, metadata raft_id
  std::string join_address;  // join
  bool join_voter = false;   // join
  std::map<std::string, std::string> metadata;  // metadata_set
};

// Decodes one entry's Data. Corruption for damaged or unknown commands.
Result<GoCommand> DecodeGoCommand(std::string_view data, GoCommandDialect dialect);

// Guesses the dialect from the command entries of a log: v5/v6 when an entry
// is legacy JSON or a type-3 command carries metadata (a field 2, which a
// v7 Noop never has); v7+ otherwise.
GoCommandDialect GuessGoCommandDialect(const std::vector<std::string_view>& command_data);

}  // namespace rq::upgrade
