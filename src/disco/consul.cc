// The Consul KV client (https://developer.hashicorp.com/consul/api-docs/kv):
// get and check-and-set put of the leader key, -disco-config for consul-kv
// (with Consul's own environment variables as fallbacks), and its answers.
#include <boost/beast/http/verb.hpp>
#include <boost/json.hpp>

#include "base/base64.h"
#include "disco/kv_client.h"
#include "disco/kv_internal.h"

namespace rq::disco {
namespace {

namespace bhttp = boost::beast::http;
namespace json = boost::json;
using namespace internal;

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

std::unique_ptr<KvClient> MakeConsulClient(ConsulConfig config, std::chrono::milliseconds timeout) {
  return std::make_unique<ConsulClient>(std::move(config), timeout);
}

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

}  // namespace rq::disco
