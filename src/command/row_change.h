// One row changed by a write, as SQLite's pre-update hook reports it on the
// apply connection (db/change_capture.h) and change data capture sends it
// on (cdc/). A plain struct shared by db/, store/ and cdc/.
//
// Thread-safety: a value; copy freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "command/types.h"

namespace rq::command {

enum class RowOp : uint8_t { kInsert, kUpdate, kDelete };

struct RowChange {
  RowOp op = RowOp::kInsert;
  std::string table;
  // SQLite's rowids before and after the change: old for UPDATE and DELETE,
  // new for INSERT and UPDATE (0 where the operation has none).
  int64_t old_row_id = 0;
  int64_t new_row_id = 0;
  // The table's column names when the change was captured, and the row's
  // values before (UPDATE, DELETE) and after (INSERT, UPDATE) it; all three
  // empty when only row ids are captured.
  std::vector<std::string> columns;
  std::vector<Value> before;
  std::vector<Value> after;
  // Set when the capture left something out (its limits, a schema that no
  // longer matches); sent as the event's "error".
  std::string error;
  bool operator==(const RowChange&) const = default;
};

}  // namespace rq::command
