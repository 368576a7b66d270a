#include "config/config.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace rq::config {
namespace {

// ---------------------------------------------------------------------------
// The flag table: every v10 flag, the Config field it fills, whether its
// feature is built, and its one-line help. To mark a feature as implemented,
// flip its Built value here; nothing else needs to change.

using Field = std::variant<bool Config::*, int64_t Config::*, uint64_t Config::*,
                           GoDuration Config::*, std::string Config::*,
                           std::vector<std::string> Config::*>;

enum class Built : bool { kNo = false, kYes = true };

struct FlagSpec {
  std::string_view name;
  Field field;
  Built built;
  std::string_view usage;
};

using C = Config;
constexpr Built Y = Built::kYes;
constexpr Built N = Built::kNo;

const FlagSpec kFlags[] = {
    // General.
    {"node-id", &C::node_id, Y, "Unique ID for the node. If not set, the advertised Raft address"},
    {"extensions-path", &C::extensions_paths, Y,
     "Comma-delimited list of SQLite extensions to load: directories, zipfiles, tar.gz files or "
     "library files"},
    {"cdc-config", &C::cdc_config, Y,
     "Change data capture: an http(s) URL, the word stdout, or the path to a CDC JSON config file"},
    {"otlp-endpoint", &C::otlp_endpoint, Y,
     "host:port of an OpenTelemetry collector to push metrics to over OTLP/gRPC"},
    {"otlp-interval", &C::otlp_interval, Y, "Period between OTLP metric exports"},
    {"otlp-insecure", &C::otlp_insecure, Y, "Use plaintext gRPC to the OTLP collector"},
    {"otlp-no-verify", &C::otlp_no_verify, Y,
     "Skip verification of the OTLP collector's certificate"},
    {"otlp-ca-cert", &C::otlp_ca_cert, Y, "Path to the CA certificate for the OTLP collector"},
    {"otlp-cert", &C::otlp_cert, Y, "Path to the client certificate for the OTLP collector"},
    {"otlp-key", &C::otlp_key, Y, "Path to the client private key for the OTLP collector"},
    // HTTP API and its TLS.
    {"http-addr", &C::http_addr, Y,
     "HTTP server bind address. To enable HTTPS, set X.509 certificate and key"},
    {"http-adv-addr", &C::http_adv_addr, Y,
     "Advertised HTTP address. If not set, same as HTTP server bind address"},
    {"http-allow-origin", &C::http_allow_origin, Y,
     "Value to set for the Access-Control-Allow-Origin HTTP header"},
    {"auth", &C::auth_file, Y,
     "Path to the authentication and authorization file. If not set, not enabled"},
    {"auto-backup", &C::auto_backup_file, Y,
     "Path to the automatic backup configuration file. If not set, not enabled"},
    {"auto-restore", &C::auto_restore_file, Y,
     "Path to the automatic restore configuration file. If not set, not enabled"},
    {"http-ca-cert", &C::http_ca_cert, Y,
     "Path to the X.509 CA certificate that verifies HTTPS clients and other nodes' HTTPS"},
    {"http-cert", &C::http_cert, Y, "Path to the HTTPS X.509 certificate"},
    {"http-key", &C::http_key, Y, "Path to the HTTPS X.509 private key"},
    {"http-verify-client", &C::http_verify_client, Y, "Require client certificates (mutual TLS)"},
    {"http-verify-common-name", &C::http_verify_common_name, Y,
     "Common name that HTTPS client certificates must carry. Requires -http-verify-client"},
    // Node-to-node TLS.
    {"node-cert", &C::node_cert, Y,
     "Path to the X.509 certificate for node-to-node TLS. Setting it enables TLS between nodes"},
    {"node-key", &C::node_key, Y, "Path to the X.509 private key for node-to-node TLS"},
    {"node-ca-cert", &C::node_ca_cert, Y,
     "Path to the X.509 CA certificate that verifies other nodes' certificates"},
    {"node-no-verify", &C::node_no_verify, Y, "Skip verification of other nodes' certificates"},
    {"node-verify-client", &C::node_verify_client, Y,
     "Require certificates from connecting nodes (mutual TLS)"},
    {"node-verify-server-name", &C::node_verify_server_name, Y,
     "Hostname to expect in the certificates other nodes present"},
    {"node-verify-common-name", &C::node_verify_common_name, Y,
     "Common name that connecting nodes' certificates must carry. Requires -node-verify-client"},
    // Clustering and Raft.
    {"raft-addr", &C::raft_addr, Y, "Raft and cluster communication bind address"},
    {"raft-adv-addr", &C::raft_adv_addr, Y,
     "Advertised Raft address. If not set, same as Raft bind address"},
    {"join", &C::join, Y,
     "Comma-delimited list of nodes' Raft addresses, in host:port form, to join a cluster through"},
    {"join-attempts", &C::join_attempts, Y, "Number of join attempts to make for each address"},
    {"join-interval", &C::join_interval, Y, "Period between join attempts"},
    {"join-as", &C::join_as, Y,
     "Username in the authentication file to join as. If not set, joins anonymously"},
    {"bootstrap-expect", &C::bootstrap_expect, Y,
     "Minimum number of voting nodes required for a bootstrap"},
    {"bootstrap-expect-timeout", &C::bootstrap_expect_timeout, Y,
     "Maximum time for the bootstrap process"},
    {"disco-mode", &C::disco_mode, Y,
     "Discovery mode: consul-kv, etcd-kv, dns or dns-srv. If not set, no discovery"},
    {"disco-key", &C::disco_key, Y, "Key prefix for the cluster discovery service"},
    {"disco-config", &C::disco_config, Y,
     "Discovery configuration as JSON text, or the path to a JSON file"},
    {"raft-non-voter", &C::raft_non_voter, Y, "Run as a read replica (non-voting node)"},
    {"raft-snap", &C::raft_snap_entries, Y,
     "Number of outstanding log entries which triggers a snapshot"},
    {"raft-snap-wal-size", &C::raft_snap_wal_size_bytes, Y,
     "SQLite WAL size in bytes which triggers a snapshot. Set to 0 to disable"},
    {"raft-snap-int", &C::raft_snap_interval, Y, "Snapshot threshold check interval"},
    {"raft-leader-lease-timeout", &C::raft_leader_lease_timeout, Y,
     "Raft leader lease timeout. Use 0s for the Raft default"},
    {"raft-heartbeat-timeout", &C::raft_heartbeat_timeout, Y, "Raft heartbeat timeout"},
    {"raft-election-timeout", &C::raft_election_timeout, Y, "Raft election timeout"},
    {"raft-commit-timeout", &C::raft_commit_timeout, Y, "Raft commit timeout"},
    {"raft-apply-timeout", &C::raft_apply_timeout, Y, "Raft apply timeout"},
    {"raft-log-level", &C::raft_log_level, Y,
     "Minimum log level for the Raft module: ERROR, WARN, INFO or DEBUG"},
    {"raft-remove-shutdown", &C::raft_remove_shutdown, Y,
     "Shut down Raft if this node is removed from the cluster"},
    {"raft-cluster-remove-shutdown", &C::raft_cluster_remove_shutdown, Y,
     "Remove this node from the cluster on graceful shutdown"},
    {"raft-shutdown-stepdown", &C::raft_shutdown_stepdown, Y,
     "If leader, step down before shutting down. Enabled by default"},
    {"raft-reap-node-timeout", &C::raft_reap_node_timeout, Y,
     "Time after which an unreachable voting node is removed. If not set, no reaping"},
    {"raft-reap-read-only-node-timeout", &C::raft_reap_read_only_node_timeout, Y,
     "Time after which an unreachable non-voting node is removed. If not set, no reaping"},
    {"cluster-connect-timeout", &C::cluster_connect_timeout, Y,
     "Timeout for the initial connection to another node"},
    {"compress-snap-transport", &C::compress_snap_transport, Y,
     "Compress snapshots sent between nodes. Must be the same on every node"},
    // Database.
    {"fk", &C::fk, Y, "Enable SQLite foreign key constraints"},
    {"db-max-ro-conns", &C::db_max_ro_conns, Y,
     "Maximum number of concurrent read-only SQLite connections. 0 means no limit"},
    {"auto-vacuum-int", &C::auto_vacuum_interval, Y,
     "Period between automatic VACUUMs. If not set, not enabled"},
    {"auto-optimize-int", &C::auto_optimize_interval, Y,
     "Period between automatic 'PRAGMA optimize'. Set to 0h to disable"},
    // Queued writes and profiling.
    {"write-queue-capacity", &C::write_queue_capacity, Y, "Queued writes queue capacity"},
    {"write-queue-batch-size", &C::write_queue_batch_size, Y, "Queued writes queue batch size"},
    {"write-queue-timeout", &C::write_queue_timeout, Y, "Queued writes queue timeout"},
    {"write-queue-tx", &C::write_queue_tx, Y, "Use a transaction when processing a queued write"},
    {"cpu-profile", &C::cpu_profile, Y, "Path to a file for CPU profiling information"},
    {"mem-profile", &C::mem_profile, Y, "Path to a file for memory profiling information"},
    {"trace-profile", &C::trace_profile, Y, "Path to a file for trace profiling information"},
};

constexpr std::string_view kVersionUsage = "Show version information and exit";

FlagSet::Target TargetOf(Config& config, const Field& field) {
  return std::visit([&](auto member) -> FlagSet::Target { return &(config.*member); }, field);
}

// ---------------------------------------------------------------------------
// Flags of rqlite 5.7 to 7.x (API.md 1.2). Each is parsed with its old type,
// so a legacy boolean never swallows the next argument, then either noted
// (its effect is safe to drop and main logs why) or refused with what
// replaces it. -raft-timeout is the old name of -raft-heartbeat-timeout.

enum class LegacyType { kBool, kInt, kString, kDuration };
enum class LegacyAction { kNote, kRefuse, kAlias };

struct LegacySpec {
  std::string_view name;
  LegacyType type;
  LegacyAction action;
  std::string_view text;  // the note, or the reason for refusing
};

const LegacySpec kLegacy[] = {
    {"on-disk", LegacyType::kBool, LegacyAction::kNote,
     "-on-disk is no longer needed and was ignored: the database is always on disk"},
    {"on-disk-startup", LegacyType::kBool, LegacyAction::kNote,
     "-on-disk-startup was ignored: the database is always on disk"},
    {"on-disk-path", LegacyType::kString, LegacyAction::kRefuse,
     "it was removed in rqlite 10.0; the database is always db.sqlite in the data directory"},
    {"dsn", LegacyType::kString, LegacyAction::kRefuse,
     "it was removed in rqlite 8.0; SQLite connection options cannot be set (use -fk for "
     "foreign key constraints)"},
    {"http-no-verify", LegacyType::kBool, LegacyAction::kRefuse,
     "it was removed; nodes now join over the Raft address, so use -node-no-verify or "
     "-node-ca-cert"},
    {"node-encrypt", LegacyType::kBool, LegacyAction::kRefuse,
     "it was removed; TLS between nodes is on when -node-cert and -node-key are set"},
    {"disco-url", LegacyType::kString, LegacyAction::kRefuse,
     "it was removed in rqlite 7.0 with the discovery service; use -disco-mode and "
     "-disco-config, or -join"},
    {"disco-id", LegacyType::kString, LegacyAction::kRefuse,
     "it was removed in rqlite 7.0 with the discovery service; use -disco-mode and "
     "-disco-config, or -join"},
    {"expvar", LegacyType::kBool, LegacyAction::kNote,
     "-expvar was ignored: it was removed in rqlite 8.0 and the diagnostics endpoints are "
     "always on"},
    {"pprof", LegacyType::kBool, LegacyAction::kNote,
     "-pprof was ignored: it was removed in rqlite 8.0 and the diagnostics endpoints are "
     "always on"},
    {"raft-open-timeout", LegacyType::kDuration, LegacyAction::kNote,
     "-raft-open-timeout was ignored: startup no longer waits for the Raft log to be applied"},
    {"raft-timeout", LegacyType::kDuration, LegacyAction::kAlias,
     "-raft-timeout is the old name of -raft-heartbeat-timeout; its value was used as "
     "-raft-heartbeat-timeout"},
    {"compression-size", LegacyType::kInt, LegacyAction::kNote,
     "-compression-size was ignored: it was removed in rqlite 8.0"},
    {"compression-batch", LegacyType::kInt, LegacyAction::kNote,
     "-compression-batch was ignored: it was removed in rqlite 8.0"},
    {"raft-leader-wait", LegacyType::kBool, LegacyAction::kNote,
     "-raft-leader-wait was ignored: it was removed in rqlite 7"},
    {"join-source-ip", LegacyType::kString, LegacyAction::kRefuse,
     "it was removed; the operating system chooses the source address of join requests"},
    {"tls1011", LegacyType::kBool, LegacyAction::kRefuse,
     "it was removed; TLS 1.0 and 1.1 are not supported, clients need TLS 1.2 or later"},
    {"raft-no-freelist-sync", LegacyType::kBool, LegacyAction::kNote,
     "-raft-no-freelist-sync was ignored: the Raft log no longer uses BoltDB"},
    {"RaftWaitForLeader", LegacyType::kBool, LegacyAction::kNote,
     "-RaftWaitForLeader was ignored: it was removed in rqlite 7.0"},
};
constexpr size_t kLegacyCount = std::size(kLegacy);

// Storage for legacy values; only whether they were set matters.
struct LegacyValues {
  std::array<bool, kLegacyCount> bools{};
  std::array<int64_t, kLegacyCount> ints{};
  std::array<std::string, kLegacyCount> strings{};
  std::array<GoDuration, kLegacyCount> durations{};
};

FlagSet::Target LegacyTarget(Config& config, LegacyValues& values, size_t i) {
  if (kLegacy[i].action == LegacyAction::kAlias) return &config.raft_heartbeat_timeout;
  switch (kLegacy[i].type) {
    case LegacyType::kBool: return &values.bools[i];
    case LegacyType::kInt: return &values.ints[i];
    case LegacyType::kString: return &values.strings[i];
    case LegacyType::kDuration: return &values.durations[i];
  }
  RQ_UNREACHABLE();
}

void DefineAll(FlagSet& flags, Config& config, LegacyValues& legacy, bool* show_version) {
  for (const FlagSpec& spec : kFlags) flags.Define(spec.name, TargetOf(config, spec.field), spec.usage);
  flags.Define("version", show_version, kVersionUsage);
  for (size_t i = 0; i < kLegacyCount; ++i) {
    flags.Define(kLegacy[i].name, LegacyTarget(config, legacy, i), kLegacy[i].text,
                 FlagVisibility::kHidden);
  }
}

const LegacySpec* FindLegacy(std::string_view name) {
  for (const LegacySpec& spec : kLegacy) {
    if (spec.name == name) return &spec;
  }
  return nullptr;
}

constexpr std::string_view kDescription =
    "rqlited is a distributed relational database that uses SQLite as its storage engine\n"
    "and Raft to replicate it: an easy-to-use, fault-tolerant store for relational data.";

ParseResult Exit(int code, std::string stderr_text) {
  ParseResult result;
  result.exit_code = code;
  result.stderr_text = std::move(stderr_text);
  return result;
}

std::string GoSliceText(const std::vector<std::string>& items, size_t from) {
  std::string out = "[";
  for (size_t i = from; i < items.size(); ++i) out += (i > from ? " " : "") + items[i];
  return out + "]";
}

// Moves what the legacy flags asked for into the config, or says why not.
std::optional<std::string> ApplyLegacy(const FlagSet& flags, Config* config) {
  for (const std::string& name : flags.set_order()) {
    const LegacySpec* spec = FindLegacy(name);
    if (spec == nullptr) {
      config->set_flags.push_back(name);
      continue;
    }
    if (spec->action == LegacyAction::kRefuse) {
      return "flag -" + name + " is no longer supported: " + std::string(spec->text);
    }
    if (spec->action == LegacyAction::kAlias) config->set_flags.push_back("raft-heartbeat-timeout");
    config->legacy_notes.emplace_back(spec->text);
  }
  return std::nullopt;
}

}  // namespace

