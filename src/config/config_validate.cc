// Config::Validate: the startup checks of API.md 1.1 "Checks at startup".
// Kept apart from config.cc (the flag table and argv parsing) for size.
#include <arpa/inet.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "config/config.h"

namespace rq::config {

// Each check returns the first problem it finds, with a message that names
// the flag and the value.

namespace {

// Go's net.SplitHostPort, with its error texts.
struct HostPort {
  std::string host;
  std::string port;
};
Result<HostPort> SplitHostPort(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return Status::InvalidArgument("missing port in address");
  HostPort out;
  if (!address.empty() && address[0] == '[') {
    const size_t close = address.find(']');
    if (close == std::string_view::npos) return Status::InvalidArgument("missing ']' in address");
    if (close + 1 == address.size()) return Status::InvalidArgument("missing port in address");
    if (close + 1 != colon) {
      return Status::InvalidArgument(address[close + 1] == ':' ? "too many colons in address"
                                                               : "missing port in address");
    }
    out.host = std::string(address.substr(1, close - 1));
    if (out.host.find_first_of("[]") != std::string::npos) {
      return Status::InvalidArgument("unexpected '[' or ']' in address");
    }
  } else {
    out.host = std::string(address.substr(0, colon));
    if (out.host.find(':') != std::string::npos) {
      return Status::InvalidArgument("too many colons in address");
    }
    if (out.host.find_first_of("[]") != std::string::npos) {
      return Status::InvalidArgument("unexpected '[' or ']' in address");
    }
  }
  out.port = std::string(address.substr(colon + 1));
  return out;
}

bool IsPortNumber(std::string_view port) {
  if (port.empty() || port.size() > 5) return false;
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return false;
  }
  return std::stoi(std::string(port)) <= 65535;
}

// 0.0.0.0, ::, and their spellings: an address that means "every interface".
bool IsUnspecifiedIp(const std::string& host) {
  unsigned char bytes[16] = {};
  if (inet_pton(AF_INET, host.c_str(), bytes) == 1) {
    return std::all_of(bytes, bytes + 4, [](unsigned char b) { return b == 0; });
  }
  if (inet_pton(AF_INET6, host.c_str(), bytes) != 1) return false;
  const bool zero_prefix = std::all_of(bytes, bytes + 10, [](unsigned char b) { return b == 0; });
  const bool zero_tail = std::all_of(bytes + 12, bytes + 16, [](unsigned char b) { return b == 0; });
  const bool mapped = bytes[10] == 0xff && bytes[11] == 0xff;  // ::ffff:0.0.0.0
  return zero_prefix && zero_tail && (mapped || (bytes[10] == 0 && bytes[11] == 0));
}

bool HasScheme(std::string_view address) { return address.find("://") != std::string_view::npos; }

// `flag` names the address in messages ("-http-addr", "-join").
Result<HostPort> CheckHostPort(std::string_view flag, std::string_view address) {
  if (HasScheme(address)) {
    return Status::InvalidArgument(std::string(flag) + " value \"" + std::string(address) +
                                   "\" must be host:port, without a scheme such as http://");
  }
  Result<HostPort> split = SplitHostPort(address);
  if (!split.ok()) {
    return Status::InvalidArgument(std::string(flag) + " value \"" + std::string(address) +
                                   "\" is not a valid host:port address: " +
                                   split.status().message());
  }
  if (!IsPortNumber(split->port)) {
    return Status::InvalidArgument(std::string(flag) + " value \"" + std::string(address) +
                                   "\" has an invalid port \"" + split->port +
                                   "\": it must be a number from 0 to 65535");
  }
  return split;
}

Status CheckAdvertised(std::string_view flag, std::string_view bind_flag, std::string_view address) {
  Result<HostPort> split = CheckHostPort(flag, address);
  RQ_RETURN_IF_ERROR(split.status());
  if (IsUnspecifiedIp(split->host)) {
    return Status::InvalidArgument("advertised address " + std::string(address) +
                                   " is not routable (" + split->host +
                                   " means every interface); set a reachable address with " +
                                   std::string(flag) + " or " + std::string(bind_flag));
  }
  return Status::OK();
}

bool IsFile(const std::string& path) {
  std::error_code error;
  return std::filesystem::exists(path, error);
}

Status CheckFilesExist(const Config& c) {
  const std::pair<std::string_view, const std::string*> files[] = {
      {"-auth", &c.auth_file},         {"-auto-backup", &c.auto_backup_file},
      {"-auto-restore", &c.auto_restore_file}, {"-http-ca-cert", &c.http_ca_cert},
      {"-http-cert", &c.http_cert},     {"-http-key", &c.http_key},
      {"-node-ca-cert", &c.node_ca_cert}, {"-node-cert", &c.node_cert},
      {"-node-key", &c.node_key},       {"-otlp-ca-cert", &c.otlp_ca_cert},
      {"-otlp-cert", &c.otlp_cert},     {"-otlp-key", &c.otlp_key},
  };
  for (const auto& [flag, path] : files) {
    if (!path->empty() && !IsFile(*path)) {
      return Status::NotFound(std::string(flag) + " names " + *path + ", which does not exist");
    }
  }
  for (const std::string& path : c.extensions_paths) {
    if (!IsFile(path)) return Status::NotFound("extension path does not exist: " + path);
  }
  const std::string& cdc = c.cdc_config;
  const bool cdc_is_file = !cdc.empty() && cdc != "stdout" && !cdc.starts_with("http://") &&
                           !cdc.starts_with("https://");
  if (cdc_is_file && !IsFile(cdc)) {
    return Status::NotFound("-cdc-config names " + cdc +
                            ", which is not an http(s) URL, stdout, or an existing file");
  }
  return Status::OK();
}

Status CheckPair(std::string_view a_flag, const std::string& a, std::string_view b_flag,
                 const std::string& b) {
  if (a.empty() == b.empty()) return Status::OK();
  return Status::InvalidArgument("either both " + std::string(a_flag) + " and " +
                                 std::string(b_flag) + " must be set, or neither");
}

Status CheckTls(const Config& c) {
  RQ_RETURN_IF_ERROR(CheckPair("-http-cert", c.http_cert, "-http-key", c.http_key));
  RQ_RETURN_IF_ERROR(CheckPair("-node-cert", c.node_cert, "-node-key", c.node_key));
  if (!c.http_verify_common_name.empty() && !c.http_verify_client) {
    return Status::InvalidArgument("-http-verify-common-name requires -http-verify-client");
  }
  if (!c.node_verify_common_name.empty() && !c.node_verify_client) {
    return Status::InvalidArgument("-node-verify-common-name requires -node-verify-client");
  }
  // The -join-as user's password comes from the -auth file.
  if (!c.join_as.empty() && c.auth_file.empty()) {
    return Status::InvalidArgument("-join-as requires -auth (the file holding that user's password)");
  }
  return Status::OK();
}

Status CheckAddresses(Config& c) {
  if (c.http_addr == c.raft_addr) {
    return Status::InvalidArgument("HTTP and Raft addresses must differ (both are " + c.http_addr +
                                   ")");
  }
  if (c.http_adv_addr.empty()) c.http_adv_addr = c.http_addr;
  if (c.raft_adv_addr.empty()) c.raft_adv_addr = c.raft_addr;
  if (c.node_id.empty()) c.node_id = c.raft_adv_addr;
  RQ_RETURN_IF_ERROR(CheckHostPort("-http-addr", c.http_addr).status());
  RQ_RETURN_IF_ERROR(CheckAdvertised("-http-adv-addr", "-http-addr", c.http_adv_addr));
  RQ_RETURN_IF_ERROR(CheckHostPort("-raft-addr", c.raft_addr).status());
  RQ_RETURN_IF_ERROR(CheckAdvertised("-raft-adv-addr", "-raft-addr", c.raft_adv_addr));
  if (c.http_adv_addr == c.raft_adv_addr) {
    return Status::InvalidArgument("advertised HTTP and Raft addresses must differ (both are " +
                                   c.http_adv_addr + ")");
  }
  return Status::OK();
}

// A v5 join URL: http(s)://host:port[/path]. Returns its host:port.
Result<std::string> JoinUrlAuthority(const std::string& url) {
  const size_t start = url.find("://") + 3;
  const size_t end = url.find_first_of("/?#", start);
  const std::string authority = url.substr(start, end == std::string::npos ? end : end - start);
  const std::string bad = "-join value \"" + url + "\" is not a valid HTTP URL: ";
  if (authority.empty() || authority.find('@') != std::string::npos) {
    return Status::InvalidArgument(bad + "it needs host:port after the scheme");
  }
  Result<HostPort> split = SplitHostPort(authority);
  if (!split.ok()) return Status::InvalidArgument(bad + split.status().message());
  if (split->host.empty() || !IsPortNumber(split->port)) {
    return Status::InvalidArgument(bad + "it needs a host and a numeric port");
  }
  return authority;
}

// A host given without a port gets rqlite's default: 4001 for an API URL,
// 4002 for a Raft address (`-join http://node1`, `-join node1`).
bool HasPort(std::string_view authority) {
  const size_t colon = authority.rfind(':');
  const size_t bracket = authority.rfind(']');
  return colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket);
}

