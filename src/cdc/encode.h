// The JSON change data capture sends, in rqlite's shape (cdc/json in
// rqlite): one envelope per request,
//   {"service_id":..., "node_id":..., "payload":[entry, ...]}
// where each entry is the rows one Raft entry changed,
//   {"index":N, "commit_timestamp":MICROS, "events":[event, ...]}
// and each event
//   {"op":"INSERT"|"UPDATE"|"DELETE", "table":..., "new_row_id":..,
//    "old_row_id":.., "before":{column: value}, "after":{column: value}}
// with zero ids and absent maps left out, columns in name order (a Go map),
// BLOBs in base64, and "error" when names and values do not line up.
//
// Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "command/row_change.h"

namespace rq::cdc {

// One payload entry's JSON object.
std::string EncodeEntry(uint64_t index, int64_t commit_timestamp_us, const std::vector<command::RowChange>& rows);

// An envelope around payload entries already encoded by EncodeEntry.
std::string EncodeEnvelope(std::string_view node_id, std::string_view service_id,
                           const std::vector<std::string>& entries);

}  // namespace rq::cdc
