// The inbound side of cluster::Transport: the accept loop and each accepted
// connection: HELLO, raft delivery in batches, RPC dispatch, and receiving
// snapshot streams.
#include <zlib.h>

#include "base/crc32c.h"
#include "base/logging.h"
#include "cluster/codec.h"
#include "cluster/conn_io.h"
#include "cluster/transport_internal.h"

namespace rq::cluster {
using namespace detail;  // NOLINT: the Asio vocabulary of conn_io.h

namespace {

std::string RemoteName(const Stream& socket) {
  boost::system::error_code ec;
  auto endpoint = socket.remote_endpoint(ec);
  if (ec) return "?";
  return endpoint.address().to_string() + ":" + std::to_string(endpoint.port());
}

// Keeps `socket` at most `grace` longer: a writer stuck on a peer that never
// reads must not hold the socket forever.
void CloseAfter(const Socket& socket, std::chrono::nanoseconds grace) {
  auto timer = std::make_shared<asio::steady_timer>(socket->get_executor());
  timer->expires_after(grace);
  timer->async_wait([socket, timer](boost::system::error_code) {
    boost::system::error_code ignored;
    socket->close(ignored);
  });
}

// Raft messages handed to the receiver at once, at most.
constexpr size_t kRaftBatchMax = 256;

// Where an RPC answer goes; members are destroyed queue first, core last.
struct ReplyTarget {
  std::shared_ptr<Core> core;
  std::shared_ptr<FrameQueue> queue;
  std::shared_ptr<std::atomic<size_t>> inflight;
  uint64_t correlation_id = 0;