std::string UsageText() {
  Config defaults;
  LegacyValues legacy;
  bool show_version = false;
  FlagSet flags;
  DefineAll(flags, defaults, legacy, &show_version);
  return "\n" + std::string(kDescription) + "\n\nUsage: rqlited [flags] <data directory>\n" +
         flags.Defaults();
}

std::string VersionText(const BuildInfo& build) {
#if defined(__x86_64__)
  const char* arch = "amd64";
#elif defined(__aarch64__)
  const char* arch = "arm64";
#else
  const char* arch = "unknown";
#endif
#if defined(__clang__)
  const std::string compiler = "clang";
  const std::string toolchain = "clang" + std::to_string(__clang_major__) + "." +
                                std::to_string(__clang_minor__) + "." +
                                std::to_string(__clang_patchlevel__);
#elif defined(__GNUC__)
  const std::string compiler = "gcc";
  const std::string toolchain = "gcc" + std::to_string(__GNUC__) + "." +
                                std::to_string(__GNUC_MINOR__) + "." +
                                std::to_string(__GNUC_PATCHLEVEL__);
#else
  const std::string compiler = "unknown";
  const std::string toolchain = "unknown";
#endif
  return "rqlited " + build.version + " linux " + arch + " " + toolchain + " sqlite" +
         build.sqlite_version + " (commit " + build.commit + ", branch " + build.branch +
         ", compiler " + compiler + (build.build_time.empty() ? "" : ", built " + build.build_time) + ")";
}

