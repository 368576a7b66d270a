#include "cmd/disco_kv.h"

#include <openssl/ssl.h>

#include <array>
#include <cstdlib>
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

#include "base/base64.h"
#include "base/logging.h"

namespace rq::cmd {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;

// An answer body in an error message: short, one line.
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

// Percent-encodes a key for a URL path; '/' separates Consul key segments.
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

// ---- one HTTP exchange, bounded by a deadline ----

struct HttpCall {
  bhttp::verb method = bhttp::verb::get;
  std::string target;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
};

struct HttpAnswer {
  int status = 0;
  std::string body;
};

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

// Every asynchronous step runs under the tcp_stream's deadline, so the
// whole exchange ends within `timeout` (name resolution aside).
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

// ---- Consul KV (https://developer.hashicorp.com/consul/api-docs/kv) ----

class ConsulClient final : public KvClient {
 public:
  ConsulClient(ConsulConfig config, std::chrono::milliseconds timeout)
      : config_(std::move(config)), timeout_(timeout) {}

  Result<std::optional<std::string>> Get(const std::string& key) override {
    auto answer = Call(bhttp::verb::get, key, "", "");
    if (!answer.ok()) return answer.status();
    return ParseConsulGet(answer->status, answer->body);
  }

  Result<bool> CreateIfAbsent(const std::string& key, const std::string& value) override {
    auto answer = Call(bhttp::verb::put, key, "cas=0", value);
    if (!answer.ok()) return answer.status();
    return ParseConsulPut(answer->status, answer->body);
  }

  Status Put(const std::string& key, const std::string& value) override {
    auto answer = Call(bhttp::verb::put, key, "", value);
    if (!answer.ok()) return answer.status();
    Result<bool> written = ParseConsulPut(answer->status, answer->body);
    if (!written.ok()) return written.status();
    return *written ? Status::OK() : Status::Unavailable("consul refused to write " + key);
  }

  std::string name() const override { return "consul-kv"; }

 private:
  Result<HttpAnswer> Call(bhttp::verb method, const std::string& key, const std::string& query,
                          const std::string& body) {
    HttpCall call;
    call.method = method;
    std::string params = query;
    auto add = [&params](const std::string& name, const std::string& value) {
      if (value.empty()) return;
      params += (params.empty() ? "" : "&") + name + "=" + EscapePath(value);
    };
    add("dc", config_.datacenter);
    add("ns", config_.ns);
    add("partition", config_.partition);
    call.target = "/v1/kv/" + EscapePath(key) + (params.empty() ? "" : "?" + params);
    call.body = body;
    if (!config_.token.empty()) call.headers.emplace_back("X-Consul-Token", config_.token);
    if (config_.basic_auth) {
      call.headers.emplace_back("Authorization",
                                "Basic " + base64::Encode(config_.basic_auth->first + ":" + config_.basic_auth->second));
    }
    return Exchange(config_.endpoint, config_.tls, call, timeout_);
  }

  ConsulConfig config_;
  std::chrono::milliseconds timeout_;
};

// ---- etcd v3 JSON gateway (https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/) ----

class EtcdClient final : public KvClient {
 public:
  EtcdClient(EtcdConfig config, std::chrono::milliseconds timeout)
      : config_(std::move(config)), timeout_(config_.dial_timeout.value_or(timeout)) {}

  Result<std::optional<std::string>> Get(const std::string& key) override {
    json::object request{{"key", base64::Encode(key)}};
    auto answer = Call("/v3/kv/range", request);
    if (!answer.ok()) return answer.status();
    return ParseEtcdRange(*answer);
  }

  Result<bool> CreateIfAbsent(const std::string& key, const std::string& value) override {
    // A key that was never created (or was deleted) has create_revision 0.
    json::object compare{{"key", base64::Encode(key)}, {"result", "EQUAL"}, {"target", "CREATE"},
                         {"create_revision", "0"}};
    json::object put{{"key", base64::Encode(key)}, {"value", base64::Encode(value)}};
    json::object request{{"compare", json::array{compare}},
                         {"success", json::array{json::object{{"request_put", put}}}}};
    auto answer = Call("/v3/kv/txn", request);
    if (!answer.ok()) return answer.status();
    return ParseEtcdTxn(*answer);
  }

  Status Put(const std::string& key, const std::string& value) override {
    json::object request{{"key", base64::Encode(key)}, {"value", base64::Encode(value)}};
    auto answer = Call("/v3/kv/put", request);
    if (!answer.ok()) return answer.status();
    return ParseJson(*answer, "etcd put answer").status();
  }

