// Rendering of API responses to JSON exactly as rqlite prints them (API.md
// 2.4, section 10): zero fields omitted, rqlite's key order, Go number
// formatting, associative and blob_array forms. Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "command/types.h"
#include "http/backend.h"

namespace rq::http {

struct RenderOptions {
  bool pretty = false;
  bool timings = false;      // per-result and top-level "time"
  bool associative = false;  // "types" as a map, "rows" as maps
  bool blob_array = false;   // BLOBs as byte arrays instead of base64
  bool raft_index = false;   // "raft_index" when non-zero
  // execute and request: in associative form, write results carry
  // "rows":null so they can be told from query results.
  bool write_rows_null = false;
};

std::string RenderResponse(const command::Response& response, const RenderOptions& options);
// {"results":[],"sequence_number":N}
std::string RenderQueued(uint64_t sequence_number, bool pretty);
// {"results":[{"original":..,"rewritten":..}|{"original":..,"error":..}]}
std::string RenderRewrites(const std::vector<RewriteResult>& rewrites, bool pretty);
// /nodes: a map keyed by id (legacy), or {"nodes":[...]} sorted by id (ver=2).
std::string RenderNodes(std::vector<NodeInfo> nodes, bool version2, bool pretty);
// GET /leader: one node object in the /nodes shape.
std::string RenderNode(const NodeInfo& node, bool pretty);

// Go's time.Duration.String(): "1.5s", "2m0s", "300ms", "0s".
std::string FormatGoDuration(std::chrono::nanoseconds duration);

}  // namespace rq::http