std::vector<JoinTarget> ParseJoinTargets(std::string_view join) {
  std::vector<JoinTarget> targets;
  if (join.empty()) return targets;
  size_t start = 0;
  while (start <= join.size()) {
    size_t comma = join.find(',', start);
    if (comma == std::string_view::npos) comma = join.size();
    const std::string item(join.substr(start, comma - start));
    std::string lower = item;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    JoinTarget target;
    if (lower.starts_with("http://") || lower.starts_with("https://")) {
      target.http_url = item;
    } else {
      target.raft_addr = item;
    }
    targets.push_back(std::move(target));
    start = comma + 1;
  }
  return targets;
}

ParseResult ParseCommandLine(const std::vector<std::string>& args, const BuildInfo& build) {
  Config config;
  LegacyValues legacy;
  bool show_version = false;
  FlagSet flags;
  DefineAll(flags, config, legacy, &show_version);

  const FlagSet::Outcome outcome = flags.Parse(args);
  if (outcome.help_requested) return Exit(0, UsageText());
  if (outcome.error) return Exit(2, *outcome.error + "\n" + UsageText());
  if (std::optional<std::string> refused = ApplyLegacy(flags, &config)) {
    return Exit(2, *refused + "\nRun 'rqlited -h' for the list of flags.\n");
  }
  if (show_version) return Exit(0, VersionText(build) + "\n");  // stderr, as rqlite does
  if (outcome.positional.empty()) return Exit(1, "fatal: no data directory set\n");
  if (outcome.positional.size() > 1) {
    return Exit(1, "arguments after data directory (" + outcome.positional[0] +
                       ") are not accepted (" + GoSliceText(outcome.positional, 1) + ")\n");
  }
  config.data_path = outcome.positional[0];
  config.join_targets = ParseJoinTargets(config.join);
  for (const JoinTarget& target : config.join_targets) {
    if (target.http_url.empty()) continue;
    config.legacy_notes.push_back("-join " + target.http_url +
                                  " names a node's HTTP API (the rqlite 5 form) rather than its "
                                  "Raft address");
  }
  ParseResult result;
  result.config = std::move(config);
  return result;
}

