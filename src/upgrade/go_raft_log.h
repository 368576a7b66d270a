// hashicorp/raft's log and stable store as hashicorp/raft-boltdb keeps them
// in raft.db, read-only.
//
// Format facts: bucket "logs" maps an 8-byte big-endian index to a msgpack
// map {Index, Term, Type, Data, Extensions[, AppendedAt]} (AppendedAt since
// raft 1.3: raw bytes of a msgpack timestamp body, 4, 8 or 12 bytes). Bucket
// "conf" holds "CurrentTerm" and "LastVoteTerm" (8-byte big-endian) and
// "LastVoteCand" (the candidate's Raft *address*), plus rqlite's own keys
// (rqlite_base_vacuum, ...). A LogConfiguration entry's Data is msgpack
// {Servers: [{Suffrage, ID, Address}]}; Suffrage 0 voter, 1 nonvoter,
// 2 staging. rqlite v5-v8 keep no other buckets in raft.db (snapshots live
// in their own directory).
//
// Thread-safety: GoRaftStore is immutable after Open.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "env/file_system.h"
#include "upgrade/bolt_reader.h"

namespace rq::upgrade {

// hashicorp/raft LogType values. DO NOT CHANGE: they are on disk.
enum class GoLogType : uint8_t {
  kCommand = 0,
  kNoop = 1,
  kAddPeerDeprecated = 2,
  kRemovePeerDeprecated = 3,
  kBarrier = 4,
  kConfiguration = 5,
};
const char* GoLogTypeName(uint8_t type);

struct GoLogEntry {
  uint64_t index = 0;
  uint64_t term = 0;
  uint8_t type = 0;  // a GoLogType; other values are kept, not refused
  std::string data;
  std::string extensions;
  std::optional<int64_t> appended_at_unix_ns;  // absent before raft 1.3 or when zero
};

enum class GoSuffrage : uint8_t { kVoter = 0, kNonvoter = 1, kStaging = 2 };
const char* GoSuffrageName(GoSuffrage suffrage);

struct GoServer {
  GoSuffrage suffrage = GoSuffrage::kVoter;
  std::string id;
  std::string address;
  bool operator==(const GoServer&) const = default;
};

struct GoConfiguration {
  std::vector<GoServer> servers;
  // The server whose Raft address is `address`; nullptr when none.
  const GoServer* FindByAddress(std::string_view address) const;
};

struct GoHardState {
  uint64_t current_term = 0;
  uint64_t last_vote_term = 0;
  std::string last_vote_candidate;  // a Raft address, empty when never voted
};

// Decoders of single records (exposed for tests and fuzzing).
Result<GoLogEntry> DecodeGoLogEntry(std::string_view msgpack);
Result<GoConfiguration> DecodeGoConfiguration(std::string_view msgpack);
// Nanoseconds since the epoch from a msgpack timestamp body (4, 8 or 12
// bytes) or time.MarshalBinary output (15 or 16 bytes, version 1 or 2).
std::optional<int64_t> DecodeGoTime(std::string_view body);

class GoRaftStore {
 public:
  // Opens raft.db read-only and reads the conf bucket. Corruption names the
  // file; a file without "logs" or "conf" buckets is Corruption too.
  static Result<GoRaftStore> Open(env::FileSystem& fs, const std::string& path);
  static Result<GoRaftStore> FromBolt(BoltReader bolt);

  const std::string& path() const { return bolt_.name(); }
  const GoHardState& hard_state() const { return hard_state_; }
  // Names of the top-level buckets, in key order.
  const std::vector<std::string>& buckets() const { return buckets_; }
  // Keys of the conf bucket (for logging what is there).
  const std::vector<std::string>& conf_keys() const { return conf_keys_; }

  // Calls fn with each entry in index order. Each key must be 8 bytes and
  // equal the entry's Index, and indexes must be consecutive (a gap is
  // Corruption naming both indexes).
  Status ForEachEntry(const std::function<Status(const GoLogEntry&)>& fn) const;
  Result<std::vector<GoLogEntry>> ReadAll() const;

 private:
  explicit GoRaftStore(BoltReader bolt) : bolt_(std::move(bolt)) {}
  Status ReadConf(const BoltBucket& conf);

  BoltReader bolt_;
  BoltBucket logs_;
  GoHardState hard_state_;
  std::vector<std::string> buckets_;
  std::vector<std::string> conf_keys_;
};

// The configuration in effect after `entries`: the last LogConfiguration
// entry's, or nullopt when there is none (the snapshot's then applies).
Result<std::optional<GoConfiguration>> LatestConfiguration(const std::vector<GoLogEntry>& entries);

}  // namespace rq::upgrade
