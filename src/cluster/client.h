// cluster::Client: calls RPCs (join, remove, node meta, forward, stepdown) on
// other nodes' Raft addresses (docs/wire_format.md section 4).
//
// Each target address gets a small pool of connections, each carrying many
// RPCs at once (matched by correlation id); a connection that fails fails its
// in-flight calls and is replaced on the next call. Transport-level failures
// (cannot connect, timeout, bad frame) come back as a non-OK Result; the
// remote's own answer, error or not, is the value.
// Connections are TLS when Config::tls is set (docs/wire_format.md section 5).
//
// Thread-safety: every method is safe from any thread. The blocking calls
// must not be made from an async callback (they run on the client's I/O
// thread). Async callbacks run on that thread and must not block.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "base/strong_types.h"
#include "cluster/frame.h"
#include "cluster/service.h"
#include "cluster/tls.h"

namespace rq::cluster {

class Client {
 public:
  struct Config {
    NodeId node_id;  // sent in HELLO; may be empty
    size_t connections_per_address = 2;
    size_t max_frame_bytes = frame_config::kMaxPayloadBytesDefault;
    std::chrono::nanoseconds connect_timeout = std::chrono::seconds(5);
    size_t inflight_max_per_connection = 256;  // beyond this a call fails with Busy
    TlsOptions tls{};  // node-to-node TLS (off: plain TCP); a bad file fails each call
  };
  using Timeout = std::chrono::nanoseconds;

  explicit Client(Config config);
  ~Client();  // Stop()s
  // Fails pending and later calls with Aborted (their callbacks run now, on
  // the I/O thread), so an owner can finish them while what they call back
  // into still exists. Idempotent; blocks until done. Not from a callback.
  void Stop();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  Result<JoinResponse> Join(const std::string& address, const JoinRequest& request, Timeout timeout);
  Result<RemoveResponse> Remove(const std::string& address, const RemoveRequest& request, Timeout timeout);
  Result<NodeMetaResponse> GetNodeMeta(const std::string& address, const NodeMetaRequest& request,
                                       Timeout timeout);
  Result<ForwardResponse> Forward(const std::string& address, const ForwardRequest& request, Timeout timeout);
  Result<StepDownResponse> StepDown(const std::string& address, const StepDownRequest& request,
                                    Timeout timeout);
  Result<NotifyResponse> Notify(const std::string& address, const NotifyRequest& request, Timeout timeout);
  Result<BackupResponse> Backup(const std::string& address, const BackupRequest& request, Timeout timeout);

  // Forward without blocking: `done` runs exactly once, on the client's
  // I/O thread.
  void ForwardAsync(const std::string& address, ForwardRequest request, Timeout timeout,
                    std::function<void(Result<ForwardResponse>)> done);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace rq::cluster
