// RPC and snapshot-stream frame payloads (codec.h).
#include <limits>

#include "cluster/codec.h"
#include "cluster/codec_proto.h"
#include "command/codec.h"

namespace rq::cluster {
namespace pb = ::rq::proto::cluster;
using detail::Bad;
namespace {

template <typename P>
bool Parse(std::string_view bytes, P* message) {
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) return false;
  return message->ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
}

void SetCredentials(const Credentials& c, pb::RpcRequest* out) {
  if (!c.present) return;
  out->mutable_credentials()->set_username(c.username);
  out->mutable_credentials()->set_password(c.password);
}

Credentials GetCredentials(const pb::RpcRequest& in) {
  if (!in.has_credentials()) return {};
  return Credentials{in.credentials().username(), in.credentials().password(), true};
}

struct BodyEncoder {
  pb::RpcRequest* out;
  void operator()(const JoinRequest& r) const {
    SetCredentials(r.credentials, out);
    auto* p = out->mutable_join();
    p->set_id(r.id);
    p->set_raft_addr(r.raft_addr);
    p->set_api_addr(r.api_addr);
    p->set_voter(r.voter);
  }
  void operator()(const RemoveRequest& r) const {
    SetCredentials(r.credentials, out);
    out->mutable_remove()->set_id(r.id);
    out->mutable_remove()->set_removed_notice(r.removed_notice);
  }
  void operator()(const NodeMetaRequest& r) const {
    SetCredentials(r.credentials, out);
    out->mutable_get_node_meta();
  }
  void operator()(const StepDownRequest& r) const {
    SetCredentials(r.credentials, out);
    out->mutable_step_down()->set_target_id(r.target_id);
    out->mutable_step_down()->set_wait(r.wait);
  }
  void operator()(const NotifyRequest& r) const {
    SetCredentials(r.credentials, out);
    out->mutable_notify()->set_id(r.id);
    out->mutable_notify()->set_raft_addr(r.raft_addr);
    out->mutable_notify()->set_api_addr(r.api_addr);
  }
  void operator()(const BackupRequest& r) const {
    SetCredentials(r.credentials, out);
    auto* p = out->mutable_backup();
    p->set_format(static_cast<uint32_t>(r.format));
    p->set_vacuum(r.vacuum);
    for (const std::string& table : r.tables) p->add_tables(table);
    p->set_token(r.token);
    p->set_offset(r.offset);
  }
  void operator()(const ForwardRequest& r) const;
};

void BodyEncoder::operator()(const ForwardRequest& r) const {
  SetCredentials(r.credentials, out);
  auto* p = out->mutable_forward();
  p->set_kind(static_cast<pb::ForwardRequest::Kind>(r.kind));
  command::Command wrapper;
  wrapper.type = command::CommandType::kExecute;
  wrapper.request = r.request;
  p->set_command(command::EncodeCommand(wrapper));
  p->set_qualify_columns(r.request.qualify_columns);
  p->set_level(static_cast<uint32_t>(r.level));
  p->set_freshness_ns(r.freshness_ns);
  p->set_freshness_strict(r.freshness_strict);
  p->set_linearizable_timeout_ns(r.linearizable_timeout_ns);
  p->set_noparse(r.noparse);
  p->set_norwrandom(r.norwrandom);
  p->set_norwtime(r.norwtime);
  p->set_queue(r.queue);
  p->set_payload(r.payload);
  p->set_timeout_ns(r.timeout_ns);
  p->set_sync_index(r.sync_index);
}

Result<RpcBody> ForwardFromProto(const pb::ForwardRequest& p, Credentials credentials) {
  if (p.kind() < pb::ForwardRequest::EXECUTE || p.kind() > pb::ForwardRequest::READ_INDEX) {
    return Bad("unknown forward kind " + std::to_string(p.kind()));
  }
  if (p.level() > static_cast<uint32_t>(command::Consistency::kAuto)) {
    return Bad("unknown consistency level " + std::to_string(p.level()));
  }
  auto wrapper = command::DecodeCommand(p.command());
  if (!wrapper.ok()) return Bad("forwarded request: " + wrapper.status().message());
  if (wrapper->type != command::CommandType::kExecute) return Bad("forwarded request of wrong type");
  ForwardRequest r;
  r.kind = static_cast<ForwardKind>(p.kind());
  r.request = std::move(wrapper->request);
  r.request.qualify_columns = p.qualify_columns();
  r.level = static_cast<command::Consistency>(p.level());
  r.freshness_ns = p.freshness_ns();
  r.freshness_strict = p.freshness_strict();
  r.linearizable_timeout_ns = p.linearizable_timeout_ns();
  r.noparse = p.noparse();
  r.norwrandom = p.norwrandom();
  r.norwtime = p.norwtime();
  r.queue = p.queue();
  r.payload = p.payload();
  r.timeout_ns = p.timeout_ns();
  r.sync_index = p.sync_index();
  r.credentials = std::move(credentials);
  return RpcBody(std::move(r));
}

Result<RpcBody> BackupFromProto(const pb::BackupRequest& p, Credentials credentials) {
  if (p.format() > static_cast<uint32_t>(BackupFormat::kDelete)) {
    return Bad("unknown backup format " + std::to_string(p.format()));
  }
  BackupRequest r;
  r.format = static_cast<BackupFormat>(p.format());
  r.vacuum = p.vacuum();
  r.tables.assign(p.tables().begin(), p.tables().end());
  r.token = p.token();
  r.offset = p.offset();
  r.credentials = std::move(credentials);
  return RpcBody(std::move(r));
}

Result<RpcBody> BodyFromProto(const pb::RpcRequest& p) {
  Credentials c = GetCredentials(p);
  switch (p.call_case()) {
    case pb::RpcRequest::kJoin: {
      const auto& j = p.join();
      if (j.id().empty()) return Bad("join without node id");
      return RpcBody(JoinRequest{j.id(), j.raft_addr(), j.api_addr(), j.voter(), std::move(c)});
    }
    case pb::RpcRequest::kRemove:
      if (p.remove().id().empty()) return Bad("remove without node id");
      return RpcBody(RemoveRequest{p.remove().id(), std::move(c), p.remove().removed_notice()});
    case pb::RpcRequest::kGetNodeMeta:
      return RpcBody(NodeMetaRequest{std::move(c)});
    case pb::RpcRequest::kForward:
      return ForwardFromProto(p.forward(), std::move(c));
    case pb::RpcRequest::kStepDown:
      return RpcBody(StepDownRequest{p.step_down().target_id(), p.step_down().wait(), std::move(c)});
    case pb::RpcRequest::kNotify:
      if (p.notify().id().empty()) return Bad("notify without node id");
      return RpcBody(NotifyRequest{p.notify().id(), p.notify().raft_addr(), p.notify().api_addr(), std::move(c)});
    case pb::RpcRequest::kBackup:
      return BackupFromProto(p.backup(), std::move(c));
    case pb::RpcRequest::CALL_NOT_SET:
      break;
  }
  return Bad("rpc request without a call");
}

}  // namespace

