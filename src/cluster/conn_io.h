// Internal to cluster/ (transport*.cc, client.cc): the Asio pieces every
// connection uses: a byte stream that is a plain TCP socket or TLS over one,
// the TLS contexts (reloaded when the cert or key file changes), a bounded
// thread-safe frame queue drained by one writer coroutine, a frame reader, a
// connect helper and a socket deadline.
//
// Ownership: sockets and queues are held by shared_ptr so a pending timer or
// completion can never outlive what it touches. Thread-safety: FrameQueue's
// Push/Close/Clear/size are safe from any thread; everything else runs on the
// connection's strand.
#pragma once

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "cluster/frame.h"
#include "cluster/tls.h"

namespace rq::cluster::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace ssl = asio::ssl;
inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// One connection's byte stream: TLS over the TCP socket once EnableTls() was
// called, else the socket itself (one branch per operation, no other cost).
// Models Asio's AsyncReadStream/AsyncWriteStream so asio::async_write works.
// Like a socket, it is used from one strand; close() may cancel pending I/O.
class Stream {
 public:
  using executor_type = asio::any_io_executor;
  explicit Stream(asio::any_io_executor executor) : socket_(std::move(executor)) {}
  Stream(const Stream&) = delete;
  Stream& operator=(const Stream&) = delete;

  executor_type get_executor() { return socket_.get_executor(); }
  tcp::socket& tcp_socket() { return socket_; }
  bool tls() const { return tls_ != nullptr; }
  // Wraps the (connected) socket in TLS with `context`, kept alive here.
  // Call before any I/O, then Handshake().
  void EnableTls(std::shared_ptr<ssl::context> context);
  ssl::stream<tcp::socket&>& tls_stream() { return *tls_; }

  template <typename Buffers, typename Token>
  auto async_read_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_read_some(b, std::move(handler));
          } else {
            socket_.async_read_some(b, std::move(handler));
          }
        },
        token, buffers);
  }
  template <typename Buffers, typename Token>
  auto async_write_some(const Buffers& buffers, Token&& token) {
    return asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
        [this](auto handler, const Buffers& b) {
          if (tls_) {
            tls_->async_write_some(b, std::move(handler));
          } else {
            socket_.async_write_some(b, std::move(handler));
          }
        },
        token, buffers);
  }

  void close(boost::system::error_code& ec) { socket_.close(ec); }
  void shutdown(tcp::socket::shutdown_type what, boost::system::error_code& ec) { socket_.shutdown(what, ec); }
  tcp::endpoint remote_endpoint(boost::system::error_code& ec) const { return socket_.remote_endpoint(ec); }

 private:
  tcp::socket socket_;
  std::shared_ptr<ssl::context> context_;
  std::unique_ptr<ssl::stream<tcp::socket&>> tls_;
};
using Socket = std::shared_ptr<Stream>;

// The SSL contexts built from TlsOptions. Each new connection asks for a
// context; when the cert or key file's mtime changed since the last build,
// both are rebuilt, so a renewed certificate is used without a restart (a
// rebuild that fails keeps the previous contexts). Thread-safe.
class TlsContexts {
 public:
  explicit TlsContexts(TlsOptions options) : options_(std::move(options)) {}
  const TlsOptions& options() const { return options_; }
  Result<std::shared_ptr<ssl::context>> Server() { return Get(true); }
  Result<std::shared_ptr<ssl::context>> Client() { return Get(false); }

 private:
  Result<std::shared_ptr<ssl::context>> Get(bool server);
  Result<std::shared_ptr<ssl::context>> Build(bool server) const;

  const TlsOptions options_;
  std::mutex mutex_;
  int64_t cert_mtime_ns_ = -1;  // GUARDED_BY(mutex_)
  int64_t key_mtime_ns_ = -1;   // GUARDED_BY(mutex_)
  std::shared_ptr<ssl::context> server_;  // GUARDED_BY(mutex_)
  std::shared_ptr<ssl::context> client_;  // GUARDED_BY(mutex_)
};

// Dialing side: wraps a connected stream in TLS (when `tls` is non-null) and
// handshakes within `timeout`, verifying the server as TlsOptions say.
asio::awaitable<Status> StartClientTls(const Socket& socket, TlsContexts* tls, const std::string& address,
                                       std::chrono::nanoseconds timeout);
// Listening side: the same for an accepted stream, including the CN check.
asio::awaitable<Status> StartServerTls(const Socket& socket, TlsContexts* tls, std::chrono::nanoseconds timeout);

