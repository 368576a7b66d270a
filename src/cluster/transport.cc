// The Asio side of cluster::Transport: accept loop, inbound connection
// handling (raft delivery, RPC dispatch, snapshot receive), outbound peer
// streams with backoff, and snapshot sending.
#include "cluster/transport.h"

#include <algorithm>
#include <atomic>
#include <thread>

#include <zlib.h>

#include "base/crc32c.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "cluster/codec.h"
#include "cluster/conn_io.h"

namespace rq::cluster {
using namespace detail;  // NOLINT: the Asio vocabulary of conn_io.h

namespace {

struct Peer {
  NodeId id;
  std::string address;
  asio::any_io_executor strand;
  std::shared_ptr<FrameQueue> queue;
  std::atomic<bool> removed{false};
  std::atomic<bool> snapshot_in_flight{false};
  std::atomic<bool> connected{false};
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> dropped{0};
};

void LogIfThrew(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    RQ_LOG_ERROR("cluster: connection task failed: {}", e.what());
  } catch (...) {
    RQ_LOG_ERROR("cluster: connection task failed");
  }
}

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

}  // namespace

struct Transport::Core : std::enable_shared_from_this<Transport::Core> {
  Core(Config c, RaftReceiver* r, RpcHandler* h, SnapshotSource* s)
      : config(std::move(c)), receiver(r), handler(h), source(s),
        io(std::make_unique<asio::io_context>(static_cast<int>(config.io_threads))) {}
  ~Core() {
    // Pending coroutine frames die with the io_context; everything they can
    // reference must still be alive then, so the io_context goes first.
    acceptor.reset();
    peers.clear();
    io.reset();
  }

  void ReportUnreachable(const NodeId& id) const {
    if (config.on_unreachable) config.on_unreachable(id);
  }
  std::shared_ptr<Peer> FindPeer(const NodeId& id) const {
    std::lock_guard lock(mutex);
    auto it = peers.find(id);
    return it == peers.end() ? nullptr : it->second;
  }

  const Config config;
  RaftReceiver* const receiver;
  RpcHandler* const handler;
  SnapshotSource* const source;
  std::shared_ptr<TlsContexts> tls;  // null: plain TCP; set before Start() returns
  std::atomic<bool> corrupt_next_chunk{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> inbound_connections{0};
  uint16_t port = 0;
  std::unique_ptr<asio::io_context> io;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  mutable std::mutex mutex;
  std::map<NodeId, std::shared_ptr<Peer>> peers;  // GUARDED_BY(mutex)
};

namespace {
using Core = Transport::Core;

// ---------------------------------------------------------------- inbound

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

std::string Deflate(std::string_view in) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  std::string out(size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(in.data()),
                     static_cast<uLong>(in.size()), Z_BEST_SPEED);
  RQ_ASSERT(rc == Z_OK);  // only fails for a short buffer or no memory
  out.resize(size);
  return out;
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

}  // namespace
}  // namespace rq::cluster

