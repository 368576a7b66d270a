// Command-line options of the `rqlite` shell, compatible with rqlite's
// (mkideal/cli syntax: -H host, -H=host, --host host, --host=host; boolean
// flags alone or as --insecure=true), plus positional SQL statements, which
// rqlite lacks: `rqlite [options] 'SQL' ...` runs them and exits.
//
// Thread-safety: pure functions over values.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::cli {

struct CliOptions {
  std::string scheme = "http";
  std::string host = "127.0.0.1";
  uint16_t port = 4001;
  std::string prefix = "/";
  std::vector<std::string> alternatives;  // "host:port" fallbacks
  bool insecure = false;
  std::string ca_cert;
  std::string client_cert;
  std::string client_key;
  std::string user;  // "user:pass"
  std::chrono::milliseconds http_timeout{30000};
  bool help = false;
  bool version = false;
  // --bail (-bail, as sqlite3 spells it): SQL from stdin stops at the first
  // error and the exit status is 1. Without it every line runs, errors are
  // printed, and the status is 0 (rqlite's shell).
  bool bail = false;
  std::vector<std::string> statements;  // positional SQL, run non-interactively

  // Which of -H/-p/-s were given: RQLITE_HOST applies only when none was.
  bool host_set = false;
  bool port_set = false;
  bool scheme_set = false;

  // "host:port", with brackets for IPv6 hosts.
  std::string Address() const;
};

// Parses argv[1..]. `host_env` is RQLITE_HOST (nullptr when unset); it
// supplies scheme, host and port when none of -H, -p, -s is given.
Result<CliOptions> ParseOptions(const std::vector<std::string>& args, const char* host_env);

// Applies a RQLITE_HOST value such as "https://h:4001" or "h:4001".
Status ApplyHostEnv(std::string_view value, CliOptions& options);

// Go's time.ParseDuration subset used by -t: "30s", "1m30s", "500ms", "1.5h".
Result<std::chrono::milliseconds> ParseGoDuration(std::string_view text);

// The -h text.
std::string UsageText();

}  // namespace rq::cli
