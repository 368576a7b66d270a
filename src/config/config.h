// Config: everything the rqlited command line says, as typed fields with
// rqlite v10's defaults (API.md 1.1), plus the parse of argv into a Config
// and the startup checks (Validate).
//
// ParseCommandLine never prints and never exits: it returns either a Config or
// the exit code and the text to print, so tests need no subprocess. main():
//
//   ParseResult r = ParseAndValidate({argv + 1, argv + argc}, build);
//   if (!r.config) { print r.stdout_text / r.stderr_text; return r.exit_code; }
//   for (const std::string& note : r.config->legacy_notes) RQ_LOG_WARN("{}", note);
// Ownership: plain values. Thread-safety: none needed; built once by main()
// on one thread, then read-only (safe to share const across threads).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "config/flags.h"

namespace rq::config {

// One -join entry. v8+ names a node's Raft address ("host:4002"); v5 named its
// HTTP API ("http://host:4001"). Exactly one of the two fields is set. For an
// http_url target, main must learn the node's Raft address through its HTTP
// API (it does not speak Raft there).
struct JoinTarget {
  std::string raft_addr;
  std::string http_url;
  bool operator==(const JoinTarget&) const = default;
};

// Splits a -join value on commas and classifies each entry by its scheme.
// Empty entries are kept (as empty raft addresses) so Validate can refuse
// them by name rather than drop them silently.
std::vector<JoinTarget> ParseJoinTargets(std::string_view join);

struct Config {
  std::string data_path;  // the one positional argument; absolute after Validate

  // General.
  std::string node_id;  // Validate: defaults to raft_adv_addr
  std::vector<std::string> extensions_paths;
  std::string cdc_config;
  std::string otlp_endpoint;
  GoDuration otlp_interval = std::chrono::seconds(30);
  bool otlp_insecure = false;
  bool otlp_no_verify = false;
  std::string otlp_ca_cert;
  std::string otlp_cert;
  std::string otlp_key;

  // HTTP API and its TLS.
  std::string http_addr = "localhost:4001";
  std::string http_adv_addr;  // Validate: defaults to http_addr
  std::string http_allow_origin;
  std::string auth_file;
  std::string auto_backup_file;
  std::string auto_restore_file;
  std::string http_ca_cert;
  std::string http_cert;
  std::string http_key;
  bool http_verify_client = false;
  std::string http_verify_common_name;

  // Node-to-node TLS.
  std::string node_cert;
  std::string node_key;
  std::string node_ca_cert;
  bool node_no_verify = false;
  bool node_verify_client = false;
  std::string node_verify_server_name;
  std::string node_verify_common_name;

  // Clustering and Raft.
  std::string raft_addr = "localhost:4002";
  std::string raft_adv_addr;  // Validate: defaults to raft_addr
  std::string join;           // the raw -join text
  std::vector<JoinTarget> join_targets;  // ParseJoinTargets(join)
  int64_t join_attempts = 5;
  GoDuration join_interval = std::chrono::seconds(3);
  std::string join_as;
  int64_t bootstrap_expect = 0;
  GoDuration bootstrap_expect_timeout = std::chrono::seconds(120);
  std::string disco_mode;
  std::string disco_key = "rqlite";
  std::string disco_config;
  bool raft_non_voter = false;
  uint64_t raft_snap_entries = 8192;
  uint64_t raft_snap_wal_size_bytes = 4194304;
  GoDuration raft_snap_interval = std::chrono::seconds(10);
  GoDuration raft_leader_lease_timeout{0};
  GoDuration raft_heartbeat_timeout = std::chrono::seconds(1);
  GoDuration raft_election_timeout = std::chrono::seconds(1);
  GoDuration raft_commit_timeout = std::chrono::milliseconds(50);
  GoDuration raft_apply_timeout = std::chrono::seconds(10);
  std::string raft_log_level = "WARN";
  bool raft_remove_shutdown = false;
  bool raft_cluster_remove_shutdown = false;
  bool raft_shutdown_stepdown = true;
  GoDuration raft_reap_node_timeout{0};
  GoDuration raft_reap_read_only_node_timeout{0};
  GoDuration cluster_connect_timeout = std::chrono::seconds(30);
  bool compress_snap_transport = false;

  // Database.
  bool fk = false;
  int64_t db_max_ro_conns = 256;
  GoDuration auto_vacuum_interval{0};
  GoDuration auto_optimize_interval = std::chrono::hours(24);

  // Queued writes and profiling.
  int64_t write_queue_capacity = 1024;
  int64_t write_queue_batch_size = 128;
  GoDuration write_queue_timeout = std::chrono::milliseconds(50);
  bool write_queue_tx = false;
  std::string cpu_profile;
  std::string mem_profile;
  std::string trace_profile;

  // Flags given on the command line (canonical names, first use first).
  std::vector<std::string> set_flags;
  // One line per legacy flag or form that was accepted; main logs each.
  std::vector<std::string> legacy_notes;

  // The startup checks of API.md 1.1: fills the defaults that depend on other
  // flags (advertised addresses, node ID), makes data_path absolute, and
  // returns the first problem found. Idempotent.
  Status Validate();

  // "-flag" for every flag whose value differs from its default although its
  // feature is not built yet. main refuses to start when this is not empty.
  std::vector<std::string> UnsupportedFeatures() const;

  bool WasSet(std::string_view flag) const;

  // "https://<http_adv_addr>" when -http-cert is set, else "http://...".
  // REQUIRES: Validate() succeeded (the advertised address is filled).
  std::string HttpUrl() const;
};

// What the binary reports for -version.
struct BuildInfo {
  std::string version = "v0.1.0";
  std::string commit = "unknown";
  std::string branch = "unknown";
  std::string sqlite_version = "unknown";  // sqlite3_libversion(), filled by main
  std::string build_time;  // RFC 3339; after rqlite's fields when set
};

// rqlite's layout: "rqlited v10.2.7 linux amd64 go1.24 sqlite3.49.1 (commit c,
// branch b, compiler gc)"; the toolchain stands where Go's version was.
std::string VersionText(const BuildInfo& build);

// The full usage text, as rqlited prints it for -h or a command-line error.
std::string UsageText();

// Either a Config to start with (`config` set, exit fields unused) or the
// process must exit with `exit_code` after printing the two texts.
struct ParseResult {
  std::optional<Config> config;
  int exit_code = 0;
  std::string stdout_text;
  std::string stderr_text;
};

// Parses argv[1..] (e.g. std::vector<std::string>(argv + 1, argv + argc)) the
// way rqlited does. Does not touch the file system: call
// Config::Validate (or ParseAndValidate) next.
ParseResult ParseCommandLine(const std::vector<std::string>& args, const BuildInfo& build);

// ParseCommandLine, then Validate and the unsupported-feature check; any
// failure becomes exit status 1 with "fatal: <reason>".
ParseResult ParseAndValidate(const std::vector<std::string>& args, const BuildInfo& build);

}  // namespace rq::config
