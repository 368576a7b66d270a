// cluster::Transport's public methods: config checks, starting the listener
// and the I/O threads, stopping, the peer set, and routing outgoing raft
// messages to peer queues or snapshot streams.
#include "cluster/transport.h"

#include <algorithm>
#include <thread>

#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "cluster/codec.h"
#include "cluster/conn_io.h"
#include "cluster/transport_internal.h"

namespace rq::cluster {
using namespace detail;  // NOLINT: the Asio vocabulary of conn_io.h

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
      RunContained(*io, "cluster: a connection task");
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
