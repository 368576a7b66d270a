// The Asio side of cluster::Client: one I/O thread owns every connection,
// pending call and timer, so no locks beyond the blocking wrappers' waiters.
#include "cluster/client.h"

#include <condition_variable>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "base/contain.h"
#include "base/logging.h"
#include "base/thread_name.h"
#include "cluster/codec.h"
#include "cluster/conn_io.h"

namespace rq::cluster {
using namespace detail;  // NOLINT: the Asio vocabulary of conn_io.h

namespace {

using ReplyCallback = std::function<void(Result<RpcReply>)>;

struct Pending {
  ReplyCallback done;
  std::unique_ptr<asio::steady_timer> timer;
};

// One pooled connection. I/O thread only.
struct Conn {
  std::string address;
  Socket socket;
  std::shared_ptr<FrameQueue> queue;
  std::map<uint64_t, Pending> pending;
  bool dead = false;
  bool answered = false;  // a reply arrived: the peer speaks our protocol
};

void IgnoreException(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    RQ_LOG_ERROR("cluster client: connection task failed: {}", e.what());
  } catch (...) {
  }
}

}  // namespace

struct Client::Impl {
  explicit Impl(Config c) : config(std::move(c)), work(io.get_executor()) {
    if (config.tls.enabled()) tls = std::make_shared<TlsContexts>(config.tls);
    thread = std::thread([this] {
      NameThisThread("cluster-client");
      RunContained(io, "cluster client: a request");
    });
  }

  ~Impl() {
    Stop();
    work.reset();
    io.stop();
    thread.join();
  }

  // Fails every pending call, and every later one, with Aborted; the I/O
  // thread keeps running so a call made meanwhile is still answered.
  void Stop() {
    std::promise<void> drained;
    asio::post(io, [this, &drained] {
      stopped = true;
      auto pool_copy = pool;
      for (auto& [address, conns] : pool_copy) {
        for (auto& conn : conns) FailAll(conn, Status::Aborted("cluster client shutting down"));
      }
      pool.clear();
      drained.set_value();
    });
    drained.get_future().wait();
  }

  void Call(const std::string& address, RpcBody body, Timeout timeout, ReplyCallback done) {
    asio::post(io, [this, address, body = std::move(body), timeout, done = std::move(done)]() mutable {
      StartCall(address, std::move(body), timeout, std::move(done));
    });
  }

  void StartCall(const std::string& address, RpcBody body, Timeout timeout, ReplyCallback done) {
    if (stopped) {
      done(Status::Aborted("cluster client shutting down"));
      return;
    }
    const uint64_t id = next_id++;
    std::string payload = EncodeRpcCall({id, std::move(body)});
    if (payload.size() > config.max_frame_bytes) {
      done(Status::InvalidArgument("rpc request of " + std::to_string(payload.size()) + " bytes is too large"));
      return;
    }
    std::shared_ptr<Conn> conn = PickConnection(address);
    if (conn->pending.size() >= config.inflight_max_per_connection) {
      done(Status::Busy("too many RPCs in flight to " + address));
      return;
    }
    if (!conn->queue->Push(EncodeFrame(FrameType::kRpcRequest, payload))) {
      done(Status::Unavailable("connection to " + address + " is closing"));
      return;
    }
    Pending& pending = conn->pending[id];
    pending.done = std::move(done);
    pending.timer = std::make_unique<asio::steady_timer>(io);
    pending.timer->expires_after(timeout);
    pending.timer->async_wait([this, conn, id, address](boost::system::error_code ec) {
      if (ec) return;
      Complete(conn, id, Status::Timeout("rpc to " + address + " timed out"));
    });
  }

  std::shared_ptr<Conn> PickConnection(const std::string& address) {
    auto& conns = pool[address];
    std::erase_if(conns, [](const auto& c) { return c->dead; });
    std::shared_ptr<Conn> best;
    for (auto& c : conns) {
      if (!best || c->pending.size() < best->pending.size()) best = c;
    }
    if (best && (best->pending.empty() || conns.size() >= config.connections_per_address)) return best;
    auto conn = std::make_shared<Conn>();
    conn->address = address;
    conn->socket = std::make_shared<Stream>(io.get_executor());
    conn->queue = std::make_shared<FrameQueue>(io.get_executor(), config.inflight_max_per_connection + 8,
                                               std::numeric_limits<size_t>::max() / 2);
    conns.push_back(conn);
    asio::co_spawn(io, RunConnection(conn), IgnoreException);
    return conn;
  }

  void Complete(const std::shared_ptr<Conn>& conn, uint64_t id, Result<RpcReply> result) {
    auto it = conn->pending.find(id);
    if (it == conn->pending.end()) return;  // already timed out or failed
    ReplyCallback done = std::move(it->second.done);
    it->second.timer->cancel();
    conn->pending.erase(it);
    done(std::move(result));
  }

  void FailAll(const std::shared_ptr<Conn>& conn, const Status& status) {
    conn->dead = true;
    conn->queue->Close();
    boost::system::error_code ignored;
    conn->socket->close(ignored);
    auto pending = std::move(conn->pending);
    conn->pending.clear();
    for (auto& [id, p] : pending) {
      p.timer->cancel();
      p.done(status);
    }
  }

  asio::awaitable<Status> ReadReplies(const std::shared_ptr<Conn>& conn) {
    FrameReader reader(config.max_frame_bytes);
    for (;;) {
      auto frame = co_await reader.Read(*conn->socket);
      if (!frame.ok()) co_return frame.status();
      if (frame->type != FrameType::kRpcResponse) {
        co_return Status::Corruption(std::string("unexpected ") + FrameTypeName(frame->type) + " frame");
      }
      auto reply = DecodeRpcReply(frame->payload);
      if (!reply.ok()) co_return reply.status();
      const uint64_t id = reply->correlation_id;
      conn->answered = true;
      Complete(conn, id, std::move(*reply));
    }
  }