namespace rq::cluster {
namespace {
using Core = Transport::Core;

// ---------------------------------------------------------------- outbound

// Any byte (or EOF) on an outbound raft stream ends it: the receiver never
// writes there, so this is how a restarted peer is noticed while idle. The
// reason goes to `why`, since the writer's own error after this close would
// be a misleading "Bad file descriptor".
asio::awaitable<void> WatchForClose(Socket socket, std::shared_ptr<FrameQueue> queue, std::shared_ptr<Status> why) {
  char byte;
  auto [ec, n] = co_await socket->async_read_some(asio::buffer(&byte, 1), kNoThrow);
  if (ec == asio::error::operation_aborted) co_return;  // we closed it: the writer knows why
  if (ec == asio::error::eof) {
    *why = Status::IOError("connection closed by the peer");
  } else if (ec) {
    *why = Status::IOError(ec.message());
  } else {
    *why = Status::IOError("peer wrote on a one-way stream");
  }
  queue->DetachSocket();
  boost::system::error_code ignored;
  socket->close(ignored);
}

// Writes queued frames until a write fails (IOError) or the queue closes (OK).
asio::awaitable<Status> PumpFrames(const Socket& socket, FrameQueue& queue, std::atomic<uint64_t>* sent) {
  std::vector<std::string> batch;
  std::vector<asio::const_buffer> buffers;
  while (co_await queue.PopAll(&batch)) {
    buffers.clear();
    for (const std::string& frame : batch) buffers.push_back(asio::buffer(frame));
    auto [ec, n] = co_await asio::async_write(*socket, buffers, kNoThrow);
    if (ec) co_return Status::IOError(ec.message());
    queue.WriteDone();
    sent->fetch_add(batch.size());
  }
  co_return Status::OK();
}

asio::awaitable<Status> ConnectAndGreet(Core* core, const Socket& socket, const std::string& address) {
  Status status = co_await Connect(socket, address, core->config.connect_timeout);
  if (status.ok()) status = co_await StartClientTls(socket, core->tls.get(), address, core->config.connect_timeout);
  if (!status.ok()) co_return status;
  // Named locals, not temporaries, in co_await expressions: GCC 12 can
  // destroy a temporary of a co_await full-expression twice.
  const Hello hello{core->config.node_id, kProtocolVersion};
  const std::string frame = EncodeFrame(FrameType::kHello, EncodeHello(hello));
  co_return co_await WriteAll(*socket, frame);
}

// One peer's raft stream: connect when there is something to send, write
// until the connection fails, then drop what is queued, report, back off.
asio::awaitable<void> PeerLoop(Core* core, std::shared_ptr<Peer> peer) {
  auto backoff = core->config.backoff_initial;
  bool was_connected = true;  // log the first failure loudly, retries quietly
  asio::steady_timer sleep(peer->strand);
  while (!peer->removed) {
    if (!co_await peer->queue->WaitNonEmpty()) break;
    auto socket = std::make_shared<Stream>(peer->strand);
    Status status = co_await ConnectAndGreet(core, socket, peer->address);
    if (status.ok()) {
      RQ_LOG_DEBUG("cluster: connected to {} at {}", peer->id.value(), peer->address);
      was_connected = true;
      backoff = core->config.backoff_initial;
      auto closed_because = std::make_shared<Status>();
      asio::co_spawn(peer->strand, WatchForClose(socket, peer->queue, closed_because), LogIfThrew);
      // The Raft thread then writes its messages itself (TLS needs the strand).
      if (!socket->tls()) peer->queue->AttachSocket(socket->tcp_socket(), core->config.direct_write_idle);
      peer->connected = true;
      status = co_await PumpFrames(socket, *peer->queue, &peer->sent);
      peer->connected = false;
      if (!status.ok() && !closed_because->ok()) status = *closed_because;  // same strand: no race
    }
    peer->queue->DetachSocket();
    boost::system::error_code ignored;
    socket->close(ignored);
    if (peer->removed) break;
    size_t dropped = peer->queue->Clear();
    peer->dropped.fetch_add(dropped);
    if (was_connected) {
      RQ_LOG_WARN("cluster: peer {} at {} unreachable: {} ({} messages dropped)", peer->id.value(),
                  peer->address, status.ToString(), dropped);
    }
    was_connected = false;
    core->ReportUnreachable(peer->id);
    sleep.expires_after(backoff);
    co_await sleep.async_wait(kNoThrow);
    backoff = std::min(backoff * 2, core->config.backoff_max);
  }
}

asio::awaitable<Status> StreamChunks(Core* core, SnapshotReader& reader, Stream& socket) {
  uint32_t crc = 0;
  uint64_t total_bytes = 0;
  std::string chunk;
  for (;;) {
    Status read = reader.Read(core->config.snapshot_chunk_bytes, &chunk);
    if (!read.ok()) co_return read.WithContext("reading snapshot");
    if (chunk.empty()) break;
    RQ_ASSERT(chunk.size() <= core->config.snapshot_chunk_bytes);
    crc = crc32c::Extend(crc, chunk.data(), chunk.size());
    total_bytes += chunk.size();
    std::string frame = core->config.compress_snapshots
                            ? EncodeFrame(FrameType::kSnapshotChunkZlib, Deflate(chunk))
                            : EncodeFrame(FrameType::kSnapshotChunk, chunk);
    if (core->corrupt_next_chunk.exchange(false)) frame.back() ^= 0x5a;
    Status written = co_await WriteAll(socket, frame);
    if (!written.ok()) co_return written;
  }
  const SnapshotEnd end{total_bytes, crc32c::Mask(crc)};
  const std::string frame = EncodeFrame(FrameType::kSnapshotEnd, EncodeSnapshotEnd(end));
  co_return co_await WriteAll(socket, frame);
}

asio::awaitable<Status> AwaitAck(Core* core, const Socket& socket) {
  SocketDeadline deadline(socket, core->config.snapshot_ack_timeout);
  FrameReader reader(core->config.max_frame_bytes);
  auto frame = co_await reader.Read(*socket);
  if (!frame.ok()) co_return frame.status().WithContext("waiting for the snapshot ack");
  if (frame->type != FrameType::kSnapshotAck) co_return Status::Corruption("expected SNAPSHOT_ACK");
  auto ack = DecodeSnapshotAck(frame->payload);
  if (!ack.ok()) co_return ack.status();
  if (!ack->ok) co_return Status::Aborted("peer rejected the snapshot: " + ack->error);
  co_return Status::OK();
}

asio::awaitable<Status> StreamSnapshot(Core* core, const Peer& peer, const raft::Message& message) {
  if (core->source == nullptr) co_return Status::Unavailable("no snapshot source");
  const raft::SnapshotMeta& meta = std::get<raft::InstallSnapshotRequest>(message.body).meta;
  auto reader = core->source->OpenSnapshot(meta);
  if (!reader.ok()) co_return reader.status();
  auto socket = std::make_shared<Stream>(peer.strand);
  Status status = co_await ConnectAndGreet(core, socket, peer.address);
  if (!status.ok()) co_return status;
  const SnapshotBegin begin{message, (*reader)->total_bytes()};
  const std::string begin_frame = EncodeFrame(FrameType::kSnapshotBegin, EncodeSnapshotBegin(begin));
  status = co_await WriteAll(*socket, begin_frame);
  if (status.ok()) status = co_await StreamChunks(core, **reader, *socket);
  boost::system::error_code ignored;
  // On failure the receiver sees EOF, aborts its sink and answers at once.
  if (!status.ok()) socket->shutdown(tcp::socket::shutdown_send, ignored);
  Status ack = co_await AwaitAck(core, socket);
  socket->close(ignored);
  co_return ack.ok() ? status : ack;
}

asio::awaitable<void> SendSnapshot(Core* core, std::shared_ptr<Peer> peer, raft::Message message) {
  const uint64_t index = std::get<raft::InstallSnapshotRequest>(message.body).meta.index.value();
  Status status = co_await StreamSnapshot(core, *peer, message);
  if (status.ok()) {
    RQ_LOG_INFO("cluster: sent snapshot at index {} to {}", index, peer->id.value());
  } else {
    RQ_LOG_WARN("cluster: snapshot at index {} to {} failed: {}", index, peer->id.value(), status.ToString());
  }
  peer->snapshot_in_flight = false;
  if (core->config.on_snapshot_done) core->config.on_snapshot_done(peer->id, status.ok());
}

}  // namespace

// ---------------------------------------------------------------- public

Status Transport::Config::Validate() const {
  if (node_id.empty()) return Status::InvalidArgument("transport: node id is empty");
  if (max_frame_bytes < 4096) return Status::InvalidArgument("transport: max frame bytes below 4096");
  if (snapshot_chunk_bytes == 0 || snapshot_chunk_bytes > max_frame_bytes) {
    return Status::InvalidArgument("transport: snapshot chunk must be 1..max frame bytes");
  }
  if (io_threads == 0 || io_threads > 64) return Status::InvalidArgument("transport: io threads must be 1..64");
  if (peer_queue_messages_max == 0 || peer_queue_bytes_max == 0 || rpc_inflight_max == 0 ||
      inbound_connections_max == 0) {
    return Status::InvalidArgument("transport: queue limits must be positive");
  }
  if (connect_timeout.count() <= 0 || hello_timeout.count() <= 0 || snapshot_ack_timeout.count() <= 0) {
    return Status::InvalidArgument("transport: timeouts must be positive");
  }
  if (tls.enabled() != !tls.key_file.empty()) {
    return Status::InvalidArgument("transport: TLS needs both a certificate and a key");
  }
  if (!tls.common_name.empty() && !tls.verify_client) {
    return Status::InvalidArgument("transport: a required client CN needs client verification");
  }
  if (backoff_initial.count() <= 0 || backoff_initial > backoff_max) {
    return Status::InvalidArgument("transport: backoff must satisfy 0 < initial <= max");
  }
  return Status::OK();
}

Transport::Transport(Config config, RaftReceiver* receiver, RpcHandler* handler, SnapshotSource* source) {
  RQ_ASSERT(config.Validate().ok());
  RQ_ASSERT(receiver != nullptr);
  core_ = std::make_shared<Core>(std::move(config), receiver, handler, source);
}

Transport::~Transport() { Stop(); }

Status Transport::Start() {
  Core& core = *core_;
  RQ_ASSERT(!core.acceptor);
  if (core.config.tls.enabled()) {
    core.tls = std::make_shared<TlsContexts>(core.config.tls);
    auto context = core.tls->Server();  // fail now, not on the first connection
    if (!context.ok()) return context.status().WithContext("node-to-node TLS");
  }
  std::string host, port;
  RQ_RETURN_IF_ERROR(SplitHostPort(core.config.bind_addr, &host, &port));
  boost::system::error_code ec;
  tcp::resolver resolver(*core.io);
  auto endpoints = resolver.resolve(host, port, tcp::resolver::passive, ec);
  if (ec || endpoints.empty()) {
    return Status::IOError("cannot resolve raft address " + core.config.bind_addr + ": " + ec.message());
  }
  tcp::endpoint endpoint = endpoints.begin()->endpoint();
  auto acceptor = std::make_unique<tcp::acceptor>(*core.io);
  acceptor->open(endpoint.protocol(), ec);
  if (!ec) acceptor->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) core.port = acceptor->local_endpoint(ec).port();
  if (ec) return Status::IOError("cannot listen on raft address " + core.config.bind_addr + ": " + ec.message());
  core.acceptor = std::move(acceptor);
  core.work.emplace(core.io->get_executor());
  asio::co_spawn(*core.io, AcceptLoop(&core), LogIfThrew);
  for (size_t i = 0; i < core.config.io_threads; ++i) {
    core.threads.emplace_back([io = core.io.get(), i] {
      NameThisThread("raft-io-" + std::to_string(i));
      io->run();
    });
  }
  RQ_LOG_INFO("cluster: node {} listening on {} (port {})", core.config.node_id.value(), core.config.bind_addr,
              core.port);
  return Status::OK();
}

