#include "cluster/conn_io.h"

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>

#include "base/logging.h"

namespace rq::cluster::detail {

// ---------------------------------------------------------------- TLS

void Stream::EnableTls(std::shared_ptr<ssl::context> context) {
  RQ_ASSERT(!tls_);
  context_ = std::move(context);
  tls_ = std::make_unique<ssl::stream<tcp::socket&>>(socket_, *context_);
}

namespace {

int64_t MtimeNs(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return -1;
  return int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
}

std::string SslError(const boost::system::error_code& ec) {
  std::string text = ec.message();
  if (ec.category() == asio::error::get_ssl_category()) {
    char buffer[256];
    ERR_error_string_n(static_cast<unsigned long>(ec.value()), buffer, sizeof(buffer));
    text = buffer;
  }
  return text;
}

// The CN of the peer's certificate, or "" when it sent none.
std::string PeerCommonName(SSL* ssl) {
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return "";
  char name[256] = {0};
  int n = X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof(name));
  X509_free(cert);
  return n > 0 ? std::string(name, static_cast<size_t>(n)) : "";
}

bool IsIpAddress(const std::string& host) {
  boost::system::error_code ec;
  asio::ip::make_address(host, ec);
  return !ec;
}

}  // namespace

Result<std::shared_ptr<ssl::context>> TlsContexts::Build(bool server) const {
  auto context = std::make_shared<ssl::context>(ssl::context::tls);
  boost::system::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                       ec);
  context->use_certificate_chain_file(options_.cert_file, ec);
  if (ec) return Status::InvalidArgument("node certificate " + options_.cert_file + ": " + SslError(ec));
  context->use_private_key_file(options_.key_file, ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("node key " + options_.key_file + ": " + SslError(ec));
  if (!options_.ca_file.empty()) {
    context->load_verify_file(options_.ca_file, ec);
    if (ec) return Status::InvalidArgument("node CA certificate " + options_.ca_file + ": " + SslError(ec));
  } else {
    context->set_default_verify_paths(ec);
    if (ec) return Status::InvalidArgument("system CA paths: " + SslError(ec));
  }
  if (server && options_.verify_client) {
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
  } else {
    context->set_verify_mode(ssl::verify_none, ec);
  }
  if (ec) return Status::InvalidArgument("tls verify mode: " + SslError(ec));
  return context;
}

Result<std::shared_ptr<ssl::context>> TlsContexts::Get(bool server) {
  std::lock_guard lock(mutex_);
  const int64_t cert_mtime = MtimeNs(options_.cert_file);
  const int64_t key_mtime = MtimeNs(options_.key_file);
  if (server_ == nullptr || cert_mtime != cert_mtime_ns_ || key_mtime != key_mtime_ns_) {
    auto built_server = Build(true);
    auto built_client = built_server.ok() ? Build(false) : built_server;
    if (built_server.ok() && built_client.ok()) {
      if (server_ != nullptr) RQ_LOG_INFO("cluster: reloaded node certificate {}", options_.cert_file);
      server_ = std::move(built_server).value();
      client_ = std::move(built_client).value();
      cert_mtime_ns_ = cert_mtime;
      key_mtime_ns_ = key_mtime;
    } else if (server_ == nullptr) {
      return built_server.ok() ? built_client.status() : built_server.status();
    } else {
      // Likely a renewal caught half-written: keep serving with the old one.
      RQ_LOG_WARN("cluster: keeping the previous node certificate: {}",
                  (built_server.ok() ? built_client.status() : built_server.status()).ToString());
    }
  }
  return server ? server_ : client_;
}