std::string EncodeRpcCall(const RpcCall& call) {
  pb::RpcRequest p;
  p.set_correlation_id(call.correlation_id);
  std::visit(BodyEncoder{&p}, call.body);
  return p.SerializeAsString();
}

Result<RpcCall> DecodeRpcCall(std::string_view bytes) {
  pb::RpcRequest p;
  if (!Parse(bytes, &p)) return Bad("undecodable rpc request");
  auto body = BodyFromProto(p);
  if (!body.ok()) return body.status();
  return RpcCall{p.correlation_id(), std::move(*body)};
}

std::string EncodeRpcReply(const RpcReply& reply) {
  pb::RpcResponse p;
  p.set_correlation_id(reply.correlation_id);
  p.set_status_code(static_cast<uint32_t>(reply.status.code()));
  p.set_status_message(reply.status.message());
  p.set_leader_raft_addr(reply.leader_raft_addr);
  p.set_api_url(reply.api_url);
  p.set_version(reply.version);
  p.set_commit_index(reply.commit_index);
  p.set_backup_token(reply.backup_token);
  p.set_backup_total_bytes(reply.backup_total_bytes);
  p.set_backup_chunk(reply.backup_chunk);
  detail::ResponseToProto(reply.response, p.mutable_response());
  return p.SerializeAsString();
}

