#include "node/upgrade_log.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "command/codec.h"
#include "upgrade/gzip.h"

namespace rq::node {

using namespace rq::upgrade;  // NOLINT: the Go formats this file converts

namespace {

std::string At(const GoLogEntry& go) { return "raft.db entry " + std::to_string(go.index); }

command::Value ToValue(const GoValue& value) {
  struct Visitor {
    command::Value operator()(const GoNull&) const { return std::monostate{}; }
    command::Value operator()(int64_t v) const { return v; }
    command::Value operator()(double v) const { return v; }
    command::Value operator()(bool v) const { return v; }
    command::Value operator()(const GoBlob& v) const { return command::Blob{v.bytes}; }
    command::Value operator()(const std::string& v) const { return v; }
  };
  return std::visit(Visitor{}, value);
}

command::Request ToRequest(const GoRequest& go) {
  command::Request request;
  request.transaction = go.transaction;
  // db_timeout is dropped: Go applied it with each node's own clock, and the
  // entry is history now; replaying it under a deadline could fail a write
  // that every Go node applied.
  for (const GoStatement& statement : go.statements) {
    command::Statement out;
    out.sql = statement.sql;
    out.returns_rows = statement.force_query;
    for (const GoParameter& parameter : statement.parameters) {
      out.parameters.push_back(command::Parameter{parameter.name, ToValue(parameter.value)});
    }
    request.statements.push_back(std::move(out));
  }
  return request;
}

raft::Entry Noop(const GoLogEntry& go) {
  raft::Entry entry;
  entry.index = LogIndex(go.index);
  entry.term = Term(go.term);
  entry.type = raft::EntryType::kNoop;
  return entry;
}

raft::Entry Normal(const GoLogEntry& go, const command::Command& command) {
  raft::Entry entry;
  entry.index = LogIndex(go.index);
  entry.term = Term(go.term);
  entry.type = raft::EntryType::kNormal;
  entry.data = command::EncodeCommand(command);
  return entry;
}

bool IsVoter(GoSuffrage suffrage) { return suffrage == GoSuffrage::kVoter; }

const GoServer* FindById(const GoConfiguration& configuration, const std::string& id) {
  for (const GoServer& server : configuration.servers) {
    if (server.id == id) return &server;
  }
  return nullptr;
}

}  // namespace

raft::Membership MembershipOf(const GoConfiguration& configuration) {
  raft::Membership membership;
  for (const GoServer& server : configuration.servers) {
    (IsVoter(server.suffrage) ? membership.voters : membership.learners).push_back(NodeId(server.id));
  }
  std::sort(membership.voters.begin(), membership.voters.end());
  std::sort(membership.learners.begin(), membership.learners.end());
  return membership;
}

void CollectApiAddress(const GoCommand& command, std::map<std::string, std::string>* api_addresses) {
  if (command.kind != GoCommandKind::kMetadataSet || command.node_id.empty()) return;
  auto it = command.metadata.find("api_addr");
  if (it != command.metadata.end() && !it->second.empty()) (*api_addresses)[command.node_id] = it->second;
}

LogConverter::LogConverter(GoCommandDialect dialect, GoConfiguration start,
                           std::map<std::string, std::string> api_addresses)
    : dialect_(dialect), configuration_(std::move(start)), api_addresses_(std::move(api_addresses)) {}

store::NodeAddress LogConverter::AddressOf(const GoServer& server) const {
  auto api = api_addresses_.find(server.id);
  return store::NodeAddress{server.address, api == api_addresses_.end() ? "" : api->second};
}

Result<raft::Entry> LogConverter::Convert(const GoLogEntry& go) {
  switch (static_cast<GoLogType>(go.type)) {
    case GoLogType::kCommand:
      return ConvertCommand(go);
    case GoLogType::kNoop:
    case GoLogType::kBarrier:
      return Noop(go);
    case GoLogType::kConfiguration:
      return ConvertConfiguration(go);
    case GoLogType::kAddPeerDeprecated:
    case GoLogType::kRemovePeerDeprecated:
      break;
  }
  return Status::NotSupported(At(go) + " is a " + GoLogTypeName(go.type) +
                              " entry (hashicorp/raft before 1.0), which has no counterpart here");
}

Result<raft::Entry> LogConverter::ConvertCommand(const GoLogEntry& go) {
  Result<GoCommand> decoded = DecodeGoCommand(go.data, dialect_);
  if (!decoded.ok()) return decoded.status().WithContext(At(go));
  const GoCommand& cmd = *decoded;
  command::Command out;
  switch (cmd.kind) {
    case GoCommandKind::kExecute:
      out.type = command::CommandType::kExecute;
      out.request = ToRequest(cmd.request);
      return Normal(go, out);
    case GoCommandKind::kQuery:
      out.type = command::CommandType::kQuery;
      out.request = ToRequest(cmd.request);
      return Normal(go, out);
    case GoCommandKind::kExecuteQuery:
      out.type = command::CommandType::kExecuteQuery;
      out.request = ToRequest(cmd.request);
      return Normal(go, out);
    case GoCommandKind::kLoad:
      out.type = command::CommandType::kLoad;
      out.payload = cmd.database;
      return Normal(go, out);
    case GoCommandKind::kLoadChunk: {
      const GoLoadChunk& chunk = cmd.load_chunk;
      auto it = load_streams_.find(chunk.stream_id);
      if (it == load_streams_.end()) {
        if (chunk.abort) return Noop(go);
        if (chunk.sequence_number > 1) {
          return Status::NotSupported(At(go) + " continues load stream " + chunk.stream_id + " at chunk " +
                                      std::to_string(chunk.sequence_number) +
                                      ", whose first chunks precede the converted log (before the snapshot)");
        }
        it = load_streams_.emplace(chunk.stream_id, LoadStream{chunk.sequence_number, ""}).first;
      }
      LoadStream& stream = it->second;
      if (chunk.abort) {
        load_streams_.erase(it);
        return Noop(go);
      }
      if (chunk.sequence_number != stream.next_sequence) {
        return Status::Corruption(At(go) + ": load stream " + chunk.stream_id + " jumps to chunk " +
                                  std::to_string(chunk.sequence_number) + " where " +
                                  std::to_string(stream.next_sequence) + " was due");
      }
      stream.next_sequence++;
      stream.gzip += chunk.data;
      if (!chunk.is_last) return Noop(go);
      Result<std::string> image = Gunzip(stream.gzip, At(go) + " (load stream " + chunk.stream_id + ")");
      load_streams_.erase(it);
      if (!image.ok()) return image.status();
      out.type = command::CommandType::kLoad;
      out.payload = std::move(image).value();
      return Normal(go, out);
    }
    case GoCommandKind::kNoop:
    case GoCommandKind::kJoin:
    case GoCommandKind::kMetadataSet:
    case GoCommandKind::kMetadataDelete:
      // Nothing for the database; v5/v6 metadata (API addresses) was read
      // before conversion (CollectApiAddress) and lives in the config changes.
      return Noop(go);
  }
  return Status::Corruption(At(go) + ": unknown command kind");
}

Result<raft::Entry> LogConverter::ConvertConfiguration(const GoLogEntry& go) {
  Result<GoConfiguration> next = DecodeGoConfiguration(go.data);
  if (!next.ok()) return next.status().WithContext(At(go));
  std::vector<raft::ConfigChange> changes;
  for (const GoServer& before : configuration_.servers) {
    if (FindById(*next, before.id) == nullptr) {
      changes.push_back(raft::ConfigChange{raft::ConfigChangeType::kRemove, NodeId(before.id), ""});
    }
  }
  for (const GoServer& after : next->servers) {
    const GoServer* before = FindById(configuration_, after.id);
    if (before != nullptr && before->address == after.address && IsVoter(before->suffrage) == IsVoter(after.suffrage)) {
      continue;  // unchanged (staging and non-voter are both learners here)
    }
    raft::ConfigChange change;
    change.type = IsVoter(after.suffrage) ? raft::ConfigChangeType::kAddVoter : raft::ConfigChangeType::kAddLearner;
    change.node = NodeId(after.id);
    change.context = store::EncodeNodeAddress(AddressOf(after));
    changes.push_back(std::move(change));
  }
  if (changes.size() > 1) {
    return Status::NotSupported(At(go) + " changes " + std::to_string(changes.size()) +
                                " servers at once; our log records one membership change per entry");
  }
  configuration_ = std::move(next).value();
  if (changes.empty()) return Noop(go);
  raft::Entry entry;
  entry.index = LogIndex(go.index);
  entry.term = Term(go.term);
  entry.type = raft::EntryType::kConfigChange;
  entry.data = raft::EncodeConfigChange(changes.front());
  return entry;
}

}  // namespace rq::node
