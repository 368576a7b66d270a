// The Beast/Asio half of the HTTP API: sockets, TLS, timeouts, request
// framing. Every template-heavy include of the module stays in this file.
#include "http/server.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "base/contain.h"
#include "base/logging.h"
#include "base/io_thread.h"
#include "base/thread_name.h"
#include "http/handler.h"
#include "http/handler_internal.h"
#include "http/header_parser.h"
#include "http/reply_head.h"

namespace rq::http {

namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = boost::asio::ip::tcp;

namespace {

// Sessions are registered so Stop() can close idle keep-alive connections.
class SessionBase {
 public:
  virtual ~SessionBase() = default;
  virtual void CloseIfIdle() = 0;
};

std::filesystem::file_time_type MTime(const std::string& path) {
  std::error_code ec;
  const auto time = std::filesystem::last_write_time(path, ec);
  return ec ? std::filesystem::file_time_type::min() : time;
}

}  // namespace

Status Config::Validate() const {
  if (threads < 1 || threads > 64) return Status::InvalidArgument("http threads must be in [1, 64]");
  if (max_body_bytes == 0) return Status::InvalidArgument("http max_body_bytes must be positive");
  if (cert_file.empty() != key_file.empty()) {
    return Status::InvalidArgument("HTTPS needs both a certificate and a key file");
  }
  if (verify_client && cert_file.empty()) return Status::InvalidArgument("verify-client needs HTTPS");
  return Status::OK();
}

struct Server::Impl {
  Impl(Config c, Backend* b) : config(std::move(c)), backend(b) {
    // One io_context per I/O thread, each connection on one of them: with
    // several threads sharing one io_context, the thread that took a
    // request from epoll woke another to wait on epoll again, which cost a
    // futex wake and a context switch per request.
    for (int i = 0; i < std::max(1, config.threads); i++) iocs.push_back(std::make_unique<net::io_context>(1));
  }
  // The handler first: it waits for calls on threads of their own, whose
  // replies are posted to the io_contexts, which must still exist then.
  ~Impl() { handler.reset(); }

  Result<std::shared_ptr<ssl::context>> BuildTlsContext() const;
  std::shared_ptr<ssl::context> CurrentTlsContext();
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);
  void Register(uint64_t id, std::weak_ptr<SessionBase> session);
  void Unregister(uint64_t id);

  Config config;
  Backend* backend;
  AuthStore auth;
  std::unique_ptr<Handler> handler;
  // Declared before iocs: sessions still queued in them unregister
  // themselves when they are destroyed, so the registry must outlive them.
  std::mutex sessions_mu;
  std::condition_variable sessions_cv;
  std::unordered_map<uint64_t, std::weak_ptr<SessionBase>> sessions;  // guarded by sessions_mu
  uint64_t next_session_id = 0;                                       // guarded by sessions_mu
  std::vector<std::unique_ptr<net::io_context>> iocs;
  size_t next_ioc = 0;  // the acceptor's strand only: round-robin over iocs
  // Keep an io_context with no connection yet running until Stop().
  std::vector<net::executor_work_guard<net::io_context::executor_type>> idle_guards;
  std::optional<tcp::acceptor> acceptor;
  std::vector<std::thread> threads;
  uint16_t bound_port = 0;
  bool started = false;
  std::atomic<bool> stopping{false};

  std::mutex tls_mu;
  std::shared_ptr<ssl::context> tls;  // guarded by tls_mu
  std::filesystem::file_time_type cert_mtime, key_mtime;  // guarded by tls_mu
};

namespace {

// One connection. Stream is beast::tcp_stream or ssl_stream over it. All
// handlers run on the one thread of the connection's io_context (the
// stream's executor), so they never overlap.
template <typename Stream>
class Session : public SessionBase, public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(Server::Impl* server, uint64_t id, Stream stream) : server_(server), id_(id), stream_(std::move(stream)) {}
  ~Session() override { server_->Unregister(id_); }

