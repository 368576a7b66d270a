// DNS discovery for -bootstrap-expect (API.md 4.11): -disco-mode dns
// resolves the A/AAAA records of {"name": ...} and assumes every node uses
// this node's Raft port; dns-srv looks up _<service>._tcp.<name> SRV records,
// which name each node's host and port. RQLITE_DISCO_DNS_HOSTS replaces
// the lookup in dns mode. The node set is read again on every
// bootstrap round, so nodes that appear later are found.
//
// -disco-config is JSON text or the path of a JSON file; $VAR and ${VAR}
// are expanded from the environment first (as rqlite does).
//
// Thread-safety: plain functions; a Discovery may be called from one thread
// at a time.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::disco {

// The current Raft addresses (host:port) of the cluster's nodes.
using Discovery = std::function<Result<std::vector<std::string>>()>;

// The -disco-config text itself: a file's contents when it names a file.
Result<std::string> ReadDiscoConfig(const std::string& value);

// InvalidArgument naming what is wrong (unknown mode, bad JSON, no "name").
// `raft_port` is this node's Raft port (the port of -raft-adv-addr).
Result<Discovery> MakeDnsDiscovery(const std::string& mode, const std::string& config_text,
                                   const std::string& raft_port);

// When set, -disco-mode dns answers with this comma-separated host:port list
// instead of resolving the name, as rqlite's DNS client does.
inline constexpr const char* kDnsHostsOverrideEnv = "RQLITE_DISCO_DNS_HOSTS";
Result<std::vector<std::string>> HostsFromOverride(std::string_view list);

// Lookups (exposed for tests).
Result<std::vector<std::string>> ResolveHosts(const std::string& name);
Result<std::vector<std::string>> ResolveSrv(const std::string& service, const std::string& name);

}  // namespace rq::disco
