// Frame payload codec: Raft messages, RPCs, command::Response and snapshot
// stream control frames <-> protobuf bytes (proto/cluster.proto).
//
// Decoding never trusts its input: every byte string either decodes into a
// value the rest of the node may use without further checks (known enum
// values, required fields present, memberships sorted and disjoint) or gives
// Corruption. Nothing here asserts on peer data.
//
// Thread-safety: free functions without shared state; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "base/status.h"
#include "cluster/service.h"
#include "command/types.h"
#include "raft/types.h"

namespace rq::cluster {

struct Hello {
  NodeId node_id;  // empty for a plain RPC client
  uint32_t protocol_version = 0;
  // Where the sending node listens: a node that has not yet learned it
  // from the log (it just joined) can answer a leader it never heard of.
  std::string raft_addr;
  bool operator==(const Hello&) const = default;
};
std::string EncodeHello(const Hello& hello);
Result<Hello> DecodeHello(std::string_view bytes);

std::string EncodeRaftMessage(const raft::Message& message);
Result<raft::Message> DecodeRaftMessage(std::string_view bytes);

std::string EncodeResponse(const command::Response& response);
Result<command::Response> DecodeResponse(std::string_view bytes);

// ---- RPC frames ----

// Never reorder: tests and dispatch rely on the alternatives only by type.
using RpcBody = std::variant<JoinRequest, RemoveRequest, NodeMetaRequest, ForwardRequest,
                             StepDownRequest, NotifyRequest, BackupRequest>;
struct RpcCall {
  uint64_t correlation_id = 0;
  RpcBody body;
};
std::string EncodeRpcCall(const RpcCall& call);
Result<RpcCall> DecodeRpcCall(std::string_view bytes);

// The union of every RPC's answer; the fields an RPC does not use stay empty.
struct RpcReply {
  uint64_t correlation_id = 0;
  Status status;
  std::string leader_raft_addr;  // membership RPCs answered NotLeader
  std::string api_url;           // GET_NODE_META
  std::string version;
  uint64_t commit_index = 0;
  command::Response response;    // FORWARD
  std::string backup_token;      // BACKUP
  uint64_t backup_total_bytes = 0;
  std::string backup_chunk;
};
std::string EncodeRpcReply(const RpcReply& reply);
Result<RpcReply> DecodeRpcReply(std::string_view bytes);

// ---- Snapshot stream ----

struct SnapshotBegin {
  raft::Message message;  // holds an InstallSnapshotRequest
  uint64_t total_bytes = 0;
};
std::string EncodeSnapshotBegin(const SnapshotBegin& begin);
// Corruption unless the message body is an InstallSnapshotRequest.
Result<SnapshotBegin> DecodeSnapshotBegin(std::string_view bytes);

struct SnapshotEnd {
  uint64_t total_bytes = 0;
  uint32_t masked_crc32c = 0;  // crc32c::Mask of the CRC over every chunk byte
  bool operator==(const SnapshotEnd&) const = default;
};
std::string EncodeSnapshotEnd(const SnapshotEnd& end);
Result<SnapshotEnd> DecodeSnapshotEnd(std::string_view bytes);

struct SnapshotAck {
  bool ok = false;
  std::string error;
  bool operator==(const SnapshotAck&) const = default;
};
std::string EncodeSnapshotAck(const SnapshotAck& ack);
Result<SnapshotAck> DecodeSnapshotAck(std::string_view bytes);

}  // namespace rq::cluster