void Transport::Stop() {
  Core& core = *core_;
  if (core.stopped.exchange(true)) return;
  core.work.reset();
  core.io->stop();
  for (auto& thread : core.threads) thread.join();
  core.threads.clear();
  std::lock_guard lock(core.mutex);
  for (auto& [id, peer] : core.peers) {
    peer->removed = true;
    peer->queue->Close();
  }
}

uint16_t Transport::port() const { return core_->port; }

void Transport::SetPeers(std::map<NodeId, std::string> raft_addresses) {
  Core& core = *core_;
  raft_addresses.erase(core.config.node_id);
  std::lock_guard lock(core.mutex);
  for (auto it = core.peers.begin(); it != core.peers.end();) {
    auto wanted = raft_addresses.find(it->first);
    if (wanted != raft_addresses.end() && wanted->second == it->second->address) {
      ++it;
      continue;
    }
    it->second->removed = true;
    it->second->queue->Close();
    it = core.peers.erase(it);
  }
  for (auto& [id, address] : raft_addresses) {
    if (core.peers.count(id) != 0) continue;
    auto peer = std::make_shared<Peer>();
    peer->id = id;
    peer->address = address;
    peer->strand = asio::make_strand(*core.io);
    peer->queue = std::make_shared<FrameQueue>(peer->strand, core.config.peer_queue_messages_max,
                                               core.config.peer_queue_bytes_max);
    core.peers.emplace(id, peer);
    asio::co_spawn(peer->strand, PeerLoop(&core, peer), LogIfThrew);
  }
}

