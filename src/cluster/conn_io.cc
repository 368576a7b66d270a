#include "cluster/conn_io.h"

#include "base/logging.h"

namespace rq::cluster::detail {

FrameQueue::FrameQueue(asio::any_io_executor executor, size_t frames_max, size_t bytes_max)
    : executor_(executor), wake_(executor), frames_max_(frames_max), bytes_max_(bytes_max) {
  RQ_ASSERT(frames_max_ > 0);
  RQ_ASSERT(bytes_max_ > 0);
}

void FrameQueue::WakeLocked() {
  if (!waiting_) return;
  waiting_ = false;
  // The timer may only be touched on the strand.
  asio::post(executor_, [self = shared_from_this()] { self->wake_.cancel(); });
}

bool FrameQueue::Push(std::string frame) {
  std::lock_guard lock(mutex_);
  if (closed_) return false;
  if (frames_.size() >= frames_max_) return false;
  // One oversized frame is still accepted into an empty queue, so a message
  // larger than the byte budget is not undeliverable forever.
  if (!frames_.empty() && bytes_ + frame.size() > bytes_max_) return false;
  bytes_ += frame.size();
  frames_.push_back(std::move(frame));
  WakeLocked();
  return true;
}

void FrameQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  WakeLocked();
}

size_t FrameQueue::Clear() {
  std::lock_guard lock(mutex_);
  size_t dropped = frames_.size();
  frames_.clear();
  bytes_ = 0;
  return dropped;
}

size_t FrameQueue::size() const {
  std::lock_guard lock(mutex_);
  return frames_.size();
}

size_t FrameQueue::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

asio::awaitable<bool> FrameQueue::WaitNonEmpty() {
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (!frames_.empty()) co_return true;
      if (closed_) co_return false;
      waiting_ = true;
    }
    wake_.expires_at(asio::steady_timer::time_point::max());
    co_await wake_.async_wait(kNoThrow);
  }
}

asio::awaitable<bool> FrameQueue::PopAll(std::vector<std::string>* out) {
  out->clear();
  if (!co_await WaitNonEmpty()) co_return false;
  std::lock_guard lock(mutex_);
  out->assign(std::make_move_iterator(frames_.begin()), std::make_move_iterator(frames_.end()));
  frames_.clear();
  bytes_ = 0;
  co_return !out->empty();
}

asio::awaitable<void> WriterLoop(Socket socket, std::shared_ptr<FrameQueue> queue) {
  std::vector<std::string> batch;
  std::vector<asio::const_buffer> buffers;
  while (co_await queue->PopAll(&batch)) {
    buffers.clear();
    for (const std::string& frame : batch) buffers.push_back(asio::buffer(frame));
    auto [ec, n] = co_await asio::async_write(*socket, buffers, kNoThrow);
    if (ec) break;
  }
  queue->Close();
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
}

asio::awaitable<Result<Frame>> FrameReader::Read(tcp::socket& socket) {
  for (;;) {
    auto next = decoder_.Next();
    if (!next.ok()) co_return next.status();
    if (next->has_value()) co_return std::move(**next);
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer_), kNoThrow);
    if (ec) co_return Status::IOError(ec == asio::error::eof ? "connection closed by peer" : ec.message());
    decoder_.Feed(std::string_view(buffer_.data(), n));
  }
}

asio::awaitable<Status> WriteAll(tcp::socket& socket, const std::string& bytes) {
  auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), kNoThrow);
  if (ec) co_return Status::IOError(ec.message());
  co_return Status::OK();
}

SocketDeadline::SocketDeadline(const Socket& socket, std::chrono::nanoseconds timeout)
    : timer_(socket->get_executor()) {
  timer_.expires_after(timeout);
  timer_.async_wait([socket](boost::system::error_code ec) {
    if (ec) return;  // cancelled: the operation finished in time
    boost::system::error_code ignored;
    socket->close(ignored);
  });
}

Status SplitHostPort(const std::string& address, std::string* host, std::string* port) {
  size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) {
    return Status::InvalidArgument("address '" + address + "' is not host:port");
  }
  *host = address.substr(0, colon);
  *port = address.substr(colon + 1);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (host->empty()) *host = "0.0.0.0";
  return Status::OK();
}

asio::awaitable<Status> Connect(const Socket& socket, const std::string& address,
                                std::chrono::nanoseconds timeout) {
  std::string host, port;
  Status split = SplitHostPort(address, &host, &port);
  if (!split.ok()) co_return split;
  SocketDeadline deadline(socket, timeout);
  tcp::resolver resolver(socket->get_executor());
  auto [rec, endpoints] = co_await resolver.async_resolve(host, port, kNoThrow);
  if (rec) co_return Status::IOError("resolve " + address + ": " + rec.message());
  // The deadline closes the socket; reopen it per attempt in async_connect.
  auto [cec, endpoint] = co_await asio::async_connect(*socket, endpoints, kNoThrow);
  if (cec) {
    co_return Status::IOError("connect " + address + ": " +
                              (cec == asio::error::operation_aborted ? "timed out" : cec.message()));
  }
  deadline.Cancel();
  boost::system::error_code ignored;
  socket->set_option(tcp::no_delay(true), ignored);
  co_return Status::OK();
}

}  // namespace rq::cluster::detail