  void Run() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->Begin(); });
  }

  void CloseIfIdle() override {
    net::post(stream_.get_executor(), [self = this->shared_from_this()] {
      if (!self->busy_) beast::get_lowest_layer(self->stream_).close();
    });
  }

 private:
  static constexpr bool kTls = !std::is_same_v<Stream, beast::tcp_stream>;
  // Unread request bytes are drained this long before closing, so the
  // kernel does not answer them with a RST that could destroy our reply.
  static constexpr auto kLingerTime = std::chrono::seconds(2);

  void Begin() {
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(server_->config.read_timeout);
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->ReadHeader();
                              });
    } else {
      ReadHeader();
    }
  }

  void ReadHeader() {
    busy_ = false;
    if (server_->stopping) return Close();
    header_parser_.emplace();
    beast::get_lowest_layer(stream_).expires_after(server_->config.read_timeout);
    bhttp::async_read_header(stream_, buffer_, *header_parser_,
                             [self = this->shared_from_this()](beast::error_code ec, size_t) {
                               self->OnHeader(ec);
                             });
  }

  void OnHeader(beast::error_code ec) {
    if (ec == bhttp::error::end_of_stream) return Close();
    if (ec == bhttp::error::header_limit) {
      return WriteEarly(internal::PlainReply(431, "request header too large: limit is " +
                                                      std::to_string(kHeaderBytesMax) + " bytes, " +
                                                      std::to_string(kFieldBytesMax) + " for one field"),
                        false);
    }
    if (ec) {
      // A malformed header gets an answer; a vanished client does not.
      const bool malformed = ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
                             ec != bhttp::error::partial_message;
      if (malformed) return WriteEarly(internal::PlainReply(400, "malformed HTTP request"), false);
      return Close();
    }
    busy_ = true;
    const auto& header = header_parser_->get();
    request_ = HttpRequest();
    request_.method = std::string(header.method_string());
    request_.target = std::string(header.target());
    request_.content_type = std::string(header[bhttp::field::content_type]);
    request_.authorization = std::string(header[bhttp::field::authorization]);
    keep_alive_ = header.keep_alive();
    const bool has_body = header_parser_->content_length().value_or(0) > 0 || header_parser_->chunked();
    HttpReply early;
    if (server_->handler->Precheck(request_, &early)) return WriteEarly(std::move(early), !has_body);
    request_.prechecked = true;
    const bool boot = ClassifyPath(request_.target.substr(0, request_.target.find('?'))) == Endpoint::kBoot;
    const uint64_t limit = server_->config.max_body_bytes;
    if (!boot && header_parser_->content_length().value_or(0) > limit) {
      return WriteEarly(TooLarge(), false);
    }
    if (header[bhttp::field::expect] == "100-continue") return SendContinue(boot);
    ReadBody(boot);
  }

  HttpReply TooLarge() const {
    return internal::PlainReply(
        400, "request body too large: limit is " + std::to_string(server_->config.max_body_bytes) + " bytes");
  }

  // curl waits for "100 Continue" before sending large bodies.
  void SendContinue(bool boot) {
    continue_response_.emplace(bhttp::status::continue_, header_parser_->get().version());
    bhttp::async_write(stream_, *continue_response_,
                       [self = this->shared_from_this(), boot](beast::error_code ec, size_t) {
                         if (ec) return self->Close();
                         self->ReadBody(boot);
                       });
  }

  void ReadBody(bool boot) {
    if (boot) return ReadBootBody();
    string_parser_.emplace(std::move(static_cast<bhttp::request_parser<bhttp::empty_body>&>(*header_parser_)));
    string_parser_->body_limit(server_->config.max_body_bytes);  // chunked bodies
    ReadBodyPart(*string_parser_, &Session::OnBody);
  }

  // The read timeout is an idle timeout while a body arrives: a multi-GB
  // /boot upload may take minutes, but never read_timeout without progress.
  template <typename Parser>
  void ReadBodyPart(Parser& parser, void (Session::*on_done)(beast::error_code)) {
    if (parser.is_done()) return (this->*on_done)({});  // no body at all
    beast::get_lowest_layer(stream_).expires_after(server_->config.read_timeout);
    bhttp::async_read_some(stream_, buffer_, parser,
                           [self = this->shared_from_this(), &parser, on_done](beast::error_code ec, size_t) {
                             if (!ec && !parser.is_done()) return self->ReadBodyPart(parser, on_done);
                             ((*self).*on_done)(ec);
                           });
  }

  void OnBody(beast::error_code ec) {
    if (ec == bhttp::error::body_limit) return WriteEarly(TooLarge(), false);
    // Short body, client gone, timeout: never executed.
    if (ec) return Close();
    request_.body = std::move(string_parser_->get().body());
    string_parser_.reset();
    Dispatch();
  }

  // /boot bodies go straight to a temp file: no size limit, no RAM copy.
  void ReadBootBody() {
    boot_path_ = internal::TempPath(server_->config.temp_dir, "rqlite-boot-");
    file_parser_.emplace(std::move(static_cast<bhttp::request_parser<bhttp::empty_body>&>(*header_parser_)));
    file_parser_->body_limit(boost::none);
    beast::error_code ec;
    file_parser_->get().body().open(boot_path_.c_str(), beast::file_mode::write, ec);
    if (ec) return WriteEarly(internal::PlainReply(503, "cannot store boot data: " + ec.message()), false);
    ReadBodyPart(*file_parser_, &Session::OnBootBody);
  }

  void OnBootBody(beast::error_code ec) {
    file_parser_->get().body().close();
    file_parser_.reset();
    if (ec) {
      std::filesystem::remove(boot_path_, ec);
      return Close();
    }
    request_.body_path = std::move(boot_path_);
    Dispatch();
  }

  // The reply may come from a Backend thread; it is moved back onto the
  // connection's thread.
  void Dispatch() {
    auto self = this->shared_from_this();
    server_->handler->Handle(std::move(request_), [self](HttpReply reply) {
      net::post(self->stream_.get_executor(),
                [self, reply = std::move(reply)]() mutable { self->Write(std::move(reply)); });
    });
  }

  // A reply sent before (or instead of) reading the body. When the body was
  // not consumed the connection cannot be reused.
  void WriteEarly(HttpReply reply, bool body_consumed) {
    busy_ = true;
    if (!body_consumed) {
      keep_alive_ = false;
      linger_ = true;
    }
    Write(std::move(reply));
  }

  template <typename Response>
  void FillHeaders(Response& response, const HttpReply& reply) {
    response.result(static_cast<unsigned>(reply.status));
    for (const auto& [name, value] : reply.headers) response.set(CanonicalHeaderName(name), value);
    response.keep_alive(keep_alive_ && !server_->stopping);
  }

  // The head is written by hand, in the bytes Beast's serializer would
  // produce: that serializer cost about a fifth of a point read's
  // instructions (callgrind), for a few lines of text.
  void Write(HttpReply reply) {
    if (!reply.file_path.empty()) return WriteFile(std::move(reply));
    reply_keep_alive_ = keep_alive_ && !server_->stopping;
    BuildReplyHead(reply, reply_keep_alive_, &head_);
    reply_body_ = std::move(reply.body);
    if (ReplyIsBodiless(reply.status)) reply_body_.clear();
    beast::get_lowest_layer(stream_).expires_after(server_->config.write_timeout);
    const std::array<net::const_buffer, 2> buffers{net::buffer(head_), net::buffer(reply_body_)};
    net::async_write(stream_, buffers,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void WriteFile(HttpReply reply) {
    file_to_delete_ = reply.file_path;
    file_response_.emplace();
    beast::error_code ec;
    file_response_->body().open(reply.file_path.c_str(), beast::file_mode::scan, ec);
    if (ec) {
      file_response_.reset();
      std::filesystem::remove(file_to_delete_, ec);
      file_to_delete_.clear();
      return Write(internal::PlainReply(500, "cannot read backup: " + ec.message()));
    }
    FillHeaders(*file_response_, reply);
    file_response_->prepare_payload();
    beast::get_lowest_layer(stream_).expires_after(server_->config.write_timeout);
    bhttp::async_write(stream_, *file_response_,
                       [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(beast::error_code ec) {
    bool keep = reply_keep_alive_;
    if (file_response_) keep = file_response_->keep_alive();
    reply_keep_alive_ = false;
    reply_body_ = std::string();  // freed: a big result must not stay with an idle connection
    file_response_.reset();
    if (!file_to_delete_.empty()) {
      std::error_code remove_ec;
      std::filesystem::remove(file_to_delete_, remove_ec);
      file_to_delete_.clear();
    }
    if (ec || !keep) return Shutdown();
    ReadHeader();
  }

  void Shutdown() {
    busy_ = false;
    if constexpr (kTls) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) { self->Close(); });
    } else {
      beast::error_code ec;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
      if (!linger_) return Close();
      beast::get_lowest_layer(stream_).expires_after(kLingerTime);
      Drain();
    }
  }

  // Reads and drops whatever the client still sends until it closes or the
  // linger time runs out.
  void Drain() {
    stream_.async_read_some(net::buffer(drain_buffer_), [self = this->shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->Drain();
    });
  }

  void Close() {
    busy_ = false;
    beast::get_lowest_layer(stream_).close();
  }

  Server::Impl* server_;
  uint64_t id_;
  Stream stream_;
  beast::flat_buffer buffer_;
  bool busy_ = false;  // a request is being read past its header, handled or answered
  bool keep_alive_ = true;
  bool linger_ = false;  // the request body was left unread
  char drain_buffer_[4096];
  HttpRequest request_;
  std::string boot_path_;
  std::string file_to_delete_;
  std::optional<HeaderParser> header_parser_;
  std::optional<bhttp::request_parser<bhttp::string_body>> string_parser_;
  std::optional<bhttp::request_parser<bhttp::file_body>> file_parser_;
  std::optional<bhttp::response<bhttp::empty_body>> continue_response_;
  std::string head_;        // the reply's status line and fields; capacity kept across requests
  std::string reply_body_;  // the reply's body while it is written
  bool reply_keep_alive_ = false;
  std::optional<bhttp::response<bhttp::file_body>> file_response_;
};

}  // namespace

