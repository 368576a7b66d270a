// raft-boltdb records: log entries, the conf bucket, configurations.
#include "upgrade/go_raft_log.h"

#include <string>
#include <utility>

#include "upgrade/msgpack.h"

namespace rq::upgrade {

namespace {

uint64_t DecodeBigEndian64(std::string_view bytes) {
  uint64_t v = 0;
  for (char c : bytes) v = (v << 8) | static_cast<uint8_t>(c);
  return v;
}

Status FieldError(std::string_view record, std::string_view field, std::string_view why) {
  return Status::Corruption(std::string(record) + ": field " + std::string(field) + " " + std::string(why));
}

// An unsigned field that go-msgpack wrote as an integer; absent means 0.
Status UintField(const MsgpackValue& map, std::string_view record, std::string_view name, uint64_t* out) {
  const MsgpackValue* v = map.Find(name);
  if (v == nullptr || v->is_nil()) {
    *out = 0;
    return Status::OK();
  }
  std::optional<uint64_t> value = v->AsUint();
  if (!value) return FieldError(record, name, "is not an unsigned integer");
  *out = *value;
  return Status::OK();
}

// A []byte or string field; absent or nil means empty.
Status BytesField(const MsgpackValue& map, std::string_view record, std::string_view name, std::string* out) {
  const MsgpackValue* v = map.Find(name);
  out->clear();
  if (v == nullptr || v->is_nil()) return Status::OK();
  std::optional<std::string_view> bytes = v->AsBytes();
  if (!bytes) return FieldError(record, name, "is not a byte string");
  out->assign(*bytes);
  return Status::OK();
}

}  // namespace

const char* GoLogTypeName(uint8_t type) {
  switch (static_cast<GoLogType>(type)) {
    case GoLogType::kCommand: return "LogCommand";
    case GoLogType::kNoop: return "LogNoop";
    case GoLogType::kAddPeerDeprecated: return "LogAddPeerDeprecated";
    case GoLogType::kRemovePeerDeprecated: return "LogRemovePeerDeprecated";
    case GoLogType::kBarrier: return "LogBarrier";
    case GoLogType::kConfiguration: return "LogConfiguration";
  }
  return "unknown";
}

const char* GoSuffrageName(GoSuffrage suffrage) {
  switch (suffrage) {
    case GoSuffrage::kVoter: return "Voter";
    case GoSuffrage::kNonvoter: return "Nonvoter";
    case GoSuffrage::kStaging: return "Staging";
  }
  return "unknown";
}

const GoServer* GoConfiguration::FindByAddress(std::string_view address) const {
  for (const GoServer& server : servers) {
    if (server.address == address) return &server;
  }
  return nullptr;
}

std::optional<int64_t> DecodeGoTime(std::string_view body) {
  const auto u8 = [&](size_t i) { return static_cast<uint64_t>(static_cast<uint8_t>(body[i])); };
  switch (body.size()) {
    case 4:  // timestamp 32: seconds
      return static_cast<int64_t>(DecodeBigEndian64(body)) * 1'000'000'000;
    case 8: {  // timestamp 64: nanoseconds in the top 30 bits, seconds in the low 34
      uint64_t v = DecodeBigEndian64(body);
      uint64_t nanos = v >> 34;
      int64_t seconds = static_cast<int64_t>(v & ((uint64_t{1} << 34) - 1));
      if (nanos >= 1'000'000'000 || seconds > INT64_MAX / 1'000'000'000 - 1) return std::nullopt;
      return seconds * 1'000'000'000 + static_cast<int64_t>(nanos);
    }
    case 12: {  // timestamp 96: nanoseconds u32, seconds i64
      uint64_t nanos = DecodeBigEndian64(body.substr(0, 4));
      int64_t seconds = static_cast<int64_t>(DecodeBigEndian64(body.substr(4)));
      if (nanos >= 1'000'000'000 || seconds > INT64_MAX / 1'000'000'000 - 1 ||
          seconds < INT64_MIN / 1'000'000'000 + 1) {
        return std::nullopt;
      }
      return seconds * 1'000'000'000 + static_cast<int64_t>(nanos);
    }
    case 15:
    case 16: {  // time.MarshalBinary: version, seconds since year 1, nanos, zone
      if (u8(0) != 1 && u8(0) != 2) return std::nullopt;
      int64_t seconds = static_cast<int64_t>(DecodeBigEndian64(body.substr(1, 8)));
      uint64_t nanos = DecodeBigEndian64(body.substr(9, 4));
      constexpr int64_t kYearOneToUnix = 62135596800;
      if (seconds == 0 && nanos == 0) return std::nullopt;  // the zero time
      if (nanos >= 1'000'000'000 || seconds < kYearOneToUnix ||
          seconds - kYearOneToUnix > INT64_MAX / 1'000'000'000 - 1) {
        return std::nullopt;
      }
      return (seconds - kYearOneToUnix) * 1'000'000'000 + static_cast<int64_t>(nanos);
    }
    default:
      return std::nullopt;
  }
}

Result<GoLogEntry> DecodeGoLogEntry(std::string_view msgpack) {
  Result<MsgpackValue> value = DecodeMsgpack(msgpack);
  if (!value.ok()) return value.status();
  if (value->kind != MsgpackValue::Kind::kMap) return Status::Corruption("raft.Log: not a msgpack map");
  GoLogEntry entry;
  uint64_t type = 0;
  RQ_RETURN_IF_ERROR(UintField(*value, "raft.Log", "Index", &entry.index));
  RQ_RETURN_IF_ERROR(UintField(*value, "raft.Log", "Term", &entry.term));
  RQ_RETURN_IF_ERROR(UintField(*value, "raft.Log", "Type", &type));
  if (type > 0xff) return FieldError("raft.Log", "Type", "is out of range");
  entry.type = static_cast<uint8_t>(type);
  RQ_RETURN_IF_ERROR(BytesField(*value, "raft.Log", "Data", &entry.data));
  RQ_RETURN_IF_ERROR(BytesField(*value, "raft.Log", "Extensions", &entry.extensions));
  if (const MsgpackValue* at = value->Find("AppendedAt"); at != nullptr && !at->is_nil()) {
    if (at->kind == MsgpackValue::Kind::kExt && at->ext_type == -1) {
      entry.appended_at_unix_ns = DecodeGoTime(at->bytes);
    } else if (std::optional<std::string_view> body = at->AsBytes()) {
      entry.appended_at_unix_ns = DecodeGoTime(*body);
    }
    // Anything else is a time we cannot read: AppendedAt is informational
    // (rqlite's freshness checks), so it is dropped rather than refused.
  }
  return entry;
}

Result<GoConfiguration> DecodeGoConfiguration(std::string_view msgpack) {
  Result<MsgpackValue> value = DecodeMsgpack(msgpack);
  if (!value.ok()) return value.status();
  if (value->kind != MsgpackValue::Kind::kMap) return Status::Corruption("raft.Configuration: not a msgpack map");
  const MsgpackValue* servers = value->Find("Servers");
  GoConfiguration config;
  if (servers == nullptr || servers->is_nil()) return config;
  if (servers->kind != MsgpackValue::Kind::kArray) {
    return FieldError("raft.Configuration", "Servers", "is not an array");
  }
  for (const MsgpackValue& s : servers->items) {
    if (s.kind != MsgpackValue::Kind::kMap) return Status::Corruption("raft.Configuration: a server is not a map");
    GoServer server;
    uint64_t suffrage = 0;
    RQ_RETURN_IF_ERROR(UintField(s, "raft.Server", "Suffrage", &suffrage));
    if (suffrage > 2) return FieldError("raft.Server", "Suffrage", "is " + std::to_string(suffrage));
    server.suffrage = static_cast<GoSuffrage>(suffrage);
    RQ_RETURN_IF_ERROR(BytesField(s, "raft.Server", "ID", &server.id));
    RQ_RETURN_IF_ERROR(BytesField(s, "raft.Server", "Address", &server.address));
    if (server.id.empty()) return FieldError("raft.Server", "ID", "is empty");
    for (const GoServer& other : config.servers) {
      if (other.id == server.id) return Status::Corruption("raft.Configuration: server id " + server.id + " twice");
    }
    config.servers.push_back(std::move(server));
  }
  return config;
}

Result<GoRaftStore> GoRaftStore::Open(env::FileSystem& fs, const std::string& path) {
  Result<BoltReader> bolt = BoltReader::Open(fs, path);
  if (!bolt.ok()) return bolt.status();
  return FromBolt(std::move(*bolt));
}

Result<GoRaftStore> GoRaftStore::FromBolt(BoltReader bolt) {
  GoRaftStore store(std::move(bolt));
  const BoltReader& reader = store.bolt_;
  std::optional<BoltBucket> logs, conf;
  Status status = reader.ForEach(reader.Root(), [&](const BoltItem& item) -> Status {
    store.buckets_.emplace_back(item.key);
    if (!item.is_bucket) return Status::OK();
    if (item.key != "logs" && item.key != "conf") return Status::OK();
    Result<BoltBucket> bucket = reader.BucketFromItem(reader.Root(), item);
    if (!bucket.ok()) return bucket.status();
    (item.key == "logs" ? logs : conf) = std::move(*bucket);
    return Status::OK();
  });
  RQ_RETURN_IF_ERROR(status);
  if (!logs || !conf) {
    return Status::Corruption("raft.db " + reader.name() + ": no \"" + std::string(!logs ? "logs" : "conf") +
                              "\" bucket: not a hashicorp/raft-boltdb store");
  }
  store.logs_ = std::move(*logs);
  RQ_RETURN_IF_ERROR(store.ReadConf(*conf));
  return store;
}

Status GoRaftStore::ReadConf(const BoltBucket& conf) {
  return bolt_.ForEach(conf, [&](const BoltItem& item) -> Status {
    conf_keys_.emplace_back(item.key);
    if (item.is_bucket) return Status::OK();
    auto term = [&](uint64_t* out) -> Status {
      if (item.value.size() != 8) {
        return Status::Corruption("raft.db " + bolt_.name() + ": conf key " + std::string(item.key) + " holds " +
                                  std::to_string(item.value.size()) + " bytes, not 8");
      }
      *out = DecodeBigEndian64(item.value);
      return Status::OK();
    };
    if (item.key == "CurrentTerm") return term(&hard_state_.current_term);
    if (item.key == "LastVoteTerm") return term(&hard_state_.last_vote_term);
    if (item.key == "LastVoteCand") hard_state_.last_vote_candidate.assign(item.value);
    return Status::OK();
  });
}

Status GoRaftStore::ForEachEntry(const std::function<Status(const GoLogEntry&)>& fn) const {
  std::optional<uint64_t> previous;
  return bolt_.ForEach(logs_, [&](const BoltItem& item) -> Status {
    const std::string where = "raft.db " + bolt_.name() + ": ";
    if (item.is_bucket) return Status::Corruption(where + "nested bucket inside \"logs\"");
    if (item.key.size() != 8) {
      return Status::Corruption(where + "log key of " + std::to_string(item.key.size()) + " bytes, not 8");
    }
    uint64_t index = DecodeBigEndian64(item.key);
    Result<GoLogEntry> entry = DecodeGoLogEntry(item.value);
    if (!entry.ok()) return entry.status().WithContext(where + "log entry " + std::to_string(index));
    if (entry->index != index) {
      return Status::Corruption(where + "log key " + std::to_string(index) + " holds entry " +
                                std::to_string(entry->index));
    }
    if (previous && index != *previous + 1) {
      return Status::Corruption(where + "gap in the log: entry " + std::to_string(*previous) + " is followed by " +
                                std::to_string(index));
    }
    previous = index;
    return fn(*entry);
  });
}

Result<std::vector<GoLogEntry>> GoRaftStore::ReadAll() const {
  std::vector<GoLogEntry> entries;
  uint64_t last_term = 0;
  Status status = ForEachEntry([&](const GoLogEntry& entry) -> Status {
    if (entry.term < last_term) {
      return Status::Corruption("raft.db " + bolt_.name() + ": entry " + std::to_string(entry.index) +
                                " has term " + std::to_string(entry.term) + " below the previous " +
                                std::to_string(last_term));
    }
    last_term = entry.term;
    entries.push_back(entry);
    return Status::OK();
  });
  if (!status.ok()) return status;
  return entries;
}

Result<std::optional<GoConfiguration>> LatestConfiguration(const std::vector<GoLogEntry>& entries) {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it) {
    if (it->type != static_cast<uint8_t>(GoLogType::kConfiguration)) continue;
    Result<GoConfiguration> config = DecodeGoConfiguration(it->data);
    if (!config.ok()) return config.status().WithContext("configuration entry " + std::to_string(it->index));
    return std::optional<GoConfiguration>(std::move(*config));
  }
  return std::optional<GoConfiguration>();
}

}  // namespace rq::upgrade
