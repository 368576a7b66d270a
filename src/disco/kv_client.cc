// The KV discovery's shared vocabulary: the leader record rqlite writes to
// the key, service endpoints, the key's layout per service, and the client
// for a -disco-mode (consul.cc and etcd.cc hold the two clients).
#include "disco/kv_client.h"

#include <cstdlib>

#include <boost/json.hpp>

#include "disco/kv_internal.h"

namespace rq::disco {

namespace json = boost::json;
using namespace internal;

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

}  // namespace rq::disco