void Transport::Send(std::vector<raft::Message> messages) {
  Core& core = *core_;
  if (core.stopped) return;
  std::vector<NodeId> unreachable;
  // Each peer's frames of this call go out together (one write, one TCP
  // segment when small), so its receiver steps them in one round.
  std::map<NodeId, std::pair<std::shared_ptr<Peer>, std::vector<std::string>>> outgoing;
  for (raft::Message& message : messages) {
    std::shared_ptr<Peer> peer = core.FindPeer(message.to);
    if (!peer) {
      unreachable.push_back(message.to);
      continue;
    }
    if (std::holds_alternative<raft::InstallSnapshotRequest>(message.body)) {
      if (peer->snapshot_in_flight.exchange(true)) continue;  // the first one will report
      asio::co_spawn(peer->strand, SendSnapshot(&core, peer, std::move(message)), LogIfThrew);
      continue;
    }
    std::string payload = EncodeRaftMessage(message);
    if (payload.size() > core.config.max_frame_bytes) {
      RQ_LOG_ERROR("cluster: raft message of {} bytes to {} exceeds the frame limit", payload.size(),
                   message.to.value());
      unreachable.push_back(message.to);
      continue;
    }
    auto& [target, frames] = outgoing[message.to];
    target = std::move(peer);
    frames.push_back(EncodeFrame(FrameType::kRaftMessage, payload));
  }
  for (auto& [id, entry] : outgoing) {
    auto& [peer, frames] = entry;
    const size_t count = frames.size();
    const size_t accepted = peer->queue->PushAll(std::move(frames));
    if (accepted < count) {
      peer->dropped.fetch_add(count - accepted);
      unreachable.push_back(id);
    }
  }
  std::sort(unreachable.begin(), unreachable.end());
  unreachable.erase(std::unique(unreachable.begin(), unreachable.end()), unreachable.end());
  for (const NodeId& id : unreachable) core.ReportUnreachable(id);
}

std::vector<Transport::PeerStats> Transport::Stats() const {
  std::vector<PeerStats> out;
  std::lock_guard lock(core_->mutex);
  for (const auto& [id, peer] : core_->peers) {
    out.push_back(PeerStats{id, peer->address, peer->connected.load(),
                            peer->sent.load() + peer->queue->written_directly(), peer->dropped.load(),
                            peer->queue->size()});
  }
  return out;
}

size_t Transport::TEST_QueuedMessages(const NodeId& peer) const {
  auto p = core_->FindPeer(peer);
  return p ? p->queue->size() : 0;
}

void Transport::TEST_CorruptNextSnapshotChunk() { core_->corrupt_next_chunk = true; }

}  // namespace rq::cluster
