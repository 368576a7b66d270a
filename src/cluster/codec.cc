#include "cluster/codec.h"

#include <algorithm>
#include <limits>

#include "cluster/codec_proto.h"

namespace rq::cluster {
namespace pb = ::rq::proto::cluster;
namespace {
using detail::Bad;

template <typename P>
bool Parse(std::string_view bytes, P* message) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

// ---- Membership / snapshot meta ----

void ToProto(const raft::Membership& in, pb::Membership* out) {
  for (const NodeId& id : in.voters) out->add_voters(id.value());
  for (const NodeId& id : in.learners) out->add_learners(id.value());
}

// Membership invariants (raft/types.h): sorted, unique, disjoint, no empty ids.
Result<std::vector<NodeId>> SortedIds(const google::protobuf::RepeatedPtrField<std::string>& ids) {
  std::vector<NodeId> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {
    if (id.empty()) return Bad("empty node id in membership");
    if (!out.empty() && !(out.back().value() < id)) return Bad("membership not sorted and unique");
    out.emplace_back(id);
  }
  return out;
}

Result<raft::Membership> FromProto(const pb::Membership& in) {
  auto voters = SortedIds(in.voters());
  if (!voters.ok()) return voters.status();
  auto learners = SortedIds(in.learners());
  if (!learners.ok()) return learners.status();
  raft::Membership out{std::move(*voters), std::move(*learners)};
  for (const NodeId& id : out.learners) {
    if (std::binary_search(out.voters.begin(), out.voters.end(), id)) {
      return Bad("node is both voter and learner");
    }
  }
  return out;
}

void ToProto(const raft::SnapshotMeta& in, pb::SnapshotMeta* out) {
  out->set_index(in.index.value());
  out->set_term(in.term.value());
  ToProto(in.membership, out->mutable_membership());
}

Result<raft::SnapshotMeta> FromProto(const pb::SnapshotMeta& in) {
  auto membership = FromProto(in.membership());
  if (!membership.ok()) return membership.status();
  return raft::SnapshotMeta{LogIndex(in.index()), Term(in.term()), std::move(*membership)};
}

// ---- Raft message bodies ----

void BodyToProto(const raft::VoteRequest& b, pb::RaftMessage* m) {
  auto* p = m->mutable_vote_request();
  p->set_last_log_index(b.last_log_index.value());
  p->set_last_log_term(b.last_log_term.value());
  p->set_pre_vote(b.pre_vote);
  p->set_transfer(b.transfer);
}
void BodyToProto(const raft::VoteResponse& b, pb::RaftMessage* m) {
  auto* p = m->mutable_vote_response();
  p->set_granted(b.granted);
  p->set_pre_vote(b.pre_vote);
}
void BodyToProto(const raft::AppendRequest& b, pb::RaftMessage* m) {
  auto* p = m->mutable_append_request();
  p->set_prev_log_index(b.prev_log_index.value());
  p->set_prev_log_term(b.prev_log_term.value());
  p->set_commit(b.commit.value());
  p->set_read_context(b.read_context);
  p->mutable_entries()->Reserve(static_cast<int>(b.entries.size()));
  for (const raft::Entry& e : b.entries) {
    auto* pe = p->add_entries();
    pe->set_term(e.term.value());
    pe->set_index(e.index.value());
    pe->set_type(static_cast<uint32_t>(e.type));
    pe->set_data(e.data);
  }
}
void BodyToProto(const raft::AppendResponse& b, pb::RaftMessage* m) {
  auto* p = m->mutable_append_response();
  p->set_success(b.success);
  p->set_match_or_hint(b.match_or_hint.value());
  p->set_conflict_term(b.conflict_term.value());
  p->set_read_context(b.read_context);
}
void BodyToProto(const raft::InstallSnapshotRequest& b, pb::RaftMessage* m) {
  ToProto(b.meta, m->mutable_install_snapshot()->mutable_meta());
}
void BodyToProto(const raft::TimeoutNow&, pb::RaftMessage* m) { m->mutable_timeout_now(); }

Result<raft::Entry> EntryFromProto(const pb::Entry& p) {
  if (p.type() > static_cast<uint32_t>(raft::EntryType::kNoop)) {
    return Bad("unknown entry type " + std::to_string(p.type()));
  }
  return raft::Entry{Term(p.term()), LogIndex(p.index()), static_cast<raft::EntryType>(p.type()), p.data()};
}

Result<raft::MessageBody> AppendFromProto(const pb::AppendRequest& p) {
  raft::AppendRequest b;
  b.prev_log_index = LogIndex(p.prev_log_index());
  b.prev_log_term = Term(p.prev_log_term());
  b.commit = LogIndex(p.commit());
  b.read_context = p.read_context();
  b.entries.reserve(p.entries_size());
  for (const pb::Entry& pe : p.entries()) {
    auto entry = EntryFromProto(pe);
    if (!entry.ok()) return entry.status();
    b.entries.push_back(std::move(*entry));
  }
  return raft::MessageBody(std::move(b));
}

Result<raft::MessageBody> BodyFromProto(const pb::RaftMessage& m) {
  switch (m.body_case()) {
    case pb::RaftMessage::kVoteRequest: {
      const auto& p = m.vote_request();
      return raft::MessageBody(raft::VoteRequest{LogIndex(p.last_log_index()), Term(p.last_log_term()),
                                                 p.pre_vote(), p.transfer()});
    }
    case pb::RaftMessage::kVoteResponse:
      return raft::MessageBody(raft::VoteResponse{m.vote_response().granted(), m.vote_response().pre_vote()});
    case pb::RaftMessage::kAppendRequest:
      return AppendFromProto(m.append_request());
    case pb::RaftMessage::kAppendResponse: {
      const auto& p = m.append_response();
      return raft::MessageBody(raft::AppendResponse{p.success(), LogIndex(p.match_or_hint()),
                                                    Term(p.conflict_term()), p.read_context()});
    }
    case pb::RaftMessage::kInstallSnapshot: {
      if (!m.install_snapshot().has_meta()) return Bad("install snapshot without meta");
      auto meta = FromProto(m.install_snapshot().meta());
      if (!meta.ok()) return meta.status();
      return raft::MessageBody(raft::InstallSnapshotRequest{std::move(*meta)});
    }
    case pb::RaftMessage::kTimeoutNow:
      return raft::MessageBody(raft::TimeoutNow{});
    case pb::RaftMessage::BODY_NOT_SET:
      break;
  }
  return Bad("raft message without a body");
}

void ToProto(const raft::Message& message, pb::RaftMessage* m) {
  m->set_from(message.from.value());
  m->set_to(message.to.value());
  m->set_term(message.term.value());
  std::visit([m](const auto& body) { BodyToProto(body, m); }, message.body);
}

Result<raft::Message> FromProto(const pb::RaftMessage& m) {
  if (m.from().empty()) return Bad("raft message without sender");
  if (m.to().empty()) return Bad("raft message without recipient");
  auto body = BodyFromProto(m);
  if (!body.ok()) return body.status();
  return raft::Message{NodeId(m.from()), NodeId(m.to()), Term(m.term()), std::move(*body)};
}

// ---- command::Value / Response ----

void ToProto(const command::Value& v, proto::Value* out) {
  struct Visitor {
    proto::Value* out;
    void operator()(std::monostate) const { out->set_is_null(true); }
    void operator()(int64_t i) const { out->set_i(i); }
    void operator()(double d) const { out->set_d(d); }
    void operator()(const std::string& s) const { out->set_s(s); }
    void operator()(const command::Blob& b) const { out->set_y(b.bytes); }
    void operator()(bool b) const { out->set_b(b); }
  };
  std::visit(Visitor{out}, v);
}

Result<command::Value> FromProto(const proto::Value& v) {
  switch (v.kind_case()) {
    case proto::Value::kIsNull: return command::Value(std::monostate{});
    case proto::Value::kI: return command::Value(int64_t{v.i()});
    case proto::Value::kD: return command::Value(v.d());
    case proto::Value::kS: return command::Value(v.s());
    case proto::Value::kY: return command::Value(command::Blob{v.y()});
    case proto::Value::kB: return command::Value(v.b());
    case proto::Value::KIND_NOT_SET: break;
  }
  return Bad("value without a kind");
}

void ToProto(const command::StatementResult& r, pb::StatementResult* out) {
  out->set_has_rows(r.has_rows);
  for (const auto& c : r.columns) out->add_columns(c);
  for (const auto& t : r.types) out->add_types(t);
  for (const auto& row : r.values) {
    auto* prow = out->add_rows();
    for (const auto& v : row) ToProto(v, prow->add_values());
  }
  out->set_last_insert_id(r.last_insert_id);
  out->set_rows_affected(r.rows_affected);
  out->set_error(r.error);
  out->set_time_s(r.time_s);
}

Result<command::StatementResult> FromProto(const pb::StatementResult& p) {
  command::StatementResult r;
  r.has_rows = p.has_rows();
  r.columns.assign(p.columns().begin(), p.columns().end());
  r.types.assign(p.types().begin(), p.types().end());
  r.values.reserve(p.rows_size());
  for (const auto& prow : p.rows()) {
    std::vector<command::Value> row;
    row.reserve(prow.values_size());
    for (const auto& pv : prow.values()) {
      auto v = FromProto(pv);
      if (!v.ok()) return v.status();
      row.push_back(std::move(*v));
    }
    r.values.push_back(std::move(row));
  }
  r.last_insert_id = p.last_insert_id();
  r.rows_affected = p.rows_affected();
  r.error = p.error();
  r.time_s = p.time_s();
  return r;
}

void ToProto(const command::Response& r, pb::Response* out) {
  for (const auto& result : r.results) ToProto(result, out->add_results());
  out->set_error(r.error);
  out->set_time_s(r.time_s);
  out->set_raft_index(r.raft_index);
}

Result<command::Response> FromProto(const pb::Response& p) {
  command::Response r;
  r.results.reserve(p.results_size());
  for (const auto& pr : p.results()) {
    auto result = FromProto(pr);
    if (!result.ok()) return result.status();
    r.results.push_back(std::move(*result));
  }
  r.error = p.error();
  r.time_s = p.time_s();
  r.raft_index = p.raft_index();
  return r;
}

}  // namespace

namespace detail {
Status Bad(std::string_view what) { return Status::Corruption(std::string("cluster frame: ") + std::string(what)); }
void RaftMessageToProto(const raft::Message& in, pb::RaftMessage* out) { ToProto(in, out); }
Result<raft::Message> RaftMessageFromProto(const pb::RaftMessage& in) { return FromProto(in); }
void ResponseToProto(const command::Response& in, pb::Response* out) { ToProto(in, out); }
Result<command::Response> ResponseFromProto(const pb::Response& in) { return FromProto(in); }
}  // namespace detail

// ---- Public: hello, raft, response ----

std::string EncodeHello(const Hello& hello) {
  pb::Hello p;
  p.set_node_id(hello.node_id.value());
  p.set_protocol_version(hello.protocol_version);
  if (!hello.raft_addr.empty()) p.set_raft_addr(hello.raft_addr);
  return p.SerializeAsString();
}

Result<Hello> DecodeHello(std::string_view bytes) {
  pb::Hello p;
  if (!Parse(bytes, &p)) return Bad("undecodable HELLO");
  if (p.protocol_version() == 0) return Bad("HELLO without protocol version");
  return Hello{NodeId(p.node_id()), p.protocol_version(), p.raft_addr()};
}

std::string EncodeRaftMessage(const raft::Message& message) {
  pb::RaftMessage m;
  ToProto(message, &m);
  return m.SerializeAsString();
}

Result<raft::Message> DecodeRaftMessage(std::string_view bytes) {
  pb::RaftMessage m;
  if (!Parse(bytes, &m)) return Bad("undecodable raft message");
  return FromProto(m);
}

std::string EncodeResponse(const command::Response& response) {
  pb::Response p;
  ToProto(response, &p);
  return p.SerializeAsString();
}

Result<command::Response> DecodeResponse(std::string_view bytes) {
  pb::Response p;
  if (!Parse(bytes, &p)) return Bad("undecodable response");
  return FromProto(p);
}

}  // namespace rq::cluster
