// The etcd v3 client over its JSON gateway
// (https://etcd.io/docs/v3.5/dev-guide/api_grpc_gateway/): range and txn on
// the leader key, token authentication, failover across endpoints.
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


}  // namespace

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

std::unique_ptr<KvClient> MakeEtcdClient(EtcdConfig config, std::chrono::milliseconds timeout) {
  return std::make_unique<EtcdClient>(std::move(config), timeout);
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


}  // namespace rq::disco