void ApplyDefaultJoinPorts(std::vector<JoinTarget>& targets) {
  for (JoinTarget& target : targets) {
    if (!target.http_url.empty()) {
      const size_t start = target.http_url.find("://") + 3;
      const size_t end = std::min(target.http_url.find_first_of("/?#", start), target.http_url.size());
      const std::string_view authority = std::string_view(target.http_url).substr(start, end - start);
      if (!authority.empty() && !HasPort(authority)) target.http_url.insert(end, ":4001");
    } else if (!target.raft_addr.empty() && !HasPort(target.raft_addr)) {
      target.raft_addr += ":4002";
    }
  }
}

Status CheckJoin(const Config& c) {
  if (c.join_targets.empty()) return Status::OK();
  if (!c.disco_mode.empty()) {
    return Status::InvalidArgument("-disco-mode cannot be used together with -join");
  }
  const bool bootstrapping = c.bootstrap_expect > 0;
  if (!bootstrapping && !c.auto_restore_file.empty()) {
    return Status::InvalidArgument(
        "-auto-restore cannot be used when joining a cluster (unless bootstrapping)");
  }
  for (const JoinTarget& target : c.join_targets) {
    std::string self_match;
    if (!target.http_url.empty()) {
      Result<std::string> authority = JoinUrlAuthority(target.http_url);
      RQ_RETURN_IF_ERROR(authority.status());
      if (*authority == c.http_addr || *authority == c.http_adv_addr) self_match = target.http_url;
    } else {
      if (target.raft_addr.empty()) {
        return Status::InvalidArgument("-join value \"" + c.join + "\" has an empty address");
      }
      RQ_RETURN_IF_ERROR(CheckHostPort("-join", target.raft_addr).status());
      if (target.raft_addr == c.raft_addr || target.raft_addr == c.raft_adv_addr) {
        self_match = target.raft_addr;
      }
    }
    if (!bootstrapping && !self_match.empty()) {
      return Status::InvalidArgument("node cannot join itself (" + self_match +
                                     ") unless bootstrapping with -bootstrap-expect");
    }
  }
  return Status::OK();
}

