// The outbound side of cluster::Transport: one lazily connected raft stream
// per peer, reconnecting with backoff, and each InstallSnapshot streamed on a
// connection of its own.
#include <algorithm>

#include <zlib.h>

#include "base/crc32c.h"
#include "base/logging.h"
#include "cluster/codec.h"
#include "cluster/conn_io.h"
#include "cluster/transport_internal.h"

namespace rq::cluster {
using namespace detail;  // NOLINT: the Asio vocabulary of conn_io.h

namespace {

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
  const Hello hello{core->config.node_id, kProtocolVersion, core->config.advertise_addr};
  const std::string frame = EncodeFrame(FrameType::kHello, EncodeHello(hello));
  co_return co_await WriteAll(*socket, frame);
}

}  // namespace

namespace detail {

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

}  // namespace detail

namespace {

std::string Deflate(std::string_view in) {
  uLongf size = compressBound(static_cast<uLong>(in.size()));
  std::string out(size, '\0');
  int rc = compress2(reinterpret_cast<Bytef*>(out.data()), &size, reinterpret_cast<const Bytef*>(in.data()),
                     static_cast<uLong>(in.size()), Z_BEST_SPEED);
  RQ_ASSERT(rc == Z_OK);  // only fails for a short buffer or no memory
  out.resize(size);
  return out;
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

}  // namespace

namespace detail {

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

}  // namespace detail
}  // namespace rq::cluster
