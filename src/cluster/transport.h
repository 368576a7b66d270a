// cluster::Transport: this node's end of the cluster protocol on its Raft
// address (docs/wire_format.md). One TCP listener accepts every kind of
// connection (raft streams, RPCs, snapshot streams); outbound, one lazily
// connected stream per peer carries raft messages, and each InstallSnapshot
// gets a connection of its own that streams the snapshot in CRC-checked chunks.
// With Config::tls set every connection, in and out, is TLS (docs/wire_format.md
// section 5); otherwise plain TCP.
//
// Ownership: the receiver, handler and source must outlive the Transport (or
// at least its Stop()). Threading: public methods are safe from any thread
// and never block on the network. Upward calls (RaftReceiver, RpcHandler,
// SnapshotSource, the callbacks in Config) run on the transport's I/O threads,
// except on_unreachable, which may also run inside Send() on the caller's
// thread; none of them may block for long.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "cluster/frame.h"
#include "cluster/service.h"
#include "cluster/tls.h"
#include "raft/types.h"

namespace rq::cluster {

class Transport {
 public:
  struct Config {
    std::string bind_addr = "127.0.0.1:0";  // host:port; port 0 picks a free one
    NodeId node_id;
    // Sent in HELLO on outbound Raft connections (see Hello::raft_addr).
    std::string advertise_addr;
    size_t max_frame_bytes = frame_config::kMaxPayloadBytesDefault;
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
    // A peer must send HELLO this soon after connecting.
    std::chrono::nanoseconds hello_timeout = std::chrono::seconds(10);
    size_t io_threads = 1;
    // Per-peer outbound queue: raft messages beyond these are dropped (and
    // reported through on_unreachable) rather than queued.
    size_t peer_queue_messages_max = 4096;
    size_t peer_queue_bytes_max = size_t{64} << 20;
    size_t snapshot_chunk_bytes = size_t{1} << 20;
    // How long a snapshot sender waits for the receiver's ACK after the end.
    std::chrono::nanoseconds snapshot_ack_timeout = std::chrono::seconds(120);
    std::chrono::nanoseconds backoff_initial = std::chrono::milliseconds(50);
    std::chrono::nanoseconds backoff_max = std::chrono::seconds(1);
    // RPCs being served at once per inbound connection; more get Busy.
    size_t rpc_inflight_max = 256;
    // Inbound connections open at once; more are closed on accept.
    size_t inbound_connections_max = 1024;
    // A frame for a plain-TCP connection that was quiet this long is written
    // by the sending thread itself (no I/O-thread wakeup); closer frames are
    // queued and written together (conn_io.h FrameQueue).
    std::chrono::nanoseconds direct_write_idle = std::chrono::microseconds(200);
    // Node-to-node TLS for every connection, in and out (off: plain TCP).
    TlsOptions tls{};
    // Snapshot chunks are sent zlib-compressed (-compress-snap-transport).
    // Received chunks are accepted either way.
    bool compress_snapshots = false;
    // A message to this peer was dropped (queue full, unknown peer, or the
    // connection failed): the store calls RaftNode::ReportUnreachable.
    std::function<void(const NodeId&)> on_unreachable;
    // Outcome of an InstallSnapshot stream: RaftNode::ReportSnapshot.
    std::function<void(const NodeId&, bool ok)> on_snapshot_done;
    // A peer's HELLO named its Raft address (before any of its messages).
    std::function<void(const NodeId&, const std::string& raft_addr)> on_peer_address;

    Status Validate() const;
  };

  // REQUIRES: config.Validate().ok(); receiver non-null. handler and source
  // may be null: RPCs then get Unavailable, snapshots fail.
  Transport(Config config, RaftReceiver* receiver, RpcHandler* handler, SnapshotSource* source);
  ~Transport();  // Stop()s
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  // Binds and listens; IOError naming the address when it cannot.
  Status Start();
  // Closes everything and joins the I/O threads. Idempotent.
  void Stop();
  // The bound port (after Start()).
  uint16_t port() const;

  // The current members' Raft addresses (this node's own entry is ignored).
  // Peers no longer present are disconnected; a changed address reconnects.
  void SetPeers(std::map<NodeId, std::string> raft_addresses);

  // Queues messages to their `to` peers; never blocks. InstallSnapshotRequest
  // starts a snapshot stream (one at a time per peer).
  void Send(std::vector<raft::Message> messages);

  struct PeerStats {
    NodeId id;
    std::string address;
    bool connected = false;      // the raft stream is up
    uint64_t messages_sent = 0;  // written to the socket
    uint64_t messages_dropped = 0;  // queue full, or lost with a failed connection
    size_t messages_queued = 0;
  };
  // One entry per current peer, sorted by id (for /status).
  std::vector<PeerStats> Stats() const;

  // Raft messages queued for `peer` (0 for an unknown peer).
  size_t TEST_QueuedMessages(const NodeId& peer) const;
  // The next snapshot chunk sent has one byte flipped after its CRC was
  // computed, so the receiver must reject the stream.
  void TEST_CorruptNextSnapshotChunk();

  struct Core;  // the Asio side (transport_internal.h)

 private:
  std::shared_ptr<Core> core_;
};

}  // namespace rq::cluster