  void Send(RpcReply reply) const {
    reply.correlation_id = correlation_id;
    std::string payload = EncodeRpcReply(reply);
    if (payload.size() > core->config.max_frame_bytes) {
      RpcReply too_big;
      too_big.correlation_id = correlation_id;
      too_big.status = Status::Internal("response of " + std::to_string(payload.size()) +
                                        " bytes exceeds the frame limit");
      payload = EncodeRpcReply(too_big);
    }
    queue->Push(EncodeFrame(FrameType::kRpcResponse, payload));  // false: connection gone
    inflight->fetch_sub(1);
  }
};

RpcReply ErrorReply(Status status) {
  RpcReply reply;
  reply.status = std::move(status);
  return reply;
}

RpcReply FromMembership(const MembershipResponse& r) {
  RpcReply reply;
  reply.status = r.status;
  reply.leader_raft_addr = r.leader_raft_addr;
  return reply;
}

void Dispatch(RpcHandler* handler, RpcBody body, const ReplyTarget& target) {
  struct Visitor {
    RpcHandler* handler;
    const ReplyTarget& t;
    void operator()(JoinRequest& r) const {
      handler->Join(r, [t = t](JoinResponse x) { t.Send(FromMembership(x)); });
    }
    void operator()(RemoveRequest& r) const {
      handler->Remove(r, [t = t](RemoveResponse x) { t.Send(FromMembership(x)); });
    }
    void operator()(NotifyRequest& r) const {
      handler->Notify(r, [t = t](NotifyResponse x) { t.Send(FromMembership(x)); });
    }
    void operator()(StepDownRequest& r) const {
      handler->StepDown(r, [t = t](StepDownResponse x) { t.Send(FromMembership(x)); });
    }
    void operator()(NodeMetaRequest& r) const {
      handler->GetNodeMeta(r, [t = t](NodeMetaResponse x) {
        RpcReply reply;
        reply.status = x.status;
        reply.api_url = std::move(x.api_url);
        reply.version = std::move(x.version);
        reply.commit_index = x.commit_index;
        t.Send(std::move(reply));
      });
    }
    void operator()(BackupRequest& r) const {
      handler->Backup(r, [t = t](BackupResponse x) {
        RpcReply reply;
        reply.status = x.status;
        reply.backup_token = std::move(x.token);
        reply.backup_total_bytes = x.total_bytes;
        reply.backup_chunk = std::move(x.chunk);
        t.Send(std::move(reply));
      });
    }
    void operator()(ForwardRequest& r) const {
      handler->Forward(r, [t = t](ForwardResponse x) {
        RpcReply reply;
        reply.status = x.status;
        reply.response = std::move(x.response);
        t.Send(std::move(reply));
      });
    }
  };
  std::visit(Visitor{handler, target}, body);
}

Status HandleRpc(Core* core, std::string_view payload, const std::shared_ptr<FrameQueue>& queue,
                 const std::shared_ptr<std::atomic<size_t>>& inflight) {
  auto call = DecodeRpcCall(payload);
  if (!call.ok()) return call.status();
  ReplyTarget target{core->shared_from_this(), queue, inflight, call->correlation_id};
  inflight->fetch_add(1);
  if (inflight->load() > core->config.rpc_inflight_max) {
    target.Send(ErrorReply(Status::Busy("too many RPCs in flight on this connection")));
    return Status::OK();
  }
  if (core->handler == nullptr) {
    target.Send(ErrorReply(Status::Unavailable("this node serves no RPCs")));
    return Status::OK();
  }
  Dispatch(core->handler, std::move(call->body), target);
  return Status::OK();
}

// Decodes and checks one raft frame; a message for this node joins `batch`.
Status DecodeRaft(Core* core, const Hello& hello, std::string_view payload, std::vector<raft::Message>* batch) {
  auto message = DecodeRaftMessage(payload);
  if (!message.ok()) return message.status();
  if (message->from != hello.node_id) {
    return Status::Corruption("raft message from '" + message->from.value() + "' on the connection of '" +
                              hello.node_id.value() + "'");
  }
  if (std::holds_alternative<raft::InstallSnapshotRequest>(message->body)) {
    return Status::Corruption("InstallSnapshot outside a snapshot stream");
  }
  if (message->to != core->config.node_id) {
    RQ_LOG_WARN("cluster: dropping raft message for '{}' (this is '{}')", message->to.value(),
                core->config.node_id.value());
    return Status::OK();
  }
  batch->push_back(std::move(*message));
  return Status::OK();
}

void DeliverRaft(Core* core, std::vector<raft::Message>* batch) {
  if (batch->empty()) return;
  core->receiver->OnRaftMessages(std::exchange(*batch, {}));
}

void PushAck(const std::shared_ptr<FrameQueue>& queue, const Status& status) {
  queue->Push(EncodeFrame(FrameType::kSnapshotAck, EncodeSnapshotAck({status.ok(), status.ToString()})));
}

// Inflates one SNAPSHOT_CHUNK_ZLIB payload; the result is capped like a
// frame, so a hostile stream cannot make the receiver allocate much.
Status Inflate(std::string_view in, size_t max_bytes, std::string* out) {
  out->clear();
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return Status::Internal("zlib inflateInit failed");
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  char buffer[64 * 1024];
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(buffer);
    z.avail_out = sizeof(buffer);
    rc = inflate(&z, Z_NO_FLUSH);
    out->append(buffer, sizeof(buffer) - z.avail_out);
    if (out->size() > max_bytes) rc = Z_BUF_ERROR;
    if (rc == Z_OK && z.avail_in == 0 && z.avail_out != 0) rc = Z_DATA_ERROR;  // truncated stream
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || z.avail_in != 0) return Status::Corruption("bad compressed snapshot chunk");
  return Status::OK();
}

// Reads CHUNK frames into `sink` until a matching END.
asio::awaitable<Status> ReceiveChunks(FrameReader& reader, Stream& socket, SnapshotSink* sink,
                                      size_t max_chunk_bytes) {
  uint32_t crc = 0;
  uint64_t total_bytes = 0;
  std::string inflated;
  for (;;) {
    auto frame = co_await reader.Read(socket);
    if (!frame.ok()) co_return frame.status();
    if (frame->type == FrameType::kSnapshotChunkZlib) {
      Status status = Inflate(frame->payload, max_chunk_bytes, &inflated);
      if (!status.ok()) co_return status;
      frame->payload.swap(inflated);
      frame->type = FrameType::kSnapshotChunk;
    }
    if (frame->type == FrameType::kSnapshotChunk) {
      crc = crc32c::Extend(crc, frame->payload.data(), frame->payload.size());
      total_bytes += frame->payload.size();
      Status written = sink->Write(frame->payload);
      if (!written.ok()) co_return written.WithContext("snapshot sink");
      continue;
    }
    if (frame->type != FrameType::kSnapshotEnd) {
      co_return Status::Corruption(std::string("unexpected ") + FrameTypeName(frame->type) +
                                   " frame in a snapshot stream");
    }
    auto end = DecodeSnapshotEnd(frame->payload);
    if (!end.ok()) co_return end.status();
    if (end->total_bytes != total_bytes || end->masked_crc32c != crc32c::Mask(crc)) {
      co_return Status::Corruption("snapshot stream size or crc mismatch");
    }
    co_return Status::OK();
  }
}

asio::awaitable<Status> ReceiveSnapshot(Core* core, const Hello& hello, std::string_view payload,
                                        FrameReader& reader, const Socket& socket,
                                        const std::shared_ptr<FrameQueue>& queue) {
  auto begin = DecodeSnapshotBegin(payload);
  if (!begin.ok()) co_return begin.status();
  if (begin->message.from != hello.node_id) co_return Status::Corruption("snapshot from a different node");
  const raft::SnapshotMeta& meta = std::get<raft::InstallSnapshotRequest>(begin->message.body).meta;
  auto sink = core->receiver->BeginSnapshot(begin->message.from, meta);
  if (!sink.ok()) {
    PushAck(queue, sink.status());
    co_return sink.status();
  }
  Status status = co_await ReceiveChunks(reader, *socket, sink->get(), core->config.max_frame_bytes);
  if (status.ok()) {
    status = (*sink)->Finish();
  } else {
    (*sink)->Abort();
  }
  if (!status.ok()) {
    PushAck(queue, status);
    co_return status;
  }
  RQ_LOG_INFO("cluster: received snapshot at index {} from {}", meta.index.value(), hello.node_id.value());
  core->receiver->OnRaftMessage(std::move(begin->message));
  PushAck(queue, Status::OK());
  co_return Status::OK();
}

asio::awaitable<Status> ReadHello(Core* core, FrameReader& reader, const Socket& socket, Hello* hello) {
  SocketDeadline deadline(socket, core->config.hello_timeout);
  auto frame = co_await reader.Read(*socket);
  if (!frame.ok()) co_return frame.status();
  if (frame->type != FrameType::kHello) co_return Status::Corruption("first frame is not HELLO");
  auto decoded = DecodeHello(frame->payload);
  if (!decoded.ok()) co_return decoded.status();
  if (decoded->protocol_version != kProtocolVersion) {
    co_return Status::NotSupported("protocol version " + std::to_string(decoded->protocol_version));
  }
  *hello = std::move(*decoded);
  if (!hello->node_id.empty() && !hello->raft_addr.empty() && core->config.on_peer_address) {
    core->config.on_peer_address(hello->node_id, hello->raft_addr);
  }
  co_return Status::OK();
}

// Counts a connection for Config::inbound_connections_max while alive.
class InboundSlot {
 public:
  explicit InboundSlot(Core* core) : core_(core) { core_->inbound_connections.fetch_add(1); }
  ~InboundSlot() { core_->inbound_connections.fetch_sub(1); }
  InboundSlot(const InboundSlot&) = delete;
  InboundSlot& operator=(const InboundSlot&) = delete;