  std::string name() const override { return "etcd-kv"; }

 private:
  // The first endpoint that answers; the one that answered last goes first.
  Result<std::string> Call(const std::string& path, const json::object& request) {
    Status last = Status::Unavailable("etcd: no endpoints");
    for (size_t tried = 0; tried < config_.endpoints.size(); ++tried) {
      const HttpEndpoint& endpoint = config_.endpoints[(current_ + tried) % config_.endpoints.size()];
      Result<std::string> answer = CallEndpoint(endpoint, path, request);
      if (answer.ok()) {
        current_ = (current_ + tried) % config_.endpoints.size();
        return answer;
      }
      last = answer.status();
    }
    return last;
  }

  Result<std::string> CallEndpoint(const HttpEndpoint& endpoint, const std::string& path, const json::object& request) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!config_.username.empty() && token_.empty()) {
        Result<std::string> token = Authenticate(endpoint);
        if (!token.ok()) return token.status();
        token_ = *token;
      }
      HttpCall call;
      call.method = bhttp::verb::post;
      call.target = path;
      call.body = json::serialize(request);
      call.headers.emplace_back("Content-Type", "application/json");
      if (!token_.empty()) call.headers.emplace_back("Authorization", token_);
      auto answer = Exchange(endpoint, TlsSettings{}, call, timeout_);
      if (!answer.ok()) return answer.status();
      if (answer->status == 200) return std::move(answer->body);
      // An expired token: authenticate again, once.
      if (!token_.empty() && attempt == 0 && answer->body.find("token") != std::string::npos) {
        token_.clear();
        continue;
      }
      return Status::Unavailable("etcd " + path + " answered HTTP " + std::to_string(answer->status) + ": " +
                                 Snippet(answer->body));
    }
    return Status::Unavailable("etcd " + path + ": authentication failed");
  }

  Result<std::string> Authenticate(const HttpEndpoint& endpoint) {
    HttpCall call;
    call.method = bhttp::verb::post;
    call.target = "/v3/auth/authenticate";
    call.body = json::serialize(json::object{{"name", config_.username}, {"password", config_.password}});
    call.headers.emplace_back("Content-Type", "application/json");
    auto answer = Exchange(endpoint, TlsSettings{}, call, timeout_);
    if (!answer.ok()) return answer.status();
    if (answer->status != 200) {
      return Status::Unavailable("etcd authentication answered HTTP " + std::to_string(answer->status) + ": " +
                                 Snippet(answer->body));
    }
    auto parsed = ParseJson(answer->body, "etcd authentication answer");
    if (!parsed.ok()) return parsed.status();
    const json::value* token = parsed->is_object() ? parsed->as_object().if_contains("token") : nullptr;
    if (token == nullptr || !token->is_string() || token->as_string().empty()) {
      return Status::Unavailable("etcd authentication answer has no token: " + Snippet(answer->body));
    }
    return std::string(token->as_string());
  }

  EtcdConfig config_;
  std::chrono::milliseconds timeout_;
  size_t current_ = 0;
  std::string token_;
};

// ---- -disco-config fields ----

// Reads an optional string field; a value of another type is an error.
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

Status ParseConsulTls(const json::object& object, TlsSettings* tls) {
  const std::string where = "-disco-config tls_config: ";
  for (const char* unsupported : {"ca_pem", "cert_pem", "key_pem"}) {
    if (object.contains(unsupported)) {
      return Status::NotSupported(where + "\"" + unsupported + "\" is not supported; name a file instead");
    }
  }
  std::string address;
  RQ_RETURN_IF_ERROR(ReadString(object, "address", where, &address));
  if (!address.empty()) {
    size_t colon = address.rfind(':');
    tls->server_name = colon != std::string::npos && address.find(']') == std::string::npos
                           ? address.substr(0, colon)
                           : address;
  }
  RQ_RETURN_IF_ERROR(ReadString(object, "ca_file", where, &tls->ca_file));
  RQ_RETURN_IF_ERROR(ReadString(object, "ca_path", where, &tls->ca_path));
  RQ_RETURN_IF_ERROR(ReadString(object, "cert_file", where, &tls->cert_file));
  RQ_RETURN_IF_ERROR(ReadString(object, "key_file", where, &tls->key_file));
  RQ_RETURN_IF_ERROR(ReadBool(object, "insecure_skip_verify", where, &tls->insecure_skip_verify));
  if (tls->cert_file.empty() != tls->key_file.empty()) {
    return Status::InvalidArgument(where + "cert_file and key_file go together");
  }
  return Status::OK();
}

}  // namespace