Result<std::shared_ptr<ssl::context>> Server::Impl::BuildTlsContext() const {
  auto context = std::make_shared<ssl::context>(ssl::context::tls_server);
  beast::error_code ec;
  context->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                           ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                       ec);
  if (!ec) context->use_certificate_chain_file(config.cert_file, ec);
  if (ec) return Status::InvalidArgument("cannot load HTTPS certificate " + config.cert_file + ": " + ec.message());
  context->use_private_key_file(config.key_file, ssl::context::pem, ec);
  if (ec) return Status::InvalidArgument("cannot load HTTPS key " + config.key_file + ": " + ec.message());
  if (!config.ca_file.empty()) {
    context->load_verify_file(config.ca_file, ec);
    if (ec) return Status::InvalidArgument("cannot load CA " + config.ca_file + ": " + ec.message());
  }
  if (config.verify_client) {
    context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert, ec);
    if (ec) return Status::InvalidArgument("cannot enable client verification: " + ec.message());
  }
  if (config.verify_client && !config.verify_common_name.empty()) {
    // The chain is checked as before; the client's own certificate (depth 0)
    // must also carry the required CN, or the handshake fails.
    context->set_verify_callback(
        [required = config.verify_common_name](bool preverified, ssl::verify_context& verify) {
          X509_STORE_CTX* store = verify.native_handle();
          if (!preverified || X509_STORE_CTX_get_error_depth(store) != 0) return preverified;
          X509* cert = X509_STORE_CTX_get_current_cert(store);
          char name[256] = {};
          const int length =
              cert ? X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, name, sizeof name) : -1;
          return length >= 0 && std::string_view(name, static_cast<size_t>(length)) == required;
        },
        ec);
    if (ec) return Status::InvalidArgument("cannot check the client certificate's common name: " + ec.message());
  }
  return context;
}