Status CheckRoleAndDiscovery(const Config& c) {
  if (c.raft_non_voter && c.bootstrap_expect > 0) {
    return Status::InvalidArgument("-bootstrap-expect applies only to voting nodes, not with "
                                   "-raft-non-voter");
  }
  if (c.bootstrap_expect > 1 && c.join_targets.empty() && c.disco_mode.empty()) {
    return Status::InvalidArgument("-bootstrap-expect needs -join with the addresses of the other nodes");
  }
  if (c.raft_non_voter && !c.cdc_config.empty()) {
    return Status::InvalidArgument("-cdc-config cannot be used on a non-voting node");
  }
  const std::string& mode = c.disco_mode;
  if (mode.empty()) return Status::OK();
  if (mode == "consul-kv" || mode == "etcd-kv") {
    if (c.bootstrap_expect > 0) {
      return Status::InvalidArgument("-bootstrap-expect cannot be used with -disco-mode " + mode);
    }
    return Status::OK();
  }
  if (mode == "dns" || mode == "dns-srv") {
    if (c.bootstrap_expect == 0 && !c.raft_non_voter) {
      return Status::InvalidArgument("-bootstrap-expect is required when using -disco-mode " +
                                     mode + " on a voting node");
    }
    return Status::OK();
  }
  return Status::InvalidArgument("-disco-mode \"" + mode +
                                 "\" is not valid: it must be consul-kv, etcd-kv, dns or dns-srv");
}

Status CheckOtlp(const Config& c) {
  const bool any_option = c.WasSet("otlp-interval") || c.otlp_insecure || c.otlp_no_verify ||
                          !c.otlp_ca_cert.empty() || !c.otlp_cert.empty() || !c.otlp_key.empty();
  if (c.otlp_endpoint.empty()) {
    if (any_option) return Status::InvalidArgument("the -otlp-* options require -otlp-endpoint");
    return Status::OK();
  }
  RQ_RETURN_IF_ERROR(CheckHostPort("-otlp-endpoint", c.otlp_endpoint).status());
  if (c.otlp_interval <= GoDuration::zero()) {
    return Status::InvalidArgument("-otlp-interval must be greater than 0");
  }
  if (c.otlp_insecure &&
      (c.otlp_no_verify || !c.otlp_ca_cert.empty() || !c.otlp_cert.empty() ||
       !c.otlp_key.empty())) {
    return Status::InvalidArgument("-otlp-insecure cannot be combined with -otlp-no-verify, "
                                   "-otlp-ca-cert, -otlp-cert or -otlp-key");
  }
  return CheckPair("-otlp-cert", c.otlp_cert, "-otlp-key", c.otlp_key);
}

Status CheckPositive(std::string_view flag, GoDuration value) {
  if (value > GoDuration::zero()) return Status::OK();
  return Status::InvalidArgument("-" + std::string(flag) + " must be greater than 0 (it is " +
                                 FormatGoDuration(value) + ")");
}