asio::awaitable<Status> StartClientTls(const Socket& socket, TlsContexts* tls, const std::string& address,
                                       std::chrono::nanoseconds timeout) {
  if (tls == nullptr) co_return Status::OK();
  auto context = tls->Client();
  if (!context.ok()) co_return context.status();
  socket->EnableTls(std::move(context).value());
  auto& stream = socket->tls_stream();
  const TlsOptions& options = tls->options();
  std::string host, port;
  if (Status split = SplitHostPort(address, &host, &port); !split.ok()) co_return split;
  const std::string& expected = options.server_name.empty() ? host : options.server_name;
  if (!IsIpAddress(expected)) SSL_set_tlsext_host_name(stream.native_handle(), expected.c_str());
  boost::system::error_code ec;
  if (options.no_verify) {
    stream.set_verify_mode(ssl::verify_none, ec);
  } else {
    stream.set_verify_mode(ssl::verify_peer, ec);
    if (!ec) stream.set_verify_callback(ssl::host_name_verification(expected), ec);
  }
  if (ec) co_return Status::Internal("tls setup: " + ec.message());
  SocketDeadline deadline(socket, timeout);
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, kNoThrow);
  if (hec) {
    co_return Status::IOError("TLS handshake with " + address + " failed: " + SslError(hec) +
                              " (node-to-node TLS, -node-cert, must be on or off on every node)");
  }
  co_return Status::OK();
}

asio::awaitable<Status> StartServerTls(const Socket& socket, TlsContexts* tls, std::chrono::nanoseconds timeout) {
  if (tls == nullptr) co_return Status::OK();
  auto context = tls->Server();
  if (!context.ok()) co_return context.status();
  socket->EnableTls(std::move(context).value());
  auto& stream = socket->tls_stream();
  SocketDeadline deadline(socket, timeout);
  auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, kNoThrow);
  if (ec) {
    co_return Status::InvalidArgument("TLS handshake failed: " + SslError(ec) +
                                       " (node-to-node TLS, -node-cert, must be on or off on every node)");
  }
  deadline.Cancel();
  const std::string& required = tls->options().common_name;
  if (!required.empty()) {
    std::string cn = PeerCommonName(stream.native_handle());
    if (cn != required) {
      co_return Status::InvalidArgument("client certificate CN '" + cn + "' is not the required '" + required + "'");
    }
  }
  co_return Status::OK();
}

// ---------------------------------------------------------------- frames

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

FrameQueue::~FrameQueue() { DetachLocked(); }

void FrameQueue::AttachSocket(tcp::socket& socket, std::chrono::nanoseconds idle) {
  int fd = ::dup(socket.native_handle());
  std::lock_guard lock(mutex_);
  DetachLocked();
  direct_idle_ = idle;
  if (closed_) {
    if (fd >= 0) ::close(fd);
    return;
  }
  direct_fd_ = fd;  // -1 (out of descriptors): Push just queues
}

void FrameQueue::DetachSocket() {
  std::lock_guard lock(mutex_);
  DetachLocked();
}

void FrameQueue::DetachLocked() {
  if (direct_fd_ >= 0) ::close(direct_fd_);
  direct_fd_ = -1;
}

uint64_t FrameQueue::written_directly() const {
  std::lock_guard lock(mutex_);
  return written_directly_;
}

bool FrameQueue::Push(std::string frame) {
  std::vector<std::string> one;
  one.push_back(std::move(frame));
  return PushAll(std::move(one)) == 1;
}

size_t FrameQueue::WriteDirectLocked(const std::vector<std::string>& frames) {
  constexpr size_t kIovecsMax = 64;
  iovec iov[kIovecsMax];
  const size_t count = std::min(frames.size(), kIovecsMax);
  for (size_t i = 0; i < count; ++i) {
    iov[i].iov_base = const_cast<char*>(frames[i].data());
    iov[i].iov_len = frames[i].size();
  }
  msghdr message{};
  message.msg_iov = iov;
  message.msg_iovlen = count;
  ssize_t n = ::sendmsg(direct_fd_, &message, MSG_DONTWAIT | MSG_NOSIGNAL);
  // Less than everything (the socket buffer is full) or nothing (full, or
  // the connection failed): the writer sends the rest, or meets the error.
  return n > 0 ? static_cast<size_t>(n) : 0;
}

