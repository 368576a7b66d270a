// KvClient: the three key-value calls that -disco-mode consul-kv and etcd-kv
// need (read a key, create it only when absent, overwrite it), spoken over
// HTTP to Consul's KV API or etcd's v3 JSON gateway (API.md 4.11).
//
// The leader key holds a LeaderRecord as JSON: {"id", "api_addr", "addr"},
// the leader's node id, HTTP API URL and Raft address, as rqlite writes it.
// Consul keeps it at rqlite/<disco-key>/leader, etcd at /<disco-key>/leader.
//
// Every answer is checked (status, JSON shape, base64): anything unexpected
// is an Unavailable error naming the server and what was wrong, never a
// crash. https uses OpenSSL with the system's or the configured CAs.
//
// Ownership: MakeKvClient returns an owned client.
// Thread-safety: a KvClient may be used by one thread at a time; the plain
// functions are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace rq::disco {

struct LeaderRecord {
  std::string id;
  std::string api_addr;  // "http://host:port"
  std::string addr;      // Raft address, host:port

  bool operator==(const LeaderRecord&) const = default;
};

std::string EncodeLeaderRecord(const LeaderRecord& record);
// A record without a Raft address is refused: nobody could join it.
Result<LeaderRecord> DecodeLeaderRecord(std::string_view json);

class KvClient {
 public:
  virtual ~KvClient() = default;
  // nullopt when the key does not exist.
  virtual Result<std::optional<std::string>> Get(const std::string& key) = 0;
  // Check-and-set: true when this call created the key, false when it existed.
  virtual Result<bool> CreateIfAbsent(const std::string& key, const std::string& value) = 0;
  virtual Status Put(const std::string& key, const std::string& value) = 0;
  // "consul-kv" or "etcd-kv", for logs.
  virtual std::string name() const = 0;
};

// ---- configuration (the -disco-config JSON) ----

struct HttpEndpoint {
  bool https = false;
  std::string host;
  std::string port;
};

struct TlsSettings {
  std::string server_name;  // verified name; the endpoint's host when empty
  std::string ca_file;
  std::string ca_path;
  std::string cert_file;  // client certificate, with key_file
  std::string key_file;
  bool insecure_skip_verify = false;
};

// Consul: {"address": "127.0.0.1:8500", "scheme": "http", "datacenter",
// "token", "token_file", "namespace", "partition", "basic_auth":
// {"username", "password"}, "tls_config": {"address", "ca_file", "ca_path",
// "cert_file", "key_file", "insecure_skip_verify"}}.
struct ConsulConfig {
  HttpEndpoint endpoint{false, "127.0.0.1", "8500"};
  std::string datacenter;
  std::string token;
  std::string ns;
  std::string partition;
  std::optional<std::pair<std::string, std::string>> basic_auth;  // user, password
  TlsSettings tls;
};

// etcd: {"endpoints": ["localhost:2379"], "username", "password",
// "dial-timeout" (nanoseconds)}. Endpoints are tried in order.
struct EtcdConfig {
  std::vector<HttpEndpoint> endpoints{HttpEndpoint{false, "localhost", "2379"}};
  std::string username;
  std::string password;
  std::optional<std::chrono::milliseconds> dial_timeout;
};

// Reads an environment variable; nullopt when unset or empty.
using EnvLookup = std::function<std::optional<std::string>(const char*)>;
std::optional<std::string> SystemEnv(const char* name);

// Empty text means all defaults. InvalidArgument names the bad field.
// Like Consul's own client, a field the JSON leaves empty falls back to the
// CONSUL_* variables: CONSUL_HTTP_ADDR, CONSUL_HTTP_SSL, CONSUL_HTTP_TOKEN,
// CONSUL_HTTP_TOKEN_FILE, CONSUL_NAMESPACE, CONSUL_PARTITION, CONSUL_CACERT,
// CONSUL_CAPATH, CONSUL_CLIENT_CERT, CONSUL_CLIENT_KEY, CONSUL_TLS_SERVER_NAME.
Result<ConsulConfig> ParseConsulConfig(std::string_view json, const EnvLookup& env = SystemEnv);
Result<EtcdConfig> ParseEtcdConfig(std::string_view json);

// "host:port", "http://host:port" or "https://host[:port]".
Result<HttpEndpoint> ParseEndpoint(std::string_view text, std::string_view default_port);

// `timeout` bounds each HTTP exchange (connect, send, answer).
std::unique_ptr<KvClient> MakeConsulClient(ConsulConfig config, std::chrono::milliseconds timeout);
std::unique_ptr<KvClient> MakeEtcdClient(EtcdConfig config, std::chrono::milliseconds timeout);

// True for consul-kv and etcd-kv.
bool IsKvDiscoMode(std::string_view mode);
// The key rqlite uses for the leader record in that service.
std::string LeaderKey(std::string_view mode, std::string_view disco_key);
// The client for -disco-mode `mode` from the -disco-config text.
Result<std::unique_ptr<KvClient>> MakeKvClient(std::string_view mode, std::string_view config_text,
                                               std::chrono::milliseconds timeout);

// ---- answer parsing (exposed for tests) ----

// GET /v1/kv/<key>: 404 is "absent"; 200 is a JSON array of one object
// whose "Value" is base64.
Result<std::optional<std::string>> ParseConsulGet(int http_status, std::string_view body);
// PUT /v1/kv/<key>[?cas=0]: 200 with "true" or "false".
Result<bool> ParseConsulPut(int http_status, std::string_view body);
// POST /v3/kv/range: {"kvs": [{"key", "value"}]}, no "kvs" when absent.
Result<std::optional<std::string>> ParseEtcdRange(std::string_view body);
// POST /v3/kv/txn: {"succeeded": true}; proto3 JSON omits a false one.
Result<bool> ParseEtcdTxn(std::string_view body);

}  // namespace rq::disco
