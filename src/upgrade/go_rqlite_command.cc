// Go rqlite commands: protobuf (v5+) and legacy JSON (before v5).
#include "upgrade/go_rqlite_command.h"

#include <boost/json.hpp>

#include <cctype>
#include <string>
#include <utility>

#include "go_command.pb.h"
#include "upgrade/gzip.h"

namespace rq::upgrade {

namespace {

namespace pb = rq::upgrade::goproto;
namespace json = boost::json;

Status Bad(std::string_view what) { return Status::Corruption("go command: " + std::string(what)); }

GoValue ValueOf(const pb::Parameter& p) {
  switch (p.value_case()) {
    case pb::Parameter::kI: return p.i();
    case pb::Parameter::kD: return p.d();
    case pb::Parameter::kB: return p.b();
    case pb::Parameter::kY: return GoBlob{p.y()};
    case pb::Parameter::kS: return p.s();
    case pb::Parameter::VALUE_NOT_SET: break;
  }
  return GoNull{};
}

GoRequest RequestOf(const pb::Request& r) {
  GoRequest out;
  out.transaction = r.transaction();
  out.db_timeout_ns = r.dbtimeout();
  out.statements.reserve(r.statements_size());
  for (const pb::Statement& s : r.statements()) {
    GoStatement statement;
    statement.sql = s.sql();
    statement.force_query = s.forcequery();
    for (const pb::Parameter& p : s.parameters()) statement.parameters.push_back(GoParameter{p.name(), ValueOf(p)});
    out.statements.push_back(std::move(statement));
  }
  return out;
}

template <typename Message>
Status Parse(std::string_view bytes, Message* message, std::string_view what) {
  if (bytes.size() > INT32_MAX || !message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return Bad("cannot parse " + std::string(what));
  }
  return Status::OK();
}

// Maps Command.Type to a kind under the dialect; false for unknown types.
bool KindOf(int32_t type, GoCommandDialect dialect, GoCommandKind* kind) {
  switch (type) {
    case 1: *kind = GoCommandKind::kQuery; return true;
    case 2: *kind = GoCommandKind::kExecute; return true;
    default: break;
  }
  if (dialect == GoCommandDialect::kV5V6) {
    switch (type) {
      case 3: *kind = GoCommandKind::kMetadataSet; return true;
      case 4: *kind = GoCommandKind::kMetadataDelete; return true;
      case 5: *kind = GoCommandKind::kNoop; return true;
      default: return false;
    }
  }
  switch (type) {
    case 3: *kind = GoCommandKind::kNoop; return true;
    case 4: *kind = GoCommandKind::kLoad; return true;
    case 5: *kind = GoCommandKind::kJoin; return true;
    case 6: *kind = GoCommandKind::kExecuteQuery; return true;
    case 7: *kind = GoCommandKind::kLoadChunk; return true;
    default: return false;
  }
}

Status DecodeSub(std::string_view sub, GoCommand* out) {
  switch (out->kind) {
    case GoCommandKind::kQuery: {
      pb::QueryRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "QueryRequest"));
      out->request = RequestOf(m.request());
      return Status::OK();
    }
    case GoCommandKind::kExecute: {
      pb::ExecuteRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "ExecuteRequest"));
      out->request = RequestOf(m.request());
      return Status::OK();
    }
    case GoCommandKind::kExecuteQuery: {
      pb::ExecuteQueryRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "ExecuteQueryRequest"));
      out->request = RequestOf(m.request());
      return Status::OK();
    }
    case GoCommandKind::kNoop: {
      pb::Noop m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "Noop"));
      out->node_id = m.id();
      return Status::OK();
    }
    case GoCommandKind::kLoad: {
      pb::LoadRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "LoadRequest"));
      Result<std::string> image = Gunzip(m.data(), "go command: LOAD database image");
      if (!image.ok()) return image.status();
      out->database = std::move(*image);
      return Status::OK();
    }
    case GoCommandKind::kLoadChunk: {
      pb::LoadChunkRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "LoadChunkRequest"));
      out->load_chunk = GoLoadChunk{m.stream_id(), m.sequence_num(), m.is_last(), m.abort(), m.data()};
      return Status::OK();
    }
    case GoCommandKind::kJoin: {
      pb::JoinRequest m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "JoinRequest"));
      out->node_id = m.id();
      out->join_address = m.address();
      out->join_voter = m.voter();
      return Status::OK();
    }
    case GoCommandKind::kMetadataSet: {
      pb::MetadataSet m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "MetadataSet"));
      out->node_id = m.raft_id();
      for (const pb::MetadataEntry& e : m.data()) out->metadata[e.key()] = e.value();
      return Status::OK();
    }
    case GoCommandKind::kMetadataDelete: {
      pb::MetadataDelete m;
      RQ_RETURN_IF_ERROR(Parse(sub, &m, "MetadataDelete"));
      out->node_id = m.raft_id();
      return Status::OK();
    }
  }
  RQ_UNREACHABLE();
}