// Certificates are re-read when their files change, checked once per
// accepted connection (cheap: two stat calls). A bad new pair keeps the old.
std::shared_ptr<ssl::context> Server::Impl::CurrentTlsContext() {
  std::lock_guard lock(tls_mu);
  const auto cert_now = MTime(config.cert_file);
  const auto key_now = MTime(config.key_file);
  if (cert_now == cert_mtime && key_now == key_mtime) return tls;
  Result<std::shared_ptr<ssl::context>> fresh = BuildTlsContext();
  if (!fresh.ok()) {
    RQ_LOG_WARN("http: keeping the previous TLS certificate: {}", fresh.status().ToString());
  } else {
    tls = std::move(fresh).value();
    RQ_LOG_INFO("http: TLS certificate (re)loaded from {}", config.cert_file);
  }
  cert_mtime = cert_now;
  key_mtime = key_now;
  return tls;
}

void Server::Impl::Register(uint64_t id, std::weak_ptr<SessionBase> session) {
  std::lock_guard lock(sessions_mu);
  sessions.emplace(id, std::move(session));
}

void Server::Impl::Unregister(uint64_t id) {
  std::lock_guard lock(sessions_mu);
  sessions.erase(id);
  sessions_cv.notify_all();
}

void Server::Impl::DoAccept() {
  // No strand: each io_context has exactly one thread, which already runs
  // a connection's handlers one at a time (and a strand's queue, lock and
  // reference-counted executor copies cost on every handler).
  net::io_context& ioc = *iocs[next_ioc++ % iocs.size()];
  acceptor->async_accept(ioc.get_executor(),
                         [this](beast::error_code ec, tcp::socket socket) { OnAccept(ec, std::move(socket)); });
}

