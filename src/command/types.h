// The request and result model shared by http/, store/, db/ and cluster/:
// plain structs, no behaviour. Log entries carry requests encoded by
// command/codec.h; results never enter the log.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace rq::command {

struct Blob {
  std::string bytes;
  bool operator==(const Blob&) const = default;
};

// A SQL value, bound as a parameter or returned in a row.
// monostate is NULL; bool only ever appears in results (boolean columns) and
// as a parameter (bound as 1/0).
using Value = std::variant<std::monostate, int64_t, double, std::string, Blob, bool>;

struct Parameter {
  std::string name;  // empty: positional; otherwise bound as :name, @name and $name
  Value value;
  bool operator==(const Parameter&) const = default;
};

struct Statement {
  std::string sql;
  std::vector<Parameter> parameters;
  // RETURNING (or ?noparse unknowns): run as a query even on the write path,
  // so rows come back from an execute.
  bool returns_rows = false;
  bool operator==(const Statement&) const = default;
};

enum class Consistency : uint8_t { kNone = 0, kWeak = 1, kLinearizable = 2, kStrong = 3, kAuto = 4 };

// One client request: becomes one Raft entry when it writes.
struct Request {
  std::vector<Statement> statements;
  bool transaction = false;  // ?transaction: all or nothing
  // ?db_timeout: SQLite interrupt deadline per statement; 0 = none.
  int64_t db_timeout_ns = 0;
  // db_timeout of a replicated write, as SQLite VM steps per statement (set
  // by the leader when it proposes, see db::VmStepBudgetFor); 0 = none.
  // Replicas apply it instead of their own clocks.
  int64_t vm_step_budget = 0;
  // ?qualify_columns: query columns named "table.column" where SQLite knows
  // the origin table (reads only; a level=strong read carries it in its entry).
  bool qualify_columns = false;
  bool operator==(const Request&) const = default;
};

// What one statement produced. Zero fields are omitted when rendered (API.md 2.4).
struct StatementResult {
  bool has_rows = false;  // a query result (columns/types/values) vs a write result
  std::vector<std::string> columns;
  std::vector<std::string> types;  // lower-cased declared types; "" for expressions
  std::vector<std::vector<Value>> values;
  int64_t last_insert_id = 0;
  int64_t rows_affected = 0;
  std::string error;
  double time_s = 0;  // only rendered with ?timings
  // The error came from this node's environment (full disk, I/O error, a
  // lock held by another process...), not from the statement:
  // another replica would not fail the same way. Never encoded or rendered.
  bool environmental = false;
};

struct Response {
  std::vector<StatementResult> results;
  std::string error;   // whole-request error (rendered as 200 {"results":[],"error":...})
  double time_s = 0;
  uint64_t raft_index = 0;  // rendered only with ?raft_index and when non-zero
  // Set by a node that forwarded the request: the leader's Raft address, for
  // X-RQLITE-SERVED-BY. Never encoded or stored.
  std::string served_by;
  // The first environmental failure (see StatementResult) of a write, which
  // then stopped there. Applying a log entry must not record such a result:
  // the replicas would diverge. Never encoded or rendered.
  std::string environmental_error;
};

}  // namespace rq::command