// Frames waiting to be written to one connection. Bounded by count and bytes:
// Push fails (and the caller reports or drops) rather than grow.
//
// With a plain TCP socket attached, Push writes the frame itself, on the
// caller's thread, when nothing is queued or being written and the previous
// frame was pushed at least `idle` ago: a message on a quiet connection then
// costs no wakeup of the I/O thread. Under load the frames queue up and the
// writer sends them together, so the receiver handles them in one round
// (one fsync on a follower) instead of one each. Whatever the socket does not
// take at once is queued, so the writer coroutine keeps the byte order.
class FrameQueue : public std::enable_shared_from_this<FrameQueue> {
 public:
  FrameQueue(asio::any_io_executor executor, size_t frames_max, size_t bytes_max);
  ~FrameQueue();

  // False when full or closed: the frame is neither written nor queued.
  bool Push(std::string frame);
  // Pushes `frames` in order, written together (one TCP segment when they
  // fit) when they go straight to the socket. Returns how many were written
  // or queued: the rest did not fit (or the queue is closed) and are dropped.
  size_t PushAll(std::vector<std::string> frames);
  // Lets Push write to `socket` directly (a duplicate of its descriptor is
  // kept, so a socket closed meanwhile never turns into another file).
  // Call once the connection is set up, before any frame is queued for it.
  void AttachSocket(tcp::socket& socket, std::chrono::nanoseconds idle);
  // Push queues again (call before closing the connection).
  void DetachSocket();
  // Frames Push wrote directly so far.
  uint64_t written_directly() const;
  // Drains the queue; the writer then flushes what was taken and exits.
  void Close();
  // Drops every queued frame; returns how many.
  size_t Clear();
  size_t size() const;
  size_t bytes() const;

  // Strand only. Waits until frames are queued (moves them into *out and
  // returns true) or the queue is closed and empty (returns false). The
  // caller owns the socket's write side until WriteDone().
  asio::awaitable<bool> PopAll(std::vector<std::string>* out);
  void WriteDone();
  // Strand only. Waits until a frame is queued (true) or closed (false),
  // without taking anything.
  asio::awaitable<bool> WaitNonEmpty();

 private:
  void WakeLocked();
  void DetachLocked();
  // Bytes of `frames` (from the first) the socket took at once.
  size_t WriteDirectLocked(const std::vector<std::string>& frames);

  asio::any_io_executor executor_;
  asio::steady_timer wake_;  // strand only
  const size_t frames_max_;
  const size_t bytes_max_;
  mutable std::mutex mutex_;
  std::deque<std::string> frames_;  // GUARDED_BY(mutex_)
  size_t bytes_ = 0;                // GUARDED_BY(mutex_)
  bool closed_ = false;             // GUARDED_BY(mutex_)
  bool waiting_ = false;            // GUARDED_BY(mutex_)
  int direct_fd_ = -1;              // GUARDED_BY(mutex_); owned (dup)
  std::chrono::nanoseconds direct_idle_{0};              // GUARDED_BY(mutex_)
  std::chrono::steady_clock::time_point last_push_;      // GUARDED_BY(mutex_)
  bool writer_busy_ = false;        // GUARDED_BY(mutex_): PopAll..WriteDone
  uint64_t written_directly_ = 0;   // GUARDED_BY(mutex_)
};

// Writes every frame pushed to `queue` until it is closed or a write fails,
// then closes the socket.
asio::awaitable<void> WriterLoop(Socket socket, std::shared_ptr<FrameQueue> queue);

// Cuts the socket's byte stream into frames.
class FrameReader {
 public:
  // first_is_hello: the listening side, where the stream must open with a
  // small HELLO frame, so a TLS record there is told apart reliably.
  explicit FrameReader(size_t max_payload_bytes, bool first_is_hello = false)
      : decoder_(max_payload_bytes), buffer_(64 * 1024, '\0'), detect_tls_(first_is_hello) {}
  // The next frame; IOError when the peer closed or the read failed,
  // Corruption for a bad frame (the connection must then be closed).
  asio::awaitable<Result<Frame>> Read(Stream& socket);
  // Whether Read() can return without touching the socket.
  bool HasBufferedFrame() const { return decoder_.HasFrame(); }

 private:
  FrameDecoder decoder_;
  std::string buffer_;
  bool detect_tls_;
};

asio::awaitable<Status> WriteAll(Stream& socket, const std::string& bytes);

// Closes the socket unless Cancel() is called before `timeout` passes, so any
// pending operation on it completes with an error. Strand only.
class SocketDeadline {
 public:
  SocketDeadline(const Socket& socket, std::chrono::nanoseconds timeout);
  ~SocketDeadline() { Cancel(); }
  void Cancel() { timer_.cancel(); }

 private:
  asio::steady_timer timer_;
};

// Splits "host:port" ("[v6]:port" too). InvalidArgument when malformed.
Status SplitHostPort(const std::string& address, std::string* host, std::string* port);

// Connects `socket` to `address` within `timeout`; IOError naming the address.
asio::awaitable<Status> Connect(const Socket& socket, const std::string& address,
                                std::chrono::nanoseconds timeout);

}  // namespace rq::cluster::detail