// Go's encoding/json matches keys case-insensitively.
const json::value* Member(const json::object& object, std::string_view key) {
  for (const auto& member : object) {
    std::string_view k = member.key();
    if (k.size() != key.size()) continue;
    bool same = true;
    for (size_t i = 0; i < k.size() && same; ++i) same = std::tolower(static_cast<unsigned char>(k[i])) == key[i];
    if (same) return &member.value();
  }
  return nullptr;
}

bool JsonBool(const json::object& object, std::string_view key) {
  const json::value* v = Member(object, key);
  return v != nullptr && v->is_bool() && v->get_bool();
}

// {"tx":b,"queries":[sql...],"Parameters":[[v...]...],"timings":b}: the
// parameters become what Go's legacy decoder made of them (every JSON
// number a double, as encoding/json reads it into interface{}).
Status LegacyDatabaseSub(const json::object& sub, GoCommand* out) {
  out->request.transaction = JsonBool(sub, "tx");
  const json::value* queries = Member(sub, "queries");
  const json::value* parameters = Member(sub, "parameters");
  if (queries != nullptr && !queries->is_null() && !queries->is_array()) return Bad("legacy queries not an array");
  if (parameters != nullptr && !parameters->is_null() && !parameters->is_array()) {
    return Bad("legacy Parameters not an array");
  }
  const json::array* params = parameters != nullptr ? parameters->if_array() : nullptr;
  if (queries == nullptr || queries->is_null()) return Status::OK();
  const json::array& sqls = queries->get_array();
  if (params != nullptr && !params->empty() && params->size() != sqls.size()) {
    return Bad("legacy Parameters and queries differ in length");
  }
  for (size_t i = 0; i < sqls.size(); ++i) {
    if (!sqls[i].is_string()) return Bad("legacy query is not a string");
    GoStatement statement;
    statement.sql = std::string(sqls[i].get_string());
    if (params != nullptr && !params->empty()) {
      const json::array* list = (*params)[i].if_array();
      if (list == nullptr && !(*params)[i].is_null()) return Bad("legacy parameter list is not an array");
      for (size_t j = 0; list != nullptr && j < list->size(); ++j) {
        const json::value& v = (*list)[j];
        GoParameter p;
        if (v.is_bool()) {
          p.value = v.get_bool();
        } else if (v.is_string()) {
          p.value = std::string(v.get_string());
        } else if (v.is_number()) {
          boost::system::error_code number_ec;
          p.value = v.to_number<double>(number_ec);
          if (number_ec) return Bad("legacy parameter number out of range");
        } else {
          return Bad("legacy parameter of unsupported type");
        }
        statement.parameters.push_back(std::move(p));
      }
    }
    out->request.statements.push_back(std::move(statement));
  }
  return Status::OK();
}