ParseResult ParseAndValidate(const std::vector<std::string>& args, const BuildInfo& build) {
  ParseResult result = ParseCommandLine(args, build);
  if (!result.config) return result;
  if (Status status = result.config->Validate(); !status.ok()) {
    return Exit(1, "fatal: " + status.message() + "\n");
  }
  const std::vector<std::string> unsupported = result.config->UnsupportedFeatures();
  if (!unsupported.empty()) {
    std::string list;
    for (const std::string& flag : unsupported) list += (list.empty() ? "" : ", ") + flag;
    return Exit(1, "fatal: these flags name features this build does not implement yet: " +
                       list + "\n");
  }
  return result;
}

bool Config::WasSet(std::string_view flag) const {
  return std::find(set_flags.begin(), set_flags.end(), flag) != set_flags.end();
}

std::string Config::HttpUrl() const {
  RQ_ASSERT(!http_adv_addr.empty());
  return (http_cert.empty() ? "http://" : "https://") + http_adv_addr;
}

std::vector<std::string> Config::UnsupportedFeatures() const {
  std::vector<std::string> out;
  Config self = *this;  // TargetOf needs a mutable object; formatting only reads
  Config defaults;
  for (const FlagSpec& spec : kFlags) {
    if (spec.built == Built::kYes) continue;
    if (FlagSet::FormatValue(TargetOf(self, spec.field)) !=
        FlagSet::FormatValue(TargetOf(defaults, spec.field))) {
      out.push_back("-" + std::string(spec.name));
    }
  }
  return out;
}

}  // namespace rq::config