Status CheckNotNegative(std::string_view flag, GoDuration value) {
  if (value >= GoDuration::zero()) return Status::OK();
  return Status::InvalidArgument("-" + std::string(flag) + " cannot be negative (it is " +
                                 FormatGoDuration(value) + ")");
}

Status CheckDurations(const Config& c) {
  // rqlite: the reaping timeouts are off by default, but 0 set on purpose is a mistake.
  if (c.WasSet("raft-reap-node-timeout")) {
    RQ_RETURN_IF_ERROR(CheckPositive("raft-reap-node-timeout", c.raft_reap_node_timeout));
  }
  if (c.WasSet("raft-reap-read-only-node-timeout")) {
    RQ_RETURN_IF_ERROR(
        CheckPositive("raft-reap-read-only-node-timeout", c.raft_reap_read_only_node_timeout));
  }
  // A timer of zero would spin: these must be positive.
  RQ_RETURN_IF_ERROR(CheckPositive("raft-heartbeat-timeout", c.raft_heartbeat_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("raft-election-timeout", c.raft_election_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("raft-commit-timeout", c.raft_commit_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("raft-apply-timeout", c.raft_apply_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("raft-snap-int", c.raft_snap_interval));
  RQ_RETURN_IF_ERROR(CheckPositive("write-queue-timeout", c.write_queue_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("cluster-connect-timeout", c.cluster_connect_timeout));
  RQ_RETURN_IF_ERROR(CheckPositive("bootstrap-expect-timeout", c.bootstrap_expect_timeout));
  // Zero means "off" or "library default" for these.
  RQ_RETURN_IF_ERROR(CheckNotNegative("join-interval", c.join_interval));
  RQ_RETURN_IF_ERROR(CheckNotNegative("raft-leader-lease-timeout", c.raft_leader_lease_timeout));
  // The lease is checked in ticks of a tenth of the election timeout: it
  // must span two of them, and end before the others could elect another.
  if (c.raft_leader_lease_timeout.count() != 0 &&
      (c.raft_leader_lease_timeout > c.raft_election_timeout ||
       c.raft_leader_lease_timeout * 5 < c.raft_election_timeout)) {
    return Status::InvalidArgument(
        "-raft-leader-lease-timeout must be between a fifth of -raft-election-timeout and all of it");
  }
  RQ_RETURN_IF_ERROR(CheckNotNegative("auto-vacuum-int", c.auto_vacuum_interval));
  return CheckNotNegative("auto-optimize-int", c.auto_optimize_interval);
}

Status CheckCounts(const Config& c) {
  const std::pair<std::string_view, int64_t> positive[] = {
      {"join-attempts", c.join_attempts},
      {"write-queue-capacity", c.write_queue_capacity},
      {"write-queue-batch-size", c.write_queue_batch_size},
  };
  for (const auto& [flag, value] : positive) {
    if (value <= 0) {
      return Status::InvalidArgument("-" + std::string(flag) + " must be greater than 0 (it is " +
                                     std::to_string(value) + ")");
    }
  }
  if (c.bootstrap_expect < 0) return Status::InvalidArgument("-bootstrap-expect cannot be negative");
  if (c.db_max_ro_conns < 0) return Status::InvalidArgument("-db-max-ro-conns cannot be negative");
  std::string level = c.raft_log_level;
  std::transform(level.begin(), level.end(), level.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  if (level != "ERROR" && level != "WARN" && level != "INFO" && level != "DEBUG") {
    return Status::InvalidArgument("-raft-log-level \"" + c.raft_log_level +
                                   "\" is not valid: it must be ERROR, WARN, INFO or DEBUG");
  }
  return Status::OK();
}

}  // namespace

Status Config::Validate() {
  if (data_path.empty()) return Status::InvalidArgument("no data directory set");
  std::error_code error;
  const std::filesystem::path absolute = std::filesystem::absolute(data_path, error);
  if (error) {
    return Status::InvalidArgument("failed to determine absolute data path: " + error.message());
  }
  std::string normal = absolute.lexically_normal().string();
  while (normal.size() > 1 && normal.back() == '/') normal.pop_back();
  data_path = normal;
  RQ_RETURN_IF_ERROR(CheckFilesExist(*this));
  RQ_RETURN_IF_ERROR(CheckTls(*this));
  RQ_RETURN_IF_ERROR(CheckAddresses(*this));
  RQ_RETURN_IF_ERROR(CheckRoleAndDiscovery(*this));
  ApplyDefaultJoinPorts(join_targets);
  RQ_RETURN_IF_ERROR(CheckJoin(*this));
  RQ_RETURN_IF_ERROR(CheckOtlp(*this));
  RQ_RETURN_IF_ERROR(CheckDurations(*this));
  return CheckCounts(*this);
}

}  // namespace rq::config