size_t FrameQueue::PushAll(std::vector<std::string> frames) {
  std::lock_guard lock(mutex_);
  if (closed_) return 0;
  const auto now = std::chrono::steady_clock::now();
  const bool quiet = now - last_push_ >= direct_idle_;
  last_push_ = now;
  size_t next = 0;  // frames before this one are on the socket
  if (quiet && direct_fd_ >= 0 && frames_.empty() && !writer_busy_) {
    size_t written = WriteDirectLocked(frames);
    while (next < frames.size() && written >= frames[next].size()) written -= frames[next++].size();
    written_directly_ += next;
    if (written > 0) {
      // The start of a frame is on the socket: its rest must follow it,
      // whatever the limits.
      frames[next].erase(0, written);
      bytes_ += frames[next].size();
      frames_.push_back(std::move(frames[next++]));
      WakeLocked();
    }
  }
  for (; next < frames.size(); ++next) {
    if (frames_.size() >= frames_max_) break;
    // One oversized frame is still accepted into an empty queue, so a
    // message larger than the byte budget is not undeliverable forever.
    if (!frames_.empty() && bytes_ + frames[next].size() > bytes_max_) break;
    bytes_ += frames[next].size();
    frames_.push_back(std::move(frames[next]));
    WakeLocked();
  }
  return next;
}

void FrameQueue::Close() {
  std::lock_guard lock(mutex_);
  closed_ = true;
  DetachLocked();
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
  writer_busy_ = !out->empty();
  co_return !out->empty();
}

void FrameQueue::WriteDone() {
  std::lock_guard lock(mutex_);
  writer_busy_ = false;
}

asio::awaitable<void> WriterLoop(Socket socket, std::shared_ptr<FrameQueue> queue) {
  std::vector<std::string> batch;
  std::vector<asio::const_buffer> buffers;
  while (co_await queue->PopAll(&batch)) {
    buffers.clear();
    for (const std::string& frame : batch) buffers.push_back(asio::buffer(frame));
    auto [ec, n] = co_await asio::async_write(*socket, buffers, kNoThrow);
    if (ec) break;
    queue->WriteDone();
  }
  queue->Close();
  boost::system::error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
}

// A TLS handshake record (0x16, version 3.1..3.4) where a HELLO frame should
// start: the peer runs node-to-node TLS and this side does not. A HELLO is
// far below 64 KiB, so its length's second and third bytes are zero, never
// 0x03 and 0x01..0x04.
bool LooksLikeTls(std::string_view bytes) {
  return bytes.size() >= 3 && bytes[0] == 0x16 && bytes[1] == 0x03 && bytes[2] >= 0x01 && bytes[2] <= 0x04;
}

asio::awaitable<Result<Frame>> FrameReader::Read(Stream& socket) {
  for (;;) {
    auto next = decoder_.Next();
    if (!next.ok()) co_return next.status();
    if (next->has_value()) co_return std::move(**next);
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buffer_), kNoThrow);
    if (ec) co_return Status::IOError(ec == asio::error::eof ? "connection closed by peer" : SslError(ec));
    if (detect_tls_ && !socket.tls() && LooksLikeTls(std::string_view(buffer_.data(), n))) {
      co_return Status::NotSupported(
          "the peer speaks TLS: node-to-node TLS (-node-cert, -node-key) must be on here too");
    }
    detect_tls_ = false;
    decoder_.Feed(std::string_view(buffer_.data(), n));
  }
}

asio::awaitable<Status> WriteAll(Stream& socket, const std::string& bytes) {
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
  auto [cec, endpoint] = co_await asio::async_connect(socket->tcp_socket(), endpoints, kNoThrow);
  if (cec) {
    co_return Status::IOError("connect " + address + ": " +
                              (cec == asio::error::operation_aborted ? "timed out" : cec.message()));
  }
  deadline.Cancel();
  boost::system::error_code ignored;
  socket->tcp_socket().set_option(tcp::no_delay(true), ignored);
  co_return Status::OK();
}

}  // namespace rq::cluster::detail
