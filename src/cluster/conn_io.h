// Internal to cluster/ (transport.cc, client.cc): the Asio pieces every
// connection uses: a bounded thread-safe frame queue drained by one writer
// coroutine, a frame reader, a connect helper and a socket deadline.
//
// Ownership: sockets and queues are held by shared_ptr so a pending timer or
// completion can never outlive what it touches. Thread-safety: FrameQueue's
// Push/Close/Clear/size are safe from any thread; everything else runs on the
// connection's strand.
#pragma once

#include <boost/asio.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/status.h"
#include "cluster/frame.h"

namespace rq::cluster::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = std::shared_ptr<tcp::socket>;
inline constexpr auto kNoThrow = asio::as_tuple(asio::use_awaitable);

// Frames waiting to be written to one connection. Bounded by count and bytes:
// Push fails (and the caller reports or drops) rather than grow.
class FrameQueue : public std::enable_shared_from_this<FrameQueue> {
 public:
  FrameQueue(asio::any_io_executor executor, size_t frames_max, size_t bytes_max);

  // False when full or closed: the frame is not queued.
  bool Push(std::string frame);
  // Drains the queue; the writer then flushes what was taken and exits.
  void Close();
  // Drops every queued frame; returns how many.
  size_t Clear();
  size_t size() const;
  size_t bytes() const;

  // Strand only. Waits until frames are queued (moves them into *out and
  // returns true) or the queue is closed and empty (returns false).
  asio::awaitable<bool> PopAll(std::vector<std::string>* out);
  // Strand only. Waits until a frame is queued (true) or closed (false),
  // without taking anything.
  asio::awaitable<bool> WaitNonEmpty();

 private:
  void WakeLocked();

  asio::any_io_executor executor_;
  asio::steady_timer wake_;  // strand only
  const size_t frames_max_;
  const size_t bytes_max_;
  mutable std::mutex mutex_;
  std::deque<std::string> frames_;  // GUARDED_BY(mutex_)
  size_t bytes_ = 0;                // GUARDED_BY(mutex_)
  bool closed_ = false;             // GUARDED_BY(mutex_)
  bool waiting_ = false;            // GUARDED_BY(mutex_)
};

// Writes every frame pushed to `queue` until it is closed or a write fails,
// then closes the socket.
asio::awaitable<void> WriterLoop(Socket socket, std::shared_ptr<FrameQueue> queue);

// Cuts the socket's byte stream into frames.
class FrameReader {
 public:
  explicit FrameReader(size_t max_payload_bytes) : decoder_(max_payload_bytes), buffer_(64 * 1024, '\0') {}
  // The next frame; IOError when the peer closed or the read failed,
  // Corruption for a bad frame (the connection must then be closed).
  asio::awaitable<Result<Frame>> Read(tcp::socket& socket);

 private:
  FrameDecoder decoder_;
  std::string buffer_;
};

asio::awaitable<Status> WriteAll(tcp::socket& socket, const std::string& bytes);

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