void Server::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor->is_open()) return;
  if (!ec) {
    uint64_t id = 0;
    {
      std::lock_guard lock(sessions_mu);
      id = next_session_id++;
    }
    std::shared_ptr<SessionBase> session;
    if (config.cert_file.empty()) {
      auto plain = std::make_shared<Session<beast::tcp_stream>>(this, id, beast::tcp_stream(std::move(socket)));
      Register(id, plain);
      plain->Run();
    } else {
      std::shared_ptr<ssl::context> context = CurrentTlsContext();
      using TlsStream = beast::ssl_stream<beast::tcp_stream>;
      auto secure = std::make_shared<Session<TlsStream>>(this, id, TlsStream(std::move(socket), *context));
      Register(id, secure);
      secure->Run();
      // Old contexts live as long as the sessions made from them need them:
      // OpenSSL reference-counts the SSL_CTX behind each SSL object.
    }
  } else {
    RQ_LOG_WARN("http: accept failed: {}", ec.message());
  }
  DoAccept();
}

Server::Server(Config config, Backend* backend) : impl_(std::make_unique<Impl>(std::move(config), backend)) {
  RQ_ASSERT(backend != nullptr);
}

Server::~Server() { Stop(); }

Status Server::LoadAuthFile(const std::string& path) {
  RQ_ASSERT(!impl_->started);
  return impl_->auth.LoadFile(path);
}

static Result<tcp::endpoint> ResolveEndpoint(net::io_context& ioc, const std::string& address, uint16_t port) {
  beast::error_code ec;
  const auto ip = net::ip::make_address(address.empty() ? "0.0.0.0" : address, ec);
  if (!ec) return tcp::endpoint(ip, port);
  tcp::resolver resolver(ioc);
  auto results = resolver.resolve(address, std::to_string(port), ec);
  if (ec || results.empty()) return Status::InvalidArgument("cannot resolve HTTP address " + address);
  return results.begin()->endpoint();
}

Status Server::Start() {
  Impl& s = *impl_;
  RQ_ASSERT(!s.started);
  RQ_RETURN_IF_ERROR(s.config.Validate());
  if (!s.config.cert_file.empty() && !s.CurrentTlsContext()) {
    return s.BuildTlsContext().status();
  }
  Result<tcp::endpoint> endpoint = ResolveEndpoint(*s.iocs[0], s.config.address, s.config.port);
  if (!endpoint.ok()) return endpoint.status();
  const std::string where = s.config.address + ":" + std::to_string(s.config.port);
  beast::error_code ec;
  // The acceptor gets its own strand: Stop() closes it from another thread.
  s.acceptor.emplace(net::make_strand(*s.iocs[0]));
  s.acceptor->open(endpoint->protocol(), ec);
  if (!ec) s.acceptor->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(*endpoint, ec);
  if (!ec) s.acceptor->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    s.acceptor.reset();
    return Status::IOError("cannot listen on HTTP address " + where + ": " + ec.message());
  }
  s.bound_port = s.acceptor->local_endpoint().port();
  HandlerConfig handler_config{s.config.version, s.config.allow_origin, s.config.temp_dir};
  s.handler = std::make_unique<Handler>(std::move(handler_config), s.backend, &s.auth);
  s.started = true;
  s.DoAccept();
  for (auto& ioc : s.iocs) {
    s.idle_guards.push_back(net::make_work_guard(*ioc));
    s.threads.emplace_back([&ioc, n = s.threads.size()] {
      NameThisThread("http-io-" + std::to_string(n));
      MarkIoThread();
      RunContained(*ioc, "http: a request handler");
    });
  }
  RQ_LOG_INFO("http: serving on {}:{}{}", s.config.address, s.bound_port, s.config.cert_file.empty() ? "" : " (TLS)");
  return Status::OK();
}

void Server::Stop() {
  Impl& s = *impl_;
  if (!s.started || s.stopping.exchange(true)) return;
  net::post(s.acceptor->get_executor(), [&s] {
    beast::error_code ec;
    s.acceptor->close(ec);
  });
  std::vector<std::shared_ptr<SessionBase>> live;
  {
    std::lock_guard lock(s.sessions_mu);
    for (auto& [id, weak] : s.sessions) {
      if (auto session = weak.lock()) live.push_back(std::move(session));
    }
  }
  for (auto& session : live) session->CloseIfIdle();
  live.clear();
  {
    std::unique_lock lock(s.sessions_mu);
    s.sessions_cv.wait_for(lock, s.config.stop_grace, [&s] { return s.sessions.empty(); });
  }
  s.idle_guards.clear();
  for (auto& ioc : s.iocs) ioc->stop();
  for (auto& thread : s.threads) thread.join();
  s.threads.clear();
}

uint16_t Server::port() const {
  RQ_ASSERT(impl_->started);
  return impl_->bound_port;
}

}  // namespace rq::http
