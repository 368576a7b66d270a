// The -cdc-config value and the CDC JSON config file rqlite documents
// (rqlite.io/docs/guides/cdc; rqlite's cdc/config.go): where events go, which
// tables, how they are batched and retried.
//
// The flag is the word "stdout", an http(s) URL (every other field at its
// default), or the path of a JSON file. Durations take Go's text form
// ("250ms") or integer nanoseconds (what Go's encoding/json writes for a
// time.Duration); the retry policy takes 0/1 or the names rqlite's docs use.
//
// Thread-safety: values and pure functions.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::cdc {

enum class RetryPolicy { kLinear = 0, kExponential = 1 };

struct TlsConfig {
  std::string ca_cert_file;
  std::string cert_file;
  std::string key_file;
  bool insecure_skip_verify = false;
  std::string server_name;
  bool empty() const {
    return ca_cert_file.empty() && cert_file.empty() && key_file.empty() && !insecure_skip_verify &&
           server_name.empty();
  }
};

struct Config {
  std::string endpoint;  // "stdout", or an http(s) URL (user:pass@ for basic auth)
  std::string service_id;
  bool row_ids_only = false;
  std::string table_filter;  // a regular expression, unanchored; empty: every table
  TlsConfig tls;
  int max_batch_size = 10;  // payload entries (Raft indexes) per request
  std::chrono::nanoseconds max_batch_delay = std::chrono::milliseconds(200);
  std::chrono::nanoseconds high_watermark_interval = std::chrono::seconds(1);
  std::chrono::nanoseconds transmit_timeout = std::chrono::seconds(5);
  // Attempts per batch before it is dropped (counted, logged); none: retry
  // for as long as this node leads.
  std::optional<int> transmit_max_retries;
  RetryPolicy transmit_retry_policy = RetryPolicy::kLinear;
  std::chrono::nanoseconds transmit_min_backoff = std::chrono::seconds(1);
  std::chrono::nanoseconds transmit_max_backoff = std::chrono::seconds(30);

  bool to_stdout() const;
  // The endpoint without credentials, for /status and logs.
  std::string RedactedEndpoint() const;
  Status Validate() const;
};

struct ParsedConfig {
  Config config;
  std::vector<std::string> warnings;  // fields this build does not know
};

// Whether the -cdc-config value names a file (neither "stdout" nor a URL).
bool FlagIsPath(std::string_view flag);
// The config of a -cdc-config value that is "stdout" or a URL.
Result<Config> ConfigForEndpoint(std::string_view flag);
// The JSON config file's text.
Result<ParsedConfig> ParseConfigJson(std::string_view json);

// Whether a table's rows are captured, by table_filter (Go's regexp finds
// the pattern anywhere in the name; Perl syntax here, as Boost.Regex reads
// it, which agrees with Go's RE2 on the patterns table names need). Null
// when every table is. Never throws.
using TableMatcher = std::function<bool(std::string_view table)>;
Result<TableMatcher> CompileTableFilter(const std::string& pattern);

}  // namespace rq::cdc
