#include "client/http_client.h"

#include <openssl/ssl.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <optional>

#include "base/assert.h"

namespace rq::client {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;
using std::chrono::milliseconds;

// rqlite's shell gives up after this many leader redirects.
constexpr int kRedirectsMax = 21;
// Bodies move through a buffer of this size, so a multi-GB backup never
// sits in memory.
constexpr size_t kChunkBytes = 64 * 1024;

std::string Base64(std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out += kAlphabet[(v >> shift) & 63];
  }
  size_t rest = in.size() - i;
  if (rest > 0) {
    uint32_t v = uint8_t(in[i]) << 16;
    if (rest == 2) v |= uint8_t(in[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

// Runs one asynchronous Beast/Asio operation to completion on ioc, so the
// tcp_stream's expiry (our timeout) applies to a blocking call.
template <typename Start>
error_code Await(net::io_context& ioc, Start&& start) {
  error_code result = net::error::would_block;
  bool done = false;
  start([&](error_code ec, auto&&...) {
    result = ec;
    done = true;
  });
  ioc.restart();
  ioc.run();
  RQ_ASSERT(done);
  return result;
}

// Errors that mean the server had already closed a kept-alive connection.
bool IsPeerClosed(const error_code& ec) {
  return ec == http::error::end_of_stream || ec == net::error::eof ||
         ec == net::error::connection_reset || ec == net::error::broken_pipe;
}

http::verb ToVerb(Method method) {
  switch (method) {
    case Method::kGet: return http::verb::get;
    case Method::kPost: return http::verb::post;
    case Method::kDelete: return http::verb::delete_;
  }
  RQ_UNREACHABLE();
}

struct Endpoint {
  std::string scheme;
  HostPort address;
  std::string target;  // path and query

  std::string Url() const {
    bool v6 = address.host.find(':') != std::string::npos;
    return scheme + "://" + (v6 ? "[" + address.host + "]" : address.host) + ":" + address.port;
  }
};

// What one exchange produced; `started` tells whether any response byte
// arrived, which decides whether a failed keep-alive request may be retried.
struct ExchangeOutcome {
  Result<Response> response = Status::Internal("not run");
  bool started = false;
  bool peer_closed = false;  // the server had closed the connection
  bool keep_alive = false;
  std::string location;
};

// One connection to one host: plain TCP or TLS over TCP.
class Connection {
 public:
  Connection(net::io_context& ioc, ssl::context* tls, Endpoint endpoint, bool insecure)
      : ioc_(ioc), tls_(tls), endpoint_(std::move(endpoint)), insecure_(insecure) {}

  bool is_open() const { return plain_ != nullptr || secure_ != nullptr; }
  const Endpoint& endpoint() const { return endpoint_; }
  void Close() {
    plain_.reset();
    secure_.reset();
    buffer_.clear();
  }

  Status Connect(milliseconds timeout);
  ExchangeOutcome Exchange(const Request& request, const std::string& target,
                           const std::string& auth, milliseconds timeout);

 private:
  template <typename Stream>
  ExchangeOutcome ExchangeOn(Stream& stream, const Request& request, const std::string& target,
                             const std::string& auth, milliseconds timeout);
  template <typename Stream>
  error_code WriteRequest(Stream& stream, const Request& request, const std::string& target,
                          const std::string& auth, milliseconds timeout);
  template <typename Stream>
  error_code ReadResponse(Stream& stream, const Request& request, milliseconds timeout,
                          ExchangeOutcome& outcome);
  template <typename Stream>
  void Arm(Stream& stream, milliseconds timeout) {
    auto& lowest = beast::get_lowest_layer(stream);
    if (timeout.count() > 0) {
      lowest.expires_after(timeout);
    } else {
      lowest.expires_never();
    }
  }
  Status TransportError(const error_code& ec, std::string_view what, milliseconds timeout) const;

  net::io_context& ioc_;
  ssl::context* tls_;
  Endpoint endpoint_;
  bool insecure_;
  std::unique_ptr<beast::tcp_stream> plain_;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure_;
  beast::flat_buffer buffer_;
};

Status Connection::TransportError(const error_code& ec, std::string_view what,
                                  milliseconds timeout) const {
  std::string where = endpoint_.Url();
  if (ec == beast::error::timeout) {
    char seconds[32];
    std::snprintf(seconds, sizeof(seconds), "%gs", timeout.count() / 1000.0);
    return Status::Timeout("request to " + where + " timed out after " + seconds + " (" +
                           std::string(what) + ")");
  }
  if (ec == net::error::connection_refused) {
    return Status::Unavailable("cannot reach rqlited at " + where + ": connection refused");
  }
  return Status::IOError(std::string(what) + " " + where + ": " + ec.message());
}

Status Connection::Connect(milliseconds timeout) {
  Close();
  tcp::resolver resolver(ioc_);
  error_code ec;
  auto results = resolver.resolve(endpoint_.address.host, endpoint_.address.port, ec);
  if (ec) {
    return Status::Unavailable("cannot resolve " + endpoint_.address.host + ": " + ec.message());
  }
  auto tcp_stream = std::make_unique<beast::tcp_stream>(ioc_);
  Arm(*tcp_stream, timeout);
  ec = Await(ioc_, [&](auto handler) { tcp_stream->async_connect(results, std::move(handler)); });
  if (ec) return TransportError(ec, "connect to", timeout);
  tcp_stream->socket().set_option(tcp::no_delay(true), ec);
  if (tls_ == nullptr) {
    plain_ = std::move(tcp_stream);
    return Status::OK();
  }
  auto stream = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(std::move(*tcp_stream), *tls_);
  const std::string& host = endpoint_.address.host;
  boost::system::error_code ip_ec;
  net::ip::make_address(host, ip_ec);
  if (ip_ec) SSL_set_tlsext_host_name(stream->native_handle(), host.c_str());
  if (!insecure_) stream->set_verify_callback(ssl::host_name_verification(host));
  Arm(*stream, timeout);
  ec = Await(ioc_, [&](auto handler) {
    stream->async_handshake(ssl::stream_base::client, std::move(handler));
  });
  if (ec) return Status::IOError("TLS handshake with " + endpoint_.Url() + ": " + ec.message());
  secure_ = std::move(stream);
  return Status::OK();
}

ExchangeOutcome Connection::Exchange(const Request& request, const std::string& target,
                                     const std::string& auth, milliseconds timeout) {
  RQ_ASSERT(is_open());
  if (secure_) return ExchangeOn(*secure_, request, target, auth, timeout);
  return ExchangeOn(*plain_, request, target, auth, timeout);
}

template <typename Stream>
ExchangeOutcome Connection::ExchangeOn(Stream& stream, const Request& request,
                                       const std::string& target, const std::string& auth,
                                       milliseconds timeout) {
  ExchangeOutcome outcome;
  error_code ec = WriteRequest(stream, request, target, auth, timeout);
  if (ec == net::error::no_such_device) {
    outcome.response = Status::IOError("cannot open " + request.body_file);
    return outcome;
  }
  if (ec) {
    outcome.peer_closed = IsPeerClosed(ec);
    outcome.response = TransportError(ec, "send to", timeout);
    return outcome;
  }
  ec = ReadResponse(stream, request, timeout, outcome);
  if (ec) {
    outcome.peer_closed = IsPeerClosed(ec);
    outcome.response = TransportError(ec, "read from", timeout);
  }
  return outcome;
}

template <typename Stream>
error_code Connection::WriteRequest(Stream& stream, const Request& request,
                                    const std::string& target, const std::string& auth,
                                    milliseconds timeout) {
  http::request<http::buffer_body> head{ToVerb(request.method), target, 11};
  head.set(http::field::host, endpoint_.address.host + ":" + endpoint_.address.port);
  head.set(http::field::user_agent, "rqlite-cli-cpp");
  if (!auth.empty()) head.set(http::field::authorization, "Basic " + Base64(auth));
  if (!request.content_type.empty()) head.set(http::field::content_type, request.content_type);
  head.keep_alive(true);

  std::FILE* file = nullptr;
  uint64_t total_bytes = request.body.size();
  if (!request.body_file.empty()) {
    file = std::fopen(request.body_file.c_str(), "rb");
    if (file == nullptr) return net::error::no_such_device;
    std::error_code size_ec;
    total_bytes = std::filesystem::file_size(request.body_file, size_ec);
  }
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> closer(file, file ? &std::fclose : nullptr);
  if (request.method != Method::kGet || total_bytes > 0) head.content_length(total_bytes);
  head.body().data = nullptr;
  head.body().more = true;
  http::request_serializer<http::buffer_body> serializer{head};
  Arm(stream, timeout);
  error_code ec = Await(ioc_, [&](auto h) { http::async_write_header(stream, serializer, std::move(h)); });
  if (ec) return ec;

  std::vector<char> chunk(file ? kChunkBytes : 0);
  uint64_t sent_bytes = 0;
  do {
    size_t n = 0;
    if (file) {
      n = std::fread(chunk.data(), 1, chunk.size(), file);
      head.body().data = chunk.data();
    } else {
      n = request.body.size();
      head.body().data = const_cast<char*>(request.body.data());
    }
    sent_bytes += n;
    head.body().size = n;
    head.body().more = file != nullptr && n > 0 && sent_bytes < total_bytes;
    Arm(stream, timeout);
    ec = Await(ioc_, [&](auto h) { http::async_write(stream, serializer, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return ec;
    if (request.progress && file) request.progress(sent_bytes, total_bytes);
  } while (head.body().more);
  return {};
}

template <typename Stream>
error_code Connection::ReadResponse(Stream& stream, const Request& request, milliseconds timeout,
                                    ExchangeOutcome& outcome) {
  http::response_parser<http::buffer_body> parser;
  parser.body_limit((std::numeric_limits<std::uint64_t>::max)());
  Arm(stream, timeout);
  error_code ec = Await(ioc_, [&](auto h) { http::async_read_header(stream, buffer_, parser, std::move(h)); });
  if (ec) {
    outcome.started = buffer_.size() > 0;
    return ec;
  }
  outcome.started = true;
  Response response;
  const auto& header = parser.get();
  response.status = header.result_int();
  response.reason = std::string(header.reason());
  response.version = std::string(header["X-RQLITE-VERSION"]);
  response.content_type = std::string(header[http::field::content_type]);
  outcome.location = std::string(header[http::field::location]);
  uint64_t total_bytes = parser.content_length() ? *parser.content_length() : 0;

  std::unique_ptr<std::FILE, int (*)(std::FILE*)> file(nullptr, &std::fclose);
  if (!request.response_file.empty() && response.status == 200) {
    file.reset(std::fopen(request.response_file.c_str(), "wb"));
    if (!file) {
      outcome.response = Status::IOError("cannot create " + request.response_file);
      return {};
    }
  }
  std::vector<char> chunk(kChunkBytes);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    Arm(stream, timeout);
    ec = Await(ioc_, [&](auto h) { http::async_read(stream, buffer_, parser, std::move(h)); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return ec;
    size_t n = chunk.size() - parser.get().body().size;
    response.body_bytes += n;
    if (file) {
      if (std::fwrite(chunk.data(), 1, n, file.get()) != n) {
        outcome.response = Status::IOError("cannot write " + request.response_file);
        return {};
      }
      if (request.progress) request.progress(response.body_bytes, total_bytes);
    } else {
      response.body.append(chunk.data(), n);
    }
  }
  if (file && std::fflush(file.get()) != 0) {
    outcome.response = Status::IOError("cannot write " + request.response_file);
    return {};
  }
  outcome.keep_alive = parser.get().keep_alive();
  outcome.response = std::move(response);
  return {};
}

Result<Endpoint> ParseAbsoluteUrl(std::string_view url) {
  auto parsed = boost::urls::parse_uri(url);
  if (!parsed) return Status::InvalidArgument("not a URL: " + std::string(url));
  Endpoint endpoint;
  endpoint.scheme = std::string(parsed->scheme());
  if (endpoint.scheme != "http" && endpoint.scheme != "https") {
    return Status::InvalidArgument("unsupported scheme in " + std::string(url));
  }
  endpoint.address.host = std::string(parsed->host_address());
  endpoint.address.port = parsed->has_port() ? std::string(parsed->port())
                                              : (endpoint.scheme == "https" ? "443" : "80");
  endpoint.target = std::string(parsed->encoded_path());
  if (endpoint.target.empty()) endpoint.target = "/";
  if (parsed->has_query()) endpoint.target += "?" + std::string(parsed->encoded_query());
  return endpoint;
}

}  // namespace

std::string Response::StatusLine() const {
  return std::to_string(status) + (reason.empty() ? "" : " " + reason);
}

std::string NormalizePrefix(std::string_view prefix) {
  std::string out(prefix);
  if (out.empty() || out.front() != '/') out.insert(out.begin(), '/');
  if (out.back() != '/') out.push_back('/');
  return out;
}

Result<HostPort> SplitHostPort(std::string_view address, std::string_view scheme) {
  std::string default_port = scheme == "https" ? "443" : "80";
  if (address.empty()) return Status::InvalidArgument("empty host address");
  if (address.front() == '[') {
    size_t close = address.find(']');
    if (close == std::string_view::npos) {
      return Status::InvalidArgument("bad IPv6 address: " + std::string(address));
    }
    HostPort hp{std::string(address.substr(1, close - 1)), default_port};
    if (close + 1 < address.size()) {
      if (address[close + 1] != ':') return Status::InvalidArgument("bad address: " + std::string(address));
      hp.port = std::string(address.substr(close + 2));
    }
    return hp;
  }
  size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return HostPort{std::string(address), default_port};
  if (address.find(':') != colon) return HostPort{std::string(address), default_port};  // bare IPv6
  HostPort hp{std::string(address.substr(0, colon)), std::string(address.substr(colon + 1))};
  if (hp.host.empty() || hp.port.empty()) {
    return Status::InvalidArgument("bad address: " + std::string(address));
  }
  return hp;
}

struct HttpClient::Impl {
  ClientOptions options;
  net::io_context ioc{1};
  std::unique_ptr<ssl::context> tls;
  std::vector<HostPort> hosts;
  size_t current = 0;
  std::unique_ptr<Connection> connection;

  Endpoint CurrentEndpoint(const std::string& target) const {
    return Endpoint{options.scheme, hosts[current], options.prefix + target};
  }
  milliseconds TimeoutFor(const Request& request) const {
    return request.no_timeout ? milliseconds(0) : options.timeout;
  }
  ExchangeOutcome SendOnCurrent(const Request& request);
  Result<Response> SendTo(const Endpoint& endpoint, const Request& request);
  Result<Response> FollowRedirects(ExchangeOutcome outcome, const Request& request);
};

ExchangeOutcome HttpClient::Impl::SendOnCurrent(const Request& request) {
  Endpoint endpoint = CurrentEndpoint(request.target);
  milliseconds timeout = TimeoutFor(request);
  bool reused = connection != nullptr && connection->is_open();
  if (!reused) {
    connection = std::make_unique<Connection>(ioc, tls.get(), endpoint, options.insecure);
    Status connected = connection->Connect(options.timeout);
    if (!connected.ok()) {
      ExchangeOutcome failed;
      failed.response = connected;
      return failed;
    }
  }
  ExchangeOutcome outcome = connection->Exchange(request, endpoint.target, options.basic_auth, timeout);
  if (!outcome.response.ok() && reused && !outcome.started && outcome.peer_closed) {
    // The server closed the idle keep-alive connection before reading this
    // request: nothing was processed, so a fresh connection may retry it.
    // A timeout is never retried: the server may still be running it.
    Status connected = connection->Connect(options.timeout);
    if (!connected.ok()) {
      outcome.response = connected;
      return outcome;
    }
    outcome = connection->Exchange(request, endpoint.target, options.basic_auth, timeout);
  }
  if (!outcome.response.ok() || !outcome.keep_alive) connection->Close();
  return outcome;
}

Result<Response> HttpClient::Impl::SendTo(const Endpoint& endpoint, const Request& request) {
  if (endpoint.scheme == "https" && !tls) {
    return Status::NotSupported("redirected to https but TLS is not configured: " + endpoint.Url());
  }
  Connection once(ioc, endpoint.scheme == "https" ? tls.get() : nullptr, endpoint, options.insecure);
  RQ_RETURN_IF_ERROR(once.Connect(options.timeout));
  ExchangeOutcome outcome = once.Exchange(request, endpoint.target, options.basic_auth, TimeoutFor(request));
  return FollowRedirects(std::move(outcome), request);
}

Result<Response> HttpClient::Impl::FollowRedirects(ExchangeOutcome outcome, const Request& request) {
  for (int redirects = 0; outcome.response.ok() && outcome.response->status == 301; ++redirects) {
    if (redirects == kRedirectsMax) return Status::IOError("maximum leader redirect limit exceeded");
    Result<Endpoint> next = ParseAbsoluteUrl(outcome.location);
    if (!next.ok()) return Status::IOError("bad redirect Location: " + outcome.location);
    Connection once(ioc, next->scheme == "https" ? tls.get() : nullptr, *next, options.insecure);
    RQ_RETURN_IF_ERROR(once.Connect(options.timeout));
    outcome = once.Exchange(request, next->target, options.basic_auth, TimeoutFor(request));
  }
  return std::move(outcome.response);
}

HttpClient::HttpClient(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpClient::~HttpClient() = default;

Result<std::unique_ptr<HttpClient>> HttpClient::Create(ClientOptions options) {
  if (options.scheme != "http" && options.scheme != "https") {
    return Status::InvalidArgument("unsupported scheme '" + options.scheme + "': use http or https");
  }
  if (options.hosts.empty()) return Status::InvalidArgument("no host given");
  if (!options.basic_auth.empty() && options.basic_auth.find(':') == std::string::npos) {
    return Status::InvalidArgument("invalid Basic Auth credentials format");
  }
  auto impl = std::make_unique<Impl>();
  for (const std::string& address : options.hosts) {
    Result<HostPort> hp = SplitHostPort(address, options.scheme);
    if (!hp.ok()) return hp.status();
    impl->hosts.push_back(*hp);
  }
  options.prefix = NormalizePrefix(options.prefix);
  try {
    auto tls = std::make_unique<ssl::context>(ssl::context::tls_client);
    if (options.insecure) {
      tls->set_verify_mode(ssl::verify_none);
    } else {
      tls->set_verify_mode(ssl::verify_peer);
      if (options.ca_cert_path.empty()) {
        tls->set_default_verify_paths();
      } else {
        tls->load_verify_file(options.ca_cert_path);
      }
    }
    if (!options.client_cert_path.empty()) tls->use_certificate_chain_file(options.client_cert_path);
    if (!options.client_key_path.empty()) {
      tls->use_private_key_file(options.client_key_path, ssl::context::pem);
    }
    if (options.scheme == "https") impl->tls = std::move(tls);
  } catch (const boost::system::system_error& e) {
    return Status::InvalidArgument(std::string("TLS configuration: ") + e.what());
  }
  impl->options = std::move(options);
  return std::unique_ptr<HttpClient>(new HttpClient(std::move(impl)));
}

Result<Response> HttpClient::Send(const Request& request) {
  if (request.absolute_url) {
    Result<Endpoint> endpoint = ParseAbsoluteUrl(request.target);
    if (!endpoint.ok()) return endpoint.status();
    return impl_->SendTo(*endpoint, request);
  }
  Status last_error;
  for (size_t attempt = 0; attempt < impl_->hosts.size(); ++attempt) {
    ExchangeOutcome outcome = impl_->SendOnCurrent(request);
    if (outcome.response.ok()) return impl_->FollowRedirects(std::move(outcome), request);
    last_error = outcome.response.status();
    // Fail over to the next alternative, which becomes the current host.
    impl_->connection.reset();
    impl_->current = (impl_->current + 1) % impl_->hosts.size();
  }
  return last_error;
}

std::string HttpClient::current_host() const {
  const HostPort& hp = impl_->hosts[impl_->current];
  bool v6 = hp.host.find(':') != std::string::npos;
  return (v6 ? "[" + hp.host + "]" : hp.host) + ":" + hp.port;
}

std::string HttpClient::current_url() const { return impl_->options.scheme + "://" + current_host(); }

}  // namespace rq::client
