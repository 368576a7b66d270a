// Private to transport*.cc: the state the public methods (transport.cc), the
// inbound side (transport_inbound.cc) and the outbound side
// (transport_outbound.cc) share, and the coroutines each starts in another.
#pragma once

#include <atomic>
#include <cstdint>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/logging.h"
#include "cluster/conn_io.h"
#include "cluster/transport.h"

namespace rq::cluster {
namespace detail {

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

inline void LogIfThrew(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    RQ_LOG_ERROR("cluster: connection task failed: {}", e.what());
  } catch (...) {
    RQ_LOG_ERROR("cluster: connection task failed");
  }
}

}  // namespace detail

struct Transport::Core : std::enable_shared_from_this<Transport::Core> {
  Core(Config c, RaftReceiver* r, RpcHandler* h, SnapshotSource* s)
      : config(std::move(c)), receiver(r), handler(h), source(s),
        io(std::make_unique<detail::asio::io_context>(static_cast<int>(config.io_threads))) {}
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
  std::shared_ptr<detail::Peer> FindPeer(const NodeId& id) const {
    std::lock_guard lock(mutex);
    auto it = peers.find(id);
    return it == peers.end() ? nullptr : it->second;
  }

  const Config config;
  RaftReceiver* const receiver;
  RpcHandler* const handler;
  SnapshotSource* const source;
  std::shared_ptr<detail::TlsContexts> tls;  // null: plain TCP; set before Start() returns
  std::atomic<bool> corrupt_next_chunk{false};
  std::atomic<bool> stopped{false};
  std::atomic<size_t> inbound_connections{0};
  uint16_t port = 0;
  std::unique_ptr<detail::asio::io_context> io;
  std::optional<detail::asio::executor_work_guard<detail::asio::io_context::executor_type>> work;
  std::unique_ptr<detail::tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  mutable std::mutex mutex;
  std::map<NodeId, std::shared_ptr<detail::Peer>> peers;  // GUARDED_BY(mutex)
};

namespace detail {
using Core = Transport::Core;

// The coroutines Transport's methods spawn: AcceptLoop in
// transport_inbound.cc, PeerLoop and SendSnapshot in transport_outbound.cc.
asio::awaitable<void> AcceptLoop(Core* core);
asio::awaitable<void> PeerLoop(Core* core, std::shared_ptr<Peer> peer);
asio::awaitable<void> SendSnapshot(Core* core, std::shared_ptr<Peer> peer, raft::Message message);

}  // namespace detail
}  // namespace rq::cluster