  asio::awaitable<void> RunConnection(std::shared_ptr<Conn> conn) {
    Status status = co_await Connect(conn->socket, conn->address, config.connect_timeout);
    if (status.ok()) {
      status = co_await StartClientTls(conn->socket, tls.get(), conn->address, config.connect_timeout);
    }
    if (status.ok()) {
      // A named local: GCC 12 mishandles temporaries in co_await expressions.
      const Hello hello{config.node_id, kProtocolVersion, ""};
      const std::string frame = EncodeFrame(FrameType::kHello, EncodeHello(hello));
      status = co_await WriteAll(*conn->socket, frame);
    }
    const bool greeted = status.ok();
    if (status.ok()) {
      asio::co_spawn(io, WriterLoop(conn->socket, conn->queue), IgnoreException);
      status = co_await ReadReplies(conn);
    }
    if (greeted && status.IsIOError() && !conn->answered && tls == nullptr) {
      // A TLS node closes a plain connection without a word (the handshake
      // fails on its side), so say what the likely cause is.
      status = Status::IOError(status.message() +
                               " (if that node runs node-to-node TLS, -node-cert and -node-key must be set here too)");
    }
    if (!status.IsIOError()) RQ_LOG_WARN("cluster client: connection to {}: {}", conn->address, status.ToString());
    FailAll(conn, status.WithContext("rpc to " + conn->address));
  }

  const Config config;
  std::shared_ptr<TlsContexts> tls;  // null when TLS is off
  asio::io_context io;  // declared first among Asio users: destroyed after them
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::thread thread;
  uint64_t next_id = 1;                                            // I/O thread only
  bool stopped = false;                                            // I/O thread only
  std::map<std::string, std::vector<std::shared_ptr<Conn>>> pool;  // I/O thread only
};

namespace {

// Runs one call and waits for its completion (the timer guarantees one).
template <typename T, typename Convert>
Result<T> CallAndWait(Client::Impl* impl, const std::string& address, RpcBody body, Client::Timeout timeout,
                      Convert convert) {
  RQ_ASSERT(std::this_thread::get_id() != impl->thread.get_id());
  struct Waiter {
    std::mutex mutex;
    std::condition_variable done;
    std::optional<Result<RpcReply>> result;
  };
  auto waiter = std::make_shared<Waiter>();
  impl->Call(address, std::move(body), timeout, [waiter](Result<RpcReply> result) {
    std::lock_guard lock(waiter->mutex);
    waiter->result.emplace(std::move(result));
    waiter->done.notify_all();
  });
  std::unique_lock lock(waiter->mutex);
  waiter->done.wait(lock, [&] { return waiter->result.has_value(); });
  if (!waiter->result->ok()) return waiter->result->status();
  return convert(std::move(waiter->result->value()));
}

MembershipResponse ToMembership(RpcReply reply) {
  return MembershipResponse{std::move(reply.status), std::move(reply.leader_raft_addr)};
}

ForwardResponse ToForward(RpcReply reply) {
  return ForwardResponse{std::move(reply.status), std::move(reply.response)};
}

}  // namespace

Client::Client(Config config) : impl_(std::make_unique<Impl>(std::move(config))) {}
Client::~Client() = default;

void Client::Stop() { impl_->Stop(); }

Result<JoinResponse> Client::Join(const std::string& address, const JoinRequest& request, Timeout timeout) {
  return CallAndWait<JoinResponse>(impl_.get(), address, request, timeout, ToMembership);
}

Result<RemoveResponse> Client::Remove(const std::string& address, const RemoveRequest& request, Timeout timeout) {
  return CallAndWait<RemoveResponse>(impl_.get(), address, request, timeout, ToMembership);
}

Result<StepDownResponse> Client::StepDown(const std::string& address, const StepDownRequest& request,
                                          Timeout timeout) {
  return CallAndWait<StepDownResponse>(impl_.get(), address, request, timeout, ToMembership);
}

Result<NotifyResponse> Client::Notify(const std::string& address, const NotifyRequest& request, Timeout timeout) {
  return CallAndWait<NotifyResponse>(impl_.get(), address, request, timeout, ToMembership);
}

Result<NodeMetaResponse> Client::GetNodeMeta(const std::string& address, const NodeMetaRequest& request,
                                             Timeout timeout) {
  return CallAndWait<NodeMetaResponse>(impl_.get(), address, request, timeout, [](RpcReply r) {
    return NodeMetaResponse{std::move(r.status), std::move(r.api_url), std::move(r.version), r.commit_index};
  });
}

Result<BackupResponse> Client::Backup(const std::string& address, const BackupRequest& request, Timeout timeout) {
  return CallAndWait<BackupResponse>(impl_.get(), address, request, timeout, [](RpcReply r) {
    return BackupResponse{std::move(r.status), std::move(r.backup_token), r.backup_total_bytes,
                          std::move(r.backup_chunk)};
  });
}

Result<ForwardResponse> Client::Forward(const std::string& address, const ForwardRequest& request,
                                        Timeout timeout) {
  return CallAndWait<ForwardResponse>(impl_.get(), address, request, timeout, ToForward);
}

void Client::ForwardAsync(const std::string& address, ForwardRequest request, Timeout timeout,
                          std::function<void(Result<ForwardResponse>)> done) {
  impl_->Call(address, std::move(request), timeout, [done = std::move(done)](Result<RpcReply> result) {
    if (!result.ok()) {
      done(result.status());
      return;
    }
    done(ToForward(std::move(result.value())));
  });
}

}  // namespace rq::cluster