// ---- leader record and base64 ----

std::string EncodeLeaderRecord(const LeaderRecord& record) {
  return json::serialize(json::object{{"id", record.id}, {"api_addr", record.api_addr}, {"addr", record.addr}});
}

Result<LeaderRecord> DecodeLeaderRecord(std::string_view text) {
  boost::system::error_code error;
  json::value value = json::parse(text, error);
  if (error || !value.is_object()) {
    return Status::InvalidArgument("leader record is not a JSON object: " + Snippet(text));
  }
  LeaderRecord record;
  const std::string where = "leader record: ";
  RQ_RETURN_IF_ERROR(ReadString(value.as_object(), "id", where, &record.id));
  RQ_RETURN_IF_ERROR(ReadString(value.as_object(), "api_addr", where, &record.api_addr));
  RQ_RETURN_IF_ERROR(ReadString(value.as_object(), "addr", where, &record.addr));
  if (record.addr.empty()) return Status::InvalidArgument("leader record has no Raft address: " + Snippet(text));
  return record;
}

// ---- configuration ----

Result<HttpEndpoint> ParseEndpoint(std::string_view text, std::string_view default_port) {
  HttpEndpoint endpoint;
  std::string_view rest = text;
  if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else if (rest.starts_with("https://")) {
    endpoint.https = true;
    rest.remove_prefix(8);
  } else if (rest.find("://") != std::string_view::npos) {
    return Status::NotSupported("endpoint \"" + std::string(text) + "\": only http:// and https:// are supported");
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  std::string host(rest);
  std::string port;
  size_t close = host.find(']');
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && (close == std::string::npos || colon > close)) {
    port = host.substr(colon + 1);
    host = host.substr(0, colon);
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  if (port.empty()) port = endpoint.https && default_port.empty() ? "443" : std::string(default_port);
  if (host.empty() || port.empty() || port.find_first_not_of("0123456789") != std::string::npos) {
    return Status::InvalidArgument("endpoint \"" + std::string(text) + "\" needs a host and a numeric port");
  }
  endpoint.host = host;
  endpoint.port = port;
  return endpoint;
}

std::optional<std::string> SystemEnv(const char* name) {
  const char* value = std::getenv(name);
  if (value == nullptr || *value == '\0') return std::nullopt;
  return std::string(value);
}

Result<ConsulConfig> ParseConsulConfig(std::string_view text, const EnvLookup& env) {
  auto parsed = ParseConfigObject(text, "consul-kv");
  if (!parsed.ok()) return parsed.status();
  const json::object& object = *parsed;
  const std::string where = "-disco-config for consul-kv: ";
  auto fallback = [&env](std::string* field, const char* variable) {
    if (!field->empty()) return;
    if (std::optional<std::string> value = env(variable)) *field = *value;
  };
  ConsulConfig config;
  std::string address, scheme, token_file;
  RQ_RETURN_IF_ERROR(ReadString(object, "address", where, &address));
  RQ_RETURN_IF_ERROR(ReadString(object, "scheme", where, &scheme));
  // Early rqlite releases spelled the field "schema".
  if (scheme.empty()) RQ_RETURN_IF_ERROR(ReadString(object, "schema", where, &scheme));
  fallback(&address, "CONSUL_HTTP_ADDR");
  std::optional<std::string> ssl = env("CONSUL_HTTP_SSL");
  if (scheme.empty() && ssl && (*ssl == "true" || *ssl == "1")) scheme = "https";
  if (!scheme.empty() && scheme != "http" && scheme != "https") {
    return Status::InvalidArgument(where + "\"scheme\" must be http or https");
  }
  if (!address.empty()) {
    auto endpoint = ParseEndpoint(address, "8500");
    if (!endpoint.ok()) return Status::InvalidArgument(where + endpoint.status().message());
    config.endpoint = *endpoint;
  }
  if (scheme == "https") config.endpoint.https = true;
  RQ_RETURN_IF_ERROR(ReadString(object, "datacenter", where, &config.datacenter));
  RQ_RETURN_IF_ERROR(ReadString(object, "token", where, &config.token));
  RQ_RETURN_IF_ERROR(ReadString(object, "token_file", where, &token_file));
  RQ_RETURN_IF_ERROR(ReadString(object, "namespace", where, &config.ns));
  RQ_RETURN_IF_ERROR(ReadString(object, "partition", where, &config.partition));
  if (config.token.empty() && token_file.empty()) {
    fallback(&token_file, "CONSUL_HTTP_TOKEN_FILE");
    fallback(&config.token, "CONSUL_HTTP_TOKEN");
  }
  fallback(&config.ns, "CONSUL_NAMESPACE");
  fallback(&config.partition, "CONSUL_PARTITION");
  // The token file wins over a token, as in Consul's client.
  if (!token_file.empty()) {
    bool ok = false;
    config.token = ReadTrimmedFile(token_file, &ok);
    if (!ok) return Status::InvalidArgument(where + "cannot read token_file " + token_file);
  }
  if (const json::value* auth = object.if_contains("basic_auth"); auth != nullptr && !auth->is_null()) {
    if (!auth->is_object()) return Status::InvalidArgument(where + "\"basic_auth\" must be an object");
    std::pair<std::string, std::string> credentials;
    RQ_RETURN_IF_ERROR(ReadString(auth->as_object(), "username", where + "basic_auth: ", &credentials.first));
    RQ_RETURN_IF_ERROR(ReadString(auth->as_object(), "password", where + "basic_auth: ", &credentials.second));
    config.basic_auth = credentials;
  }
  if (const json::value* tls = object.if_contains("tls_config"); tls != nullptr && !tls->is_null()) {
    if (!tls->is_object()) return Status::InvalidArgument(where + "\"tls_config\" must be an object");
    RQ_RETURN_IF_ERROR(ParseConsulTls(tls->as_object(), &config.tls));
  }
  fallback(&config.tls.ca_file, "CONSUL_CACERT");
  fallback(&config.tls.ca_path, "CONSUL_CAPATH");
  fallback(&config.tls.server_name, "CONSUL_TLS_SERVER_NAME");
  if (config.tls.cert_file.empty() && config.tls.key_file.empty()) {
    fallback(&config.tls.cert_file, "CONSUL_CLIENT_CERT");
    fallback(&config.tls.key_file, "CONSUL_CLIENT_KEY");
  }
  return config;
}

Result<EtcdConfig> ParseEtcdConfig(std::string_view text) {
  auto parsed = ParseConfigObject(text, "etcd-kv");
  if (!parsed.ok()) return parsed.status();
  const json::object& object = *parsed;
  const std::string where = "-disco-config for etcd-kv: ";
  EtcdConfig config;
  if (const json::value* endpoints = object.if_contains("endpoints"); endpoints != nullptr && !endpoints->is_null()) {
    if (!endpoints->is_array() || endpoints->as_array().empty()) {
      return Status::InvalidArgument(where + "\"endpoints\" must be a non-empty array of strings");
    }
    config.endpoints.clear();
    for (const json::value& entry : endpoints->as_array()) {
      if (!entry.is_string()) {
        return Status::InvalidArgument(where + "\"endpoints\" must be a non-empty array of strings");
      }
      auto endpoint = ParseEndpoint(entry.as_string(), "2379");
      if (!endpoint.ok()) return Status::InvalidArgument(where + endpoint.status().message());
      config.endpoints.push_back(*endpoint);
    }
  }
  RQ_RETURN_IF_ERROR(ReadString(object, "username", where, &config.username));
  RQ_RETURN_IF_ERROR(ReadString(object, "password", where, &config.password));
  if (const json::value* dial = object.if_contains("dial-timeout"); dial != nullptr && !dial->is_null()) {
    if (!dial->is_int64() && !dial->is_uint64()) {
      return Status::InvalidArgument(where + "\"dial-timeout\" must be an integer (nanoseconds)");
    }
    int64_t nanos = dial->is_int64() ? dial->as_int64() : static_cast<int64_t>(dial->as_uint64());
    // Go's client counts nanoseconds; a small number means "use the default".
    if (nanos >= 1000000) config.dial_timeout = std::chrono::milliseconds(nanos / 1000000);
  }
  return config;
}

std::unique_ptr<KvClient> MakeConsulClient(ConsulConfig config, std::chrono::milliseconds timeout) {
  return std::make_unique<ConsulClient>(std::move(config), timeout);
}

std::unique_ptr<KvClient> MakeEtcdClient(EtcdConfig config, std::chrono::milliseconds timeout) {
  return std::make_unique<EtcdClient>(std::move(config), timeout);
}

bool IsKvDiscoMode(std::string_view mode) { return mode == "consul-kv" || mode == "etcd-kv"; }

std::string LeaderKey(std::string_view mode, std::string_view disco_key) {
  if (mode == "consul-kv") return "rqlite/" + std::string(disco_key) + "/leader";
  return "/" + std::string(disco_key) + "/leader";
}

Result<std::unique_ptr<KvClient>> MakeKvClient(std::string_view mode, std::string_view config_text,
                                               std::chrono::milliseconds timeout) {
  if (mode == "consul-kv") {
    auto config = ParseConsulConfig(config_text);
    if (!config.ok()) return config.status();
    return MakeConsulClient(std::move(config).value(), timeout);
  }
  if (mode == "etcd-kv") {
    auto config = ParseEtcdConfig(config_text);
    if (!config.ok()) return config.status();
    return MakeEtcdClient(std::move(config).value(), timeout);
  }
  return Status::InvalidArgument("-disco-mode " + std::string(mode) + " is not a key-value mode");
}

// ---- answers ----

Result<std::optional<std::string>> ParseConsulGet(int http_status, std::string_view body) {
  if (http_status == 404) return std::optional<std::string>();
  if (http_status != 200) {
    return Status::Unavailable("consul GET answered HTTP " + std::to_string(http_status) + ": " + Snippet(body));
  }
  auto parsed = ParseJson(body, "consul GET answer");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_array() || parsed->as_array().empty() || !parsed->as_array()[0].is_object()) {
    return Status::Unavailable("consul GET answer is not an array of key objects: " + Snippet(body));
  }
  const json::value* value = parsed->as_array()[0].as_object().if_contains("Value");
  if (value == nullptr) return Status::Unavailable("consul GET answer has no \"Value\": " + Snippet(body));
  if (value->is_null()) return std::optional<std::string>(std::string());
  if (!value->is_string()) return Status::Unavailable("consul GET answer's \"Value\" is not a string");
  std::optional<std::string> decoded = base64::Decode(value->as_string());
  if (!decoded) {
    return Status::Unavailable("consul GET answer's \"Value\" is not base64: " + Snippet(value->as_string()));
  }
  return decoded;
}

