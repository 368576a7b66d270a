// One bounded HTTP(S) exchange with a KV service (Boost.Beast over Asio,
// OpenSSL for https), and the JSON helpers both clients read answers and
// -disco-config with.
#include <openssl/ssl.h>

#include <fstream>
#include <sstream>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

#include "disco/kv_internal.h"

namespace rq::disco::internal {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;

template <class Stream>
asio::awaitable<void> Converse(Stream& stream, const bhttp::request<bhttp::string_body>& request,
                               bhttp::response<bhttp::string_body>& response) {
  co_await bhttp::async_write(stream, request, asio::use_awaitable);
  beast::flat_buffer buffer;
  co_await bhttp::async_read(stream, buffer, response, asio::use_awaitable);
}

bhttp::request<bhttp::string_body> BuildRequest(const HttpEndpoint& endpoint, const HttpCall& call) {
  bhttp::request<bhttp::string_body> request{call.method, call.target, 11};
  const bool ipv6 = endpoint.host.find(':') != std::string::npos;
  request.set(bhttp::field::host, (ipv6 ? "[" + endpoint.host + "]" : endpoint.host) + ":" + endpoint.port);
  request.set(bhttp::field::user_agent, "rqlited-disco");
  request.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : call.headers) request.set(name, value);
  if (call.method != bhttp::verb::get) {
    request.body() = call.body;
    request.prepare_payload();
  }
  return request;
}

void ConfigureTls(asio::ssl::context& context, const TlsSettings& tls) {
  if (tls.insecure_skip_verify) {
    context.set_verify_mode(asio::ssl::verify_none);
    return;
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  context.set_default_verify_paths();
  if (!tls.ca_file.empty()) context.load_verify_file(tls.ca_file);
  if (!tls.ca_path.empty()) context.add_verify_path(tls.ca_path);
}

}  // namespace

std::string Snippet(std::string_view body) {
  std::string out(body.substr(0, 160));
  for (char& c : out) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  return body.size() > 160 ? out + "..." : out;
}

Result<json::value> ParseJson(std::string_view text, const std::string& what) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error) return Status::Unavailable(what + " is not JSON: " + Snippet(text));
  return value;
}

std::string EscapePath(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : key) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '/') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

Result<HttpAnswer> Exchange(const HttpEndpoint& endpoint, const TlsSettings& tls, const HttpCall& call,
                            std::chrono::milliseconds timeout) {
  const std::string host = endpoint.host.find(':') != std::string::npos ? "[" + endpoint.host + "]" : endpoint.host;
  const std::string where = (endpoint.https ? "https://" : "http://") + host + ":" + endpoint.port;
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    auto addresses = resolver.resolve(endpoint.host, endpoint.port);
    bhttp::request<bhttp::string_body> request = BuildRequest(endpoint, call);
    bhttp::response<bhttp::string_body> response;
    std::exception_ptr failure;
    auto finished = [&failure](std::exception_ptr e) { failure = e; };
    if (!endpoint.https) {
      beast::tcp_stream stream(io);
      stream.expires_after(timeout);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await stream.async_connect(addresses, asio::use_awaitable);
            co_await Converse(stream, request, response);
          },
          finished);
      io.run();
    } else {
      asio::ssl::context context(asio::ssl::context::tls_client);
      ConfigureTls(context, tls);
      if (!tls.cert_file.empty()) {
        context.use_certificate_chain_file(tls.cert_file);
        context.use_private_key_file(tls.key_file.empty() ? tls.cert_file : tls.key_file, asio::ssl::context::pem);
      }
      beast::ssl_stream<beast::tcp_stream> stream(io, context);
      const std::string name = tls.server_name.empty() ? endpoint.host : tls.server_name;
      SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
      if (!tls.insecure_skip_verify) stream.set_verify_callback(asio::ssl::host_name_verification(name));
      beast::get_lowest_layer(stream).expires_after(timeout);
      asio::co_spawn(
          io,
          [&]() -> asio::awaitable<void> {
            co_await beast::get_lowest_layer(stream).async_connect(addresses, asio::use_awaitable);
            co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
            co_await Converse(stream, request, response);
          },
          finished);
      io.run();
    }
    if (failure) std::rethrow_exception(failure);
    return HttpAnswer{static_cast<int>(response.result_int()), std::move(response.body())};
  } catch (const boost::system::system_error& e) {
    // what() appends the Boost source location, which says nothing to an operator.
    return Status::Unavailable(where + ": " + e.code().message());
  } catch (const std::exception& e) {
    return Status::Unavailable(where + ": " + e.what());
  }
}

Status ReadString(const json::object& object, const char* field, const std::string& where, std::string* out) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null()) return Status::OK();
  if (!value->is_string()) return Status::InvalidArgument(where + "\"" + field + "\" must be a string");
  *out = std::string(value->as_string());
  return Status::OK();
}

Status ReadBool(const json::object& object, const char* field, const std::string& where, bool* out) {
  const json::value* value = object.if_contains(field);
  if (value == nullptr || value->is_null()) return Status::OK();
  if (!value->is_bool()) return Status::InvalidArgument(where + "\"" + field + "\" must be true or false");
  *out = value->as_bool();
  return Status::OK();
}

Result<json::object> ParseConfigObject(std::string_view text, const std::string& mode) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return json::object{};
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) {
    return Status::InvalidArgument("-disco-config for " + mode + " must be a JSON object");
  }
  return std::move(value.as_object());
}

std::string ReadTrimmedFile(const std::string& path, bool* ok) {
  std::ifstream in(path);
  std::stringstream contents;
  contents << in.rdbuf();
  *ok = static_cast<bool>(in);
  std::string text = contents.str();
  size_t end = text.find_last_not_of(" \t\r\n");
  return end == std::string::npos ? "" : text.substr(0, end + 1);
}

}  // namespace rq::disco::internal