Result<GoCommand> DecodeLegacyJson(std::string_view data) {
  boost::system::error_code ec;
  json::value doc = json::parse(json::string_view(data.data(), data.size()), ec);
  if (ec || !doc.is_object()) return Bad("legacy JSON command does not parse");
  const json::object& root = doc.get_object();
  GoCommand out;
  out.legacy_json = true;
  const json::value* typ = Member(root, "typ");
  int64_t type = 0;  // omitempty: absent means 0 (execute)
  if (typ != nullptr && !typ->is_null()) {
    if (!typ->is_int64()) return Bad("legacy typ is not an integer");
    type = typ->get_int64();
  }
  out.raw_type = static_cast<int32_t>(type);
  const json::value* sub = Member(root, "sub");
  static const json::object kEmpty;
  switch (type) {
    case 0:
    case 1: {
      out.kind = type == 0 ? GoCommandKind::kExecute : GoCommandKind::kQuery;
      if (sub != nullptr && !sub->is_null() && !sub->is_object()) return Bad("legacy sub is not an object");
      RQ_RETURN_IF_ERROR(LegacyDatabaseSub(sub != nullptr && sub->is_object() ? sub->get_object() : kEmpty, &out));
      return out;
    }
    case 2: {
      out.kind = GoCommandKind::kMetadataSet;
      const json::object* o = sub != nullptr ? sub->if_object() : nullptr;
      if (o == nullptr) return Bad("legacy metadata sub is not an object");
      if (const json::value* id = Member(*o, "raft_id"); id != nullptr && id->is_string()) {
        out.node_id = std::string(id->get_string());
      }
      if (const json::value* d = Member(*o, "data"); d != nullptr && d->is_object()) {
        for (const auto& kv : d->get_object()) {
          if (kv.value().is_string()) out.metadata[std::string(kv.key())] = std::string(kv.value().get_string());
        }
      }
      return out;
    }
    case 3: {
      out.kind = GoCommandKind::kMetadataDelete;
      if (sub == nullptr || !sub->is_string()) return Bad("legacy metadata delete sub is not a string");
      out.node_id = std::string(sub->get_string());
      return out;
    }
    default:
      return Bad("legacy JSON command of unknown typ " + std::to_string(type));
  }
}

}  // namespace

const char* GoCommandKindName(GoCommandKind kind) {
  switch (kind) {
    case GoCommandKind::kQuery: return "query";
    case GoCommandKind::kExecute: return "execute";
    case GoCommandKind::kExecuteQuery: return "execute_query";
    case GoCommandKind::kNoop: return "noop";
    case GoCommandKind::kLoad: return "load";
    case GoCommandKind::kLoadChunk: return "load_chunk";
    case GoCommandKind::kJoin: return "join";
    case GoCommandKind::kMetadataSet: return "metadata_set";
    case GoCommandKind::kMetadataDelete: return "metadata_delete";
  }
  return "unknown";
}

Result<GoCommand> DecodeGoCommand(std::string_view data, GoCommandDialect dialect) {
  if (!data.empty() && data.front() == '{') return DecodeLegacyJson(data);
  pb::Command command;
  RQ_RETURN_IF_ERROR(Parse(data, &command, "Command"));
  GoCommand out;
  out.raw_type = command.type();
  out.compressed = command.compressed();
  if (!KindOf(command.type(), dialect, &out.kind)) {
    return Bad("unknown command type " + std::to_string(command.type()));
  }
  std::string inflated;
  std::string_view sub = command.sub_command();
  if (command.compressed()) {
    Result<std::string> raw = Gunzip(sub, "go command: sub_command");
    if (!raw.ok()) return raw.status();
    inflated = std::move(*raw);
    sub = inflated;
  }
  Status status = DecodeSub(sub, &out);
  if (!status.ok()) return status;
  return out;
}

GoCommandDialect GuessGoCommandDialect(const std::vector<std::string_view>& command_data) {
  for (std::string_view data : command_data) {
    if (!data.empty() && data.front() == '{') return GoCommandDialect::kV5V6;
    pb::Command command;
    if (data.size() > INT32_MAX || !command.ParseFromArray(data.data(), static_cast<int>(data.size()))) continue;
    if (command.type() != 3 || command.compressed()) continue;
    pb::MetadataSet metadata;
    const std::string& sub = command.sub_command();
    if (metadata.ParseFromArray(sub.data(), static_cast<int>(sub.size())) && metadata.data_size() > 0) {
      return GoCommandDialect::kV5V6;
    }
  }
  return GoCommandDialect::kV7Plus;
}

}  // namespace rq::upgrade