Result<bool> ParseConsulPut(int http_status, std::string_view body) {
  if (http_status != 200) {
    return Status::Unavailable("consul PUT answered HTTP " + std::to_string(http_status) + ": " + Snippet(body));
  }
  auto parsed = ParseJson(body, "consul PUT answer");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_bool()) return Status::Unavailable("consul PUT answer is not true or false: " + Snippet(body));
  return parsed->as_bool();
}

Result<std::optional<std::string>> ParseEtcdRange(std::string_view body) {
  auto parsed = ParseJson(body, "etcd range answer");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Status::Unavailable("etcd range answer is not an object: " + Snippet(body));
  const json::value* kvs = parsed->as_object().if_contains("kvs");
  if (kvs == nullptr || kvs->is_null()) return std::optional<std::string>();
  if (!kvs->is_array()) return Status::Unavailable("etcd range answer's \"kvs\" is not an array");
  if (kvs->as_array().empty()) return std::optional<std::string>();
  const json::value& first = kvs->as_array()[0];
  if (!first.is_object()) return Status::Unavailable("etcd range answer's \"kvs\" holds a non-object");
  const json::value* value = first.as_object().if_contains("value");
  if (value == nullptr || value->is_null()) return std::optional<std::string>(std::string());  // empty bytes
  if (!value->is_string()) return Status::Unavailable("etcd range answer's \"value\" is not a string");
  std::optional<std::string> decoded = base64::Decode(value->as_string());
  if (!decoded) {
    return Status::Unavailable("etcd range answer's \"value\" is not base64: " + Snippet(value->as_string()));
  }
  return decoded;
}

Result<bool> ParseEtcdTxn(std::string_view body) {
  auto parsed = ParseJson(body, "etcd txn answer");
  if (!parsed.ok()) return parsed.status();
  if (!parsed->is_object()) return Status::Unavailable("etcd txn answer is not an object: " + Snippet(body));
  const json::value* succeeded = parsed->as_object().if_contains("succeeded");
  if (succeeded == nullptr || succeeded->is_null()) return false;
  if (!succeeded->is_bool()) return Status::Unavailable("etcd txn answer's \"succeeded\" is not a boolean");
  return succeeded->as_bool();
}

}  // namespace rq::cmd