Result<RpcReply> DecodeRpcReply(std::string_view bytes) {
  pb::RpcResponse p;
  if (!Parse(bytes, &p)) return Bad("undecodable rpc response");
  if (p.status_code() > static_cast<uint32_t>(Status::Code::kInternal)) {
    return Bad("unknown status code " + std::to_string(p.status_code()));
  }
  RpcReply r;
  r.correlation_id = p.correlation_id();
  const auto code = static_cast<Status::Code>(p.status_code());
  r.status = code == Status::Code::kOk ? Status::OK() : Status::FromCode(code, p.status_message());
  r.leader_raft_addr = p.leader_raft_addr();
  r.api_url = p.api_url();
  r.version = p.version();
  r.commit_index = p.commit_index();
  r.backup_token = p.backup_token();
  r.backup_total_bytes = p.backup_total_bytes();
  r.backup_chunk = p.backup_chunk();
  auto response = detail::ResponseFromProto(p.response());
  if (!response.ok()) return response.status();
  r.response = std::move(*response);
  return r;
}

// ---- Snapshot stream ----

std::string EncodeSnapshotBegin(const SnapshotBegin& begin) {
  RQ_ASSERT(std::holds_alternative<raft::InstallSnapshotRequest>(begin.message.body));
  pb::SnapshotBegin p;
  detail::RaftMessageToProto(begin.message, p.mutable_message());
  p.set_total_bytes(begin.total_bytes);
  return p.SerializeAsString();
}

Result<SnapshotBegin> DecodeSnapshotBegin(std::string_view bytes) {
  pb::SnapshotBegin p;
  if (!Parse(bytes, &p)) return Bad("undecodable SNAPSHOT_BEGIN");
  if (!p.has_message()) return Bad("SNAPSHOT_BEGIN without message");
  auto message = detail::RaftMessageFromProto(p.message());
  if (!message.ok()) return message.status();
  if (!std::holds_alternative<raft::InstallSnapshotRequest>(message->body)) {
    return Bad("SNAPSHOT_BEGIN message is not an InstallSnapshotRequest");
  }
  return SnapshotBegin{std::move(*message), p.total_bytes()};
}

std::string EncodeSnapshotEnd(const SnapshotEnd& end) {
  pb::SnapshotEnd p;
  p.set_total_bytes(end.total_bytes);
  p.set_crc32c(end.masked_crc32c);
  return p.SerializeAsString();
}

Result<SnapshotEnd> DecodeSnapshotEnd(std::string_view bytes) {
  pb::SnapshotEnd p;
  if (!Parse(bytes, &p)) return Bad("undecodable SNAPSHOT_END");
  return SnapshotEnd{p.total_bytes(), p.crc32c()};
}

std::string EncodeSnapshotAck(const SnapshotAck& ack) {
  pb::SnapshotAck p;
  p.set_ok(ack.ok);
  p.set_error(ack.error);
  return p.SerializeAsString();
}

Result<SnapshotAck> DecodeSnapshotAck(std::string_view bytes) {
  pb::SnapshotAck p;
  if (!Parse(bytes, &p)) return Bad("undecodable SNAPSHOT_ACK");
  return SnapshotAck{p.ok(), p.error()};
}

}  // namespace rq::cluster
