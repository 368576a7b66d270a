// Query-string handling for the HTTP API (API.md 2.1, 2.2): Go-compatible
// duration parsing, rqlite's presence-flag parameters, the validation that
// runs before routing (with rqlite's exact error texts), and conversion to
// the Backend's CallOptions.
//
// QueryParams is a value type; safe to copy, not to mutate from two threads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/status.h"
#include "command/types.h"
#include "http/backend.h"

namespace rq::http {

// Go's time.ParseDuration: "300ms", "-1.5h", "2h45m", "1µs", "0". Returns
// nullopt for anything Go rejects (empty, missing or unknown unit, overflow).
std::optional<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Go's strconv.Atoi on a 64-bit platform: optional sign, decimal digits,
// must fit int64.
std::optional<int64_t> ParseGoInt(std::string_view text);

// Percent-decoding as Go's url.QueryUnescape: '+' is a space; nullopt on a
// malformed escape.
std::optional<std::string> QueryUnescape(std::string_view text);

class QueryParams {
 public:
  QueryParams() = default;
  // Splits on '&', decodes keys and values; a pair with a bad escape is
  // dropped, as Go's URL.Query() drops it.
  static QueryParams Parse(std::string_view raw_query);

  // The checks rqlite runs on every request before routing. The message is
  // the exact response text (without the newline).
  Status Validate() const;

  bool Has(std::string_view key) const;
  // The first value, "" when absent.
  std::string Get(std::string_view key) const;
  // REQUIRES: Validate() passed (invalid values fall back to the default).
  std::chrono::nanoseconds Duration(std::string_view key, std::chrono::nanoseconds fallback) const;
  // ?timeout, where 0 means "not set" as it does for db_timeout and
  // freshness: a zero timeout would fail only the calls that wait (a
  // forwarded one) while local ones succeed.
  std::chrono::nanoseconds Timeout(std::chrono::nanoseconds fallback) const;
  int64_t Int(std::string_view key, int64_t fallback) const;

  // level=..., case-insensitive; absent or unknown means weak.
  command::Consistency Level() const;
  CallOptions ToCallOptions() const;

  bool pretty() const { return Has("pretty"); }
  bool timings() const { return Has("timings"); }
  bool associative() const { return Has("associative"); }
  bool blob_array() const { return Has("blob_array"); }
  bool raft_index() const { return Has("raft_index"); }
  bool redirect() const { return Has("redirect"); }
  bool transaction() const { return Has("transaction"); }
  bool qualify_columns() const { return Has("qualify_columns"); }  // rqlite 10: "table.column" names

 private:
  std::vector<std::pair<std::string, std::string>> pairs_;
};

}  // namespace rq::http