 private:
  Core* core_;
};

asio::awaitable<void> ServeConnection(Core* core, Socket socket) {
  InboundSlot slot(core);
  const std::string remote = RemoteName(*socket);
  FrameReader reader(core->config.max_frame_bytes, /*first_is_hello=*/true);
  Hello hello;
  Status status = co_await StartServerTls(socket, core->tls.get(), core->config.hello_timeout);
  if (status.ok()) status = co_await ReadHello(core, reader, socket, &hello);
  auto queue = std::make_shared<FrameQueue>(socket->get_executor(), core->config.rpc_inflight_max + 8,
                                            std::numeric_limits<size_t>::max() / 2);
  auto inflight = std::make_shared<std::atomic<size_t>>(0);
  if (status.ok()) {
    asio::co_spawn(socket->get_executor(), WriterLoop(socket, queue), LogIfThrew);
    // An RPC answer is then written by the thread that completes it.
    if (!socket->tls()) queue->AttachSocket(socket->tcp_socket(), core->config.direct_write_idle);
  }
  // Raft messages already read are delivered together, just before this
  // coroutine would wait for the socket: a receiver that was busy (an
  // fsync) then steps everything that arrived meanwhile in one round.
  std::vector<raft::Message> batch;
  while (status.ok()) {
    if (!reader.HasBufferedFrame() || batch.size() >= kRaftBatchMax) DeliverRaft(core, &batch);
    auto frame = co_await reader.Read(*socket);
    if (!frame.ok()) {
      status = frame.status();
      break;
    }
    if (frame->type != FrameType::kRaftMessage) DeliverRaft(core, &batch);
    switch (frame->type) {
      case FrameType::kRaftMessage: status = DecodeRaft(core, hello, frame->payload, &batch); break;
      case FrameType::kRpcRequest: status = HandleRpc(core, frame->payload, queue, inflight); break;
      case FrameType::kSnapshotBegin:
        status = co_await ReceiveSnapshot(core, hello, frame->payload, reader, socket, queue);
        break;
      default:
        status = Status::Corruption(std::string("unexpected ") + FrameTypeName(frame->type) + " frame");
    }
  }
  DeliverRaft(core, &batch);  // what arrived intact before the end
  if (status.IsIOError()) {
    RQ_LOG_DEBUG("cluster: connection from {} ended: {}", remote, status.ToString());
  } else {
    RQ_LOG_WARN("cluster: closing connection from {} ({}): {}", remote, hello.node_id.value(), status.ToString());
  }
  queue->Close();  // the writer flushes (a final ACK, say) and closes the socket
  if (hello.protocol_version == 0) {
    boost::system::error_code ignored;
    socket->close(ignored);  // no writer was started
  } else {
    CloseAfter(socket, std::chrono::seconds(5));
  }
}

}  // namespace

namespace detail {

asio::awaitable<void> AcceptLoop(Core* core) {
  for (;;) {
    auto socket = std::make_shared<Stream>(asio::make_strand(*core->io));
    auto [ec] = co_await core->acceptor->async_accept(socket->tcp_socket(), kNoThrow);
    if (ec == asio::error::operation_aborted || !core->acceptor->is_open()) co_return;
    if (ec) {
      // E.g. out of file descriptors: pause rather than spin.
      RQ_LOG_WARN("cluster: accept failed: {}", ec.message());
      asio::steady_timer pause(*core->io, std::chrono::milliseconds(100));
      co_await pause.async_wait(kNoThrow);
      continue;
    }
    boost::system::error_code ignored;
    if (core->inbound_connections.load() >= core->config.inbound_connections_max) {
      RQ_LOG_WARN("cluster: refusing connection from {}: {} connections open", RemoteName(*socket),
                  core->inbound_connections.load());
      socket->close(ignored);
      continue;
    }
    socket->tcp_socket().set_option(tcp::no_delay(true), ignored);
    asio::co_spawn(socket->get_executor(), ServeConnection(core, socket), LogIfThrew);
  }
}

}  // namespace detail
}  // namespace rq::cluster
