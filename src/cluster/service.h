// What the cluster transport needs from the node above it, and the plain
// request/response structs of the node-to-node RPCs.
//
// cluster/ never includes store/ or http/: the store implements RaftReceiver,
// SnapshotSource and RpcHandler, and node/ wires them into a Transport (the
// consumer-declared interface pattern of rqlite's cluster.Database).
//
// Threading: the transport calls these interfaces from its I/O threads; an
// implementation must not block for long (hand work to its own loop; the
// one exception is OnRaftMessages, which may persist a follower's appends
// there) and may complete an RpcHandler callback from any thread, exactly
// once.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "command/types.h"
#include "raft/types.h"

namespace rq::cluster {

// ---- Upward interfaces ----

// Receives one snapshot's bytes in order. Exactly one of Finish() or Abort()
// is called last; after a successful Finish() the transport delivers the
// InstallSnapshotRequest through RaftReceiver::OnRaftMessage.
class SnapshotSink {
 public:
  virtual ~SnapshotSink() = default;
  virtual Status Write(std::string_view chunk) = 0;
  virtual Status Finish() = 0;
  virtual void Abort() = 0;
};

class RaftReceiver {
 public:
  virtual ~RaftReceiver() = default;
  virtual void OnRaftMessage(raft::Message message) = 0;
  // Messages that arrived together on one connection, in order. The
  // transport calls this from the I/O thread, so an implementation may step
  // them there (no handoff) at the cost of holding that thread.
  virtual void OnRaftMessages(std::vector<raft::Message> messages) {
    for (raft::Message& message : messages) OnRaftMessage(std::move(message));
  }
  // A peer starts streaming the snapshot described by `meta`.
  virtual Result<std::unique_ptr<SnapshotSink>> BeginSnapshot(const NodeId& from,
                                                              const raft::SnapshotMeta& meta) = 0;
};

// Reads one stored snapshot sequentially; never holds it whole in memory.
class SnapshotReader {
 public:
  virtual ~SnapshotReader() = default;
  virtual uint64_t total_bytes() const = 0;
  // Replaces *out with up to `max_bytes` next bytes; empty *out means the end.
  virtual Status Read(size_t max_bytes, std::string* out) = 0;
};

class SnapshotSource {
 public:
  virtual ~SnapshotSource() = default;
  virtual Result<std::unique_ptr<SnapshotReader>> OpenSnapshot(const raft::SnapshotMeta& meta) = 0;
};

// ---- RPC structs ----

// Basic-auth credentials of the original HTTP client; the receiving node
// checks them (permissions are checked on both nodes, API.md 4.4).
struct Credentials {
  std::string username;
  std::string password;
  bool present = false;
  bool operator==(const Credentials&) const = default;
};

struct JoinRequest {
  std::string id;
  std::string raft_addr;
  std::string api_addr;
  bool voter = true;
  Credentials credentials;
  bool operator==(const JoinRequest&) const = default;
};

// Also the answer to REMOVE and STEPDOWN. status NotLeader comes with the
// leader's Raft address when it is known, so the caller can retry there.
struct MembershipResponse {
  Status status;
  std::string leader_raft_addr;
};
using JoinResponse = MembershipResponse;
using RemoveResponse = MembershipResponse;
using StepDownResponse = MembershipResponse;

struct RemoveRequest {
  std::string id;
  Credentials credentials;
  // Sent by a leader to the node it has just removed (whose own removal
  // entry never reaches it), rather than a request to remove `id`.
  bool removed_notice = false;
  bool operator==(const RemoveRequest&) const = default;
};

struct StepDownRequest {
  std::string target_id;  // empty: any suitable voter
  bool wait = false;
  Credentials credentials;
  bool operator==(const StepDownRequest&) const = default;
};

// -bootstrap-expect discovery: a starting node announces itself to the others.
struct NotifyRequest {
  std::string id;
  std::string raft_addr;
  std::string api_addr;  // advertised host:port, for the bootstrap membership
  Credentials credentials;
  bool operator==(const NotifyRequest&) const = default;
};
using NotifyResponse = MembershipResponse;

struct NodeMetaRequest {
  Credentials credentials;
  bool operator==(const NodeMetaRequest&) const = default;
};

struct NodeMetaResponse {
  Status status;
  std::string api_url;
  std::string version;
  uint64_t commit_index = 0;
};

// Wire format: never renumber (mirrors proto ForwardRequest.Kind).
enum class ForwardKind : uint8_t {
  kExecute = 1,
  kQuery = 2,
  kRequest = 3,
  kLoad = 4,      // payload is a SQLite image
  kLoadDump = 5,  // payload is a SQL dump
  // A follower serving a linearizable read asks the leader for a read index
  // (ReadIndex, confirmed by a quorum); the answer's raft_index carries it.
  kReadIndex = 6,
};

struct ForwardRequest {
  ForwardKind kind = ForwardKind::kExecute;
  command::Request request;  // kExecute, kQuery, kRequest
  command::Consistency level = command::Consistency::kWeak;
  int64_t freshness_ns = 0;
  bool freshness_strict = false;
  int64_t linearizable_timeout_ns = 0;
  bool noparse = false;
  bool norwrandom = false;
  bool norwtime = false;
  bool queue = false;
  std::string payload;     // kLoad, kLoadDump
  int64_t timeout_ns = 0;  // the caller's deadline, so the leader can honour it
  uint64_t sync_index = 0;  // ?sync_index
  Credentials credentials;
  bool operator==(const ForwardRequest&) const = default;
};

struct ForwardResponse {
  Status status;
  command::Response response;
};

// Wire format: never renumber (proto BackupRequest.format).
enum class BackupFormat : uint8_t { kBinary = 0, kSql = 1, kDelete = 2 };

// GET /db/backup on a follower, answered by the leader: the first call
// (empty token) makes the backup file and returns its first chunk, a token
// and the total size; the follower asks for the rest by token and offset.
struct BackupRequest {
  BackupFormat format = BackupFormat::kBinary;
  bool vacuum = false;
  std::vector<std::string> tables;
  std::string token;
  uint64_t offset = 0;
  Credentials credentials;
  bool operator==(const BackupRequest&) const = default;
};

struct BackupResponse {
  Status status;
  std::string token;
  uint64_t total_bytes = 0;
  std::string chunk;  // the bytes from the request's offset on
};

// Serves RPCs arriving on this node's Raft address. Each callback must be
// called exactly once, from any thread.
class RpcHandler {
 public:
  virtual ~RpcHandler() = default;
  virtual void Join(const JoinRequest& request, std::function<void(JoinResponse)> done) = 0;
  virtual void Remove(const RemoveRequest& request, std::function<void(RemoveResponse)> done) = 0;
  virtual void GetNodeMeta(const NodeMetaRequest& request,
                           std::function<void(NodeMetaResponse)> done) = 0;
  virtual void Forward(const ForwardRequest& request, std::function<void(ForwardResponse)> done) = 0;
  virtual void StepDown(const StepDownRequest& request,
                        std::function<void(StepDownResponse)> done) = 0;
  // Optional: a node without a database to back up refuses.
  virtual void Backup(const BackupRequest& request, std::function<void(BackupResponse)> done) {
    done(BackupResponse{Status::NotSupported("backup is not served by this node"), "", 0, ""});
  }
  // Optional: a node that does no -bootstrap-expect discovery refuses.
  virtual void Notify(const NotifyRequest& request, std::function<void(NotifyResponse)> done) {
    done(NotifyResponse{Status::NotSupported("notify is not served by this node"), ""});
  }
};

}  // namespace rq::cluster
