// LogConverter: turns hashicorp/raft log entries written by Go rqlite into
// our Raft entries, one for one, keeping each entry's index and term. Every
// node of a cluster converts its own log the same way, so entries that were
// equal on two Go nodes are equal after conversion and Raft's log matching
// property still holds across the converted cluster.
//
// How each Go entry maps (docs/upgrade.md):
//   LogCommand       -> a normal entry carrying our command::Command
//                       (execute, query, execute_query, load; rqlite's noop,
//                       join and metadata commands become our noop);
//   LogNoop, Barrier -> raft::EntryType::kNoop;
//   LogConfiguration -> one raft::ConfigChange: the difference from the
//                       configuration before it (hashicorp/raft changes one
//                       server at a time), or kNoop when nothing differs.
// A LOAD_CHUNK stream becomes one LOAD at its last chunk (the earlier chunks
// are noops), which applies the same database at the same index.
//
// Thread-safety: none; one converter per log, fed in index order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "base/status.h"
#include "raft/types.h"
#include "store/node_directory.h"
#include "upgrade/go_raft_log.h"
#include "upgrade/go_rqlite_command.h"

namespace rq::node {

// The membership a Go configuration describes: voters, and non-voters and
// staging servers as learners.
raft::Membership MembershipOf(const upgrade::GoConfiguration& configuration);

class LogConverter {
 public:
  // `start` is the configuration in effect before the first entry fed (the
  // snapshot's; empty when there is none). `api_addresses` maps node ids to
  // HTTP API addresses where they are known (v5/v6 metadata); they go into
  // the config changes' contexts.
  LogConverter(upgrade::GoCommandDialect dialect, upgrade::GoConfiguration start, std::map<std::string, std::string> api_addresses);

  // The entry that takes `go`'s place. NotSupported for what has no
  // counterpart here (pre-1.0 peer entries, a configuration changing several
  // servers at once, a load stream that began before the converted range);
  // Corruption for an undecodable command. Errors name the entry's index.
  Result<raft::Entry> Convert(const upgrade::GoLogEntry& go);

  // The configuration after the last entry fed.
  const upgrade::GoConfiguration& configuration() const { return configuration_; }

 private:
  Result<raft::Entry> ConvertCommand(const upgrade::GoLogEntry& go);
  Result<raft::Entry> ConvertConfiguration(const upgrade::GoLogEntry& go);
  store::NodeAddress AddressOf(const upgrade::GoServer& server) const;

  upgrade::GoCommandDialect dialect_;
  upgrade::GoConfiguration configuration_;
  std::map<std::string, std::string> api_addresses_;
  struct LoadStream {
    int64_t next_sequence = 0;
    std::string gzip;  // the chunks so far
  };
  std::map<std::string, LoadStream> load_streams_;  // by stream id
};

// The node's HTTP API addresses that v5/v6 kept in the log as metadata
// (MetadataSet {raft_id, {"api_addr": ...}}); later entries win.
void CollectApiAddress(const upgrade::GoCommand& command, std::map<std::string, std::string>* api_addresses);

}  // namespace rq::node
