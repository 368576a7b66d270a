#include "disco/kv_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>

#include "base/base64.h"
#include "disco/kv_discovery.h"

namespace rq::disco {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace json = boost::json;
using Request = bhttp::request<bhttp::string_body>;
using Response = bhttp::response<bhttp::string_body>;

// ---- base64, leader record, key names ----

TEST(LeaderRecordTest, EncodesRqlitesFieldNamesAndDecodesThem) {
  LeaderRecord record{"n1", "http://127.0.0.1:4001", "127.0.0.1:4002"};
  std::string text = EncodeLeaderRecord(record);
  json::value parsed = json::parse(text);
  EXPECT_EQ(parsed.at("id").as_string(), "n1");
  EXPECT_EQ(parsed.at("api_addr").as_string(), "http://127.0.0.1:4001");
  EXPECT_EQ(parsed.at("addr").as_string(), "127.0.0.1:4002");
  auto decoded = DecodeLeaderRecord(text);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(*decoded, record);
}

TEST(LeaderRecordTest, RecordsThatNobodyCouldJoinAreRefused) {
  EXPECT_FALSE(DecodeLeaderRecord("").ok());
  EXPECT_FALSE(DecodeLeaderRecord("[1]").ok());
  EXPECT_FALSE(DecodeLeaderRecord(R"({"id": "n1"})").ok());
  EXPECT_FALSE(DecodeLeaderRecord(R"({"id": 7, "addr": "h:1"})").ok());
}

TEST(LeaderKeyTest, FollowsRqlitesLayoutForEachService) {
  EXPECT_EQ(LeaderKey("consul-kv", "rqlite"), "rqlite/rqlite/leader");
  EXPECT_EQ(LeaderKey("etcd-kv", "prod"), "/prod/leader");
  EXPECT_TRUE(IsKvDiscoMode("etcd-kv"));
  EXPECT_FALSE(IsKvDiscoMode("dns"));
}

// ---- answers ----

TEST(ConsulAnswerTest, MissingKeyIsAbsentAndPresentKeyIsDecoded) {
  auto absent = ParseConsulGet(404, "");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto present = ParseConsulGet(200, R"([{"Key":"k","Value":"cnFsaXRl","ModifyIndex":4}])");
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(present->value(), "rqlite");
}

TEST(ConsulAnswerTest, MalformedAnswersAreErrors) {
  EXPECT_FALSE(ParseConsulGet(500, "boom").ok());
  EXPECT_FALSE(ParseConsulGet(200, "not json").ok());
  EXPECT_FALSE(ParseConsulGet(200, "{}").ok());
  EXPECT_FALSE(ParseConsulGet(200, "[]").ok());
  EXPECT_FALSE(ParseConsulGet(200, R"([{"Key":"k"}])").ok());
  EXPECT_FALSE(ParseConsulGet(200, R"([{"Value":12}])").ok());
  EXPECT_FALSE(ParseConsulGet(200, R"([{"Value":"%%%%"}])").ok());
  EXPECT_EQ(*ParseConsulPut(200, "true\n"), true);
  EXPECT_EQ(*ParseConsulPut(200, "false"), false);
  EXPECT_FALSE(ParseConsulPut(200, "\"true\"").ok());
  EXPECT_FALSE(ParseConsulPut(403, "Permission denied").ok());
}

TEST(EtcdAnswerTest, RangeWithoutKvsIsAbsent) {
  auto absent = ParseEtcdRange(R"({"header":{"revision":"3"}})");
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto present = ParseEtcdRange(R"({"kvs":[{"key":"eA==","value":"cnFsaXRl","version":"1"}],"count":"1"})");
  ASSERT_TRUE(present.ok());
  EXPECT_EQ(present->value(), "rqlite");
}

TEST(EtcdAnswerTest, MalformedAnswersAreErrors) {
  EXPECT_FALSE(ParseEtcdRange("<html>").ok());
  EXPECT_FALSE(ParseEtcdRange("[]").ok());
  EXPECT_FALSE(ParseEtcdRange(R"({"kvs":{}})").ok());
  EXPECT_FALSE(ParseEtcdRange(R"({"kvs":[7]})").ok());
  EXPECT_FALSE(ParseEtcdRange(R"({"kvs":[{"value":"***"}]})").ok());
  EXPECT_FALSE(ParseEtcdRange(R"({"kvs":[{"value":true}]})").ok());
  EXPECT_TRUE(*ParseEtcdTxn(R"({"succeeded":true})"));
  EXPECT_FALSE(*ParseEtcdTxn(R"({"header":{}})"));  // proto3 JSON drops false
  EXPECT_FALSE(ParseEtcdTxn(R"({"succeeded":"yes"})").ok());
  EXPECT_FALSE(ParseEtcdTxn("").ok());
}

// ---- configuration ----

TEST(ConsulConfigTest, EmptyConfigMeansTheLocalAgent) {
  auto config = ParseConsulConfig("");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->endpoint.host, "127.0.0.1");
  EXPECT_EQ(config->endpoint.port, "8500");
  EXPECT_FALSE(config->endpoint.https);
}

TEST(ConsulConfigTest, FieldsAreRead) {
  std::string token_path = ::testing::TempDir() + "/consul_token";
  std::ofstream(token_path) << "secret-from-file\n";
  auto config = ParseConsulConfig(R"({"address": "consul.local:8501", "scheme": "https", "datacenter": "dc2",
      "token_file": ")" + token_path + R"(", "basic_auth": {"username": "u", "password": "p"},
      "tls_config": {"address": "consul.local:8501", "ca_file": "/ca.pem", "insecure_skip_verify": true}})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->endpoint.host, "consul.local");
  EXPECT_EQ(config->endpoint.port, "8501");
  EXPECT_TRUE(config->endpoint.https);
  EXPECT_EQ(config->datacenter, "dc2");
  EXPECT_EQ(config->token, "secret-from-file");
  ASSERT_TRUE(config->basic_auth.has_value());
  EXPECT_EQ(config->basic_auth->first, "u");
  EXPECT_EQ(config->tls.server_name, "consul.local");
  EXPECT_EQ(config->tls.ca_file, "/ca.pem");
  EXPECT_TRUE(config->tls.insecure_skip_verify);
  EXPECT_TRUE(ParseConsulConfig(R"({"address": "https://c:9"})")->endpoint.https);
}

TEST(ConsulConfigTest, EmptyFieldsFallBackToConsulsEnvironmentVariables) {
  std::map<std::string, std::string> vars{{"CONSUL_HTTP_ADDR", "https://agent.local:8501"},
                                          {"CONSUL_HTTP_TOKEN", "env-token"},
                                          {"CONSUL_CACERT", "/env/ca.pem"}};
  EnvLookup env = [&vars](const char* name) -> std::optional<std::string> {
    auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  auto from_env = ParseConsulConfig("", env);
  ASSERT_TRUE(from_env.ok()) << from_env.status().ToString();
  EXPECT_EQ(from_env->endpoint.host, "agent.local");
  EXPECT_TRUE(from_env->endpoint.https);
  EXPECT_EQ(from_env->token, "env-token");
  EXPECT_EQ(from_env->tls.ca_file, "/env/ca.pem");
  // What the JSON says wins.
  auto explicit_config = ParseConsulConfig(R"({"address": "c:1", "token": "json-token"})", env);
  ASSERT_TRUE(explicit_config.ok());
  EXPECT_EQ(explicit_config->endpoint.host, "c");
  EXPECT_FALSE(explicit_config->endpoint.https);
  EXPECT_EQ(explicit_config->token, "json-token");
}

TEST(ConsulConfigTest, BadFieldsAreNamed) {
  EXPECT_NE(ParseConsulConfig("[]").status().message().find("JSON object"), std::string::npos);
  EXPECT_NE(ParseConsulConfig(R"({"address": 5})").status().message().find("\"address\""), std::string::npos);
  EXPECT_NE(ParseConsulConfig(R"({"scheme": "ftp"})").status().message().find("\"scheme\""), std::string::npos);
  EXPECT_NE(ParseConsulConfig(R"({"basic_auth": "u:p"})").status().message().find("basic_auth"), std::string::npos);
  EXPECT_NE(ParseConsulConfig(R"({"address": "unix:///sock"})").status().message().find("only http"),
            std::string::npos);
  EXPECT_NE(ParseConsulConfig(R"({"tls_config": {"ca_pem": "x"}})").status().message().find("ca_pem"),
            std::string::npos);
  EXPECT_FALSE(ParseConsulConfig(R"({"token_file": "/no/such/token"})").ok());
  EXPECT_FALSE(ParseConsulConfig(R"({"address": "host:port"})").ok());
}

TEST(EtcdConfigTest, EndpointsAndCredentialsAreRead) {
  auto defaults = ParseEtcdConfig("  ");
  ASSERT_TRUE(defaults.ok());
  ASSERT_EQ(defaults->endpoints.size(), 1u);
  EXPECT_EQ(defaults->endpoints[0].host, "localhost");
  EXPECT_EQ(defaults->endpoints[0].port, "2379");
  auto config = ParseEtcdConfig(R"({"endpoints": ["http://10.0.0.1:2379", "[::1]:2380", "https://e.local"],
      "username": "me", "password": "pw", "dial-timeout": 2000000000, "auto-sync-interval": 5})");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  ASSERT_EQ(config->endpoints.size(), 3u);
  EXPECT_EQ(config->endpoints[1].host, "::1");
  EXPECT_EQ(config->endpoints[1].port, "2380");
  EXPECT_TRUE(config->endpoints[2].https);
  EXPECT_EQ(config->endpoints[2].port, "2379");
  EXPECT_EQ(config->username, "me");
  EXPECT_EQ(config->dial_timeout, std::chrono::milliseconds(2000));
}

TEST(EtcdConfigTest, BadFieldsAreNamed) {
  EXPECT_NE(ParseEtcdConfig(R"({"endpoints": "h:1"})").status().message().find("\"endpoints\""), std::string::npos);
  EXPECT_NE(ParseEtcdConfig(R"({"endpoints": []})").status().message().find("\"endpoints\""), std::string::npos);
  EXPECT_NE(ParseEtcdConfig(R"({"endpoints": [1]})").status().message().find("\"endpoints\""), std::string::npos);
  EXPECT_NE(ParseEtcdConfig(R"({"dial-timeout": "5s"})").status().message().find("dial-timeout"), std::string::npos);
  EXPECT_NE(ParseEtcdConfig(R"({"password": []})").status().message().find("\"password\""), std::string::npos);
  EXPECT_FALSE(MakeKvClient("zookeeper", "{}", std::chrono::seconds(1)).ok());
}

// ---- the clients against in-process fake servers ----

// Answers one request per connection on 127.0.0.1 with `handler`, on its
// own thread, until destroyed.
class FakeHttpServer {
 public:
  using Handler = std::function<Response(const Request&)>;
  explicit FakeHttpServer(Handler handler)
      : handler_(std::move(handler)), acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}) {
    thread_ = std::thread([this] { Serve(); });
  }
  ~FakeHttpServer() {
    stopping_ = true;
    boost::system::error_code ignored;
    asio::ip::tcp::socket poke(io_);
    poke.connect(acceptor_.local_endpoint(), ignored);  // wakes accept()
    thread_.join();
  }
  std::string port() const { return std::to_string(acceptor_.local_endpoint().port()); }
  int requests() const { return requests_.load(); }

 private:
  void Serve() {
    while (!stopping_) {
      asio::ip::tcp::socket socket(io_);
      boost::system::error_code error;
      acceptor_.accept(socket, error);
      if (error || stopping_) return;
      beast::flat_buffer buffer;
      Request request;
      bhttp::read(socket, buffer, request, error);
      if (error) continue;
      ++requests_;
      Response response = handler_(request);
      response.version(11);
      response.prepare_payload();
      bhttp::write(socket, response, error);
    }
  }

  Handler handler_;
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

Response Answer(bhttp::status status, std::string body) {
  Response response{status, 11};
  response.body() = std::move(body);
  return response;
}

// A Consul KV with real check-and-set, checking the token and datacenter.
struct FakeConsul {
  std::mutex mutex;
  std::map<std::string, std::string> keys;
  std::string last_target;

  Response Handle(const Request& request) {
    std::lock_guard lock(mutex);
    std::string target(request.target());
    last_target = target;
    if (request["X-Consul-Token"] != "t0k") return Answer(bhttp::status::forbidden, "ACL not found");
    const std::string prefix = "/v1/kv/";
    if (!target.starts_with(prefix)) return Answer(bhttp::status::not_found, "");
    std::string key = target.substr(prefix.size(), target.find('?') - prefix.size());
    const bool cas0 = target.find("cas=0") != std::string::npos;
    if (request.method() == bhttp::verb::get) {
      auto it = keys.find(key);
      if (it == keys.end()) return Answer(bhttp::status::not_found, "");
      json::array answer{json::object{{"Key", key}, {"Value", base64::Encode(it->second)}, {"ModifyIndex", 9}}};
      return Answer(bhttp::status::ok, json::serialize(answer));
    }
    if (cas0 && keys.contains(key)) return Answer(bhttp::status::ok, "false");
    keys[key] = request.body();
    return Answer(bhttp::status::ok, "true");
  }
};

TEST(ConsulClientTest, GetCreateAndPutAgainstAFakeAgent) {
  FakeConsul consul;
  FakeHttpServer server([&consul](const Request& r) { return consul.Handle(r); });
  auto config = ParseConsulConfig(R"({"address": "127.0.0.1:)" + server.port() +
                                  R"(", "token": "t0k", "datacenter": "dc1"})");
  ASSERT_TRUE(config.ok());
  auto client = MakeConsulClient(*config, std::chrono::seconds(5));
  const std::string key = LeaderKey("consul-kv", "rqlite");

  auto absent = client->Get(key);
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());
  EXPECT_EQ(consul.last_target, "/v1/kv/rqlite/rqlite/leader?dc=dc1");

  EXPECT_TRUE(*client->CreateIfAbsent(key, "first"));
  EXPECT_FALSE(*client->CreateIfAbsent(key, "second"));
  EXPECT_EQ(client->Get(key)->value(), "first");
  ASSERT_TRUE(client->Put(key, "third").ok());
  EXPECT_EQ(client->Get(key)->value(), "third");
}

TEST(ConsulClientTest, RefusedTokenIsAnError) {
  FakeConsul consul;
  FakeHttpServer server([&consul](const Request& r) { return consul.Handle(r); });
  auto config = ParseConsulConfig(R"({"address": "127.0.0.1:)" + server.port() + R"(", "token": "wrong"})");
  auto client = MakeConsulClient(*config, std::chrono::seconds(5));
  auto answer = client->Get("k");
  ASSERT_FALSE(answer.ok());
  EXPECT_NE(answer.status().message().find("403"), std::string::npos);
  EXPECT_FALSE(client->Put("k", "v").ok());
}

// An etcd v3 JSON gateway with real create_revision == 0 transactions and
// token authentication.
struct FakeEtcd {
  std::mutex mutex;
  std::map<std::string, std::string> keys;  // base64 key -> base64 value
  int authentications = 0;
  bool expire_token_once = false;

  Response Handle(const Request& request) {
    std::lock_guard lock(mutex);
    json::object body = json::parse(request.body()).as_object();
    if (request.target() == "/v3/auth/authenticate") {
      ++authentications;
      if (body.at("name") != "me" || body.at("password") != "pw") {
        return Answer(bhttp::status::bad_request, R"({"error":"authentication failed"})");
      }
      return Answer(bhttp::status::ok, R"({"header":{},"token":"tok)" + std::to_string(authentications) + "\"}");
    }
    if (expire_token_once) {
      expire_token_once = false;
      return Answer(bhttp::status::unauthorized, R"({"error":"invalid auth token","code":16})");
    }
    if (request[bhttp::field::authorization] != "tok" + std::to_string(authentications)) {
      return Answer(bhttp::status::unauthorized, R"({"error":"user name is empty","code":16})");
    }
    if (request.target() == "/v3/kv/range") {
      auto it = keys.find(std::string(body.at("key").as_string()));
      if (it == keys.end()) return Answer(bhttp::status::ok, R"({"header":{"revision":"1"}})");
      json::object kv{{"key", it->first}, {"value", it->second}, {"create_revision", "2"}};
      return Answer(bhttp::status::ok, json::serialize(json::object{{"kvs", json::array{kv}}, {"count", "1"}}));
    }
    if (request.target() == "/v3/kv/put") {
      keys[std::string(body.at("key").as_string())] = body.at("value").as_string();
      return Answer(bhttp::status::ok, R"({"header":{"revision":"3"}})");
    }
    if (request.target() == "/v3/kv/txn") {
      const json::object& compare = body.at("compare").as_array()[0].as_object();
      EXPECT_EQ(compare.at("target"), "CREATE");
      EXPECT_EQ(compare.at("create_revision"), "0");
      std::string key(compare.at("key").as_string());
      if (keys.contains(key)) return Answer(bhttp::status::ok, R"({"header":{}})");
      const json::object& put = body.at("success").as_array()[0].at("request_put").as_object();
      keys[std::string(put.at("key").as_string())] = put.at("value").as_string();
      return Answer(bhttp::status::ok, R"({"header":{},"succeeded":true})");
    }
    return Answer(bhttp::status::not_found, R"({"error":"Not Found"})");
  }
};

TEST(EtcdClientTest, GetCreateAndPutWithTokenAuthentication) {
  FakeEtcd etcd;
  FakeHttpServer server([&etcd](const Request& r) { return etcd.Handle(r); });
  auto config = ParseEtcdConfig(R"({"endpoints": ["http://127.0.0.1:)" + server.port() +
                                R"("], "username": "me", "password": "pw"})");
  ASSERT_TRUE(config.ok());
  auto client = MakeEtcdClient(*config, std::chrono::seconds(5));
  const std::string key = LeaderKey("etcd-kv", "rqlite");

  auto absent = client->Get(key);
  ASSERT_TRUE(absent.ok()) << absent.status().ToString();
  EXPECT_FALSE(absent->has_value());
  EXPECT_TRUE(*client->CreateIfAbsent(key, "first"));
  EXPECT_FALSE(*client->CreateIfAbsent(key, "second"));
  EXPECT_EQ(client->Get(key)->value(), "first");
  EXPECT_EQ(etcd.keys.begin()->first, base64::Encode("/rqlite/leader"));
  // An expired token is replaced once, transparently.
  etcd.expire_token_once = true;
  ASSERT_TRUE(client->Put(key, "third").ok());
  EXPECT_EQ(client->Get(key)->value(), "third");
  EXPECT_EQ(etcd.authentications, 2);
}

TEST(EtcdClientTest, ADeadEndpointFailsOverToTheNextOne) {
  FakeEtcd etcd;
  FakeHttpServer server([&etcd](const Request& r) { return etcd.Handle(r); });
  // Port 1 on loopback refuses connections.
  auto config = ParseEtcdConfig(R"({"endpoints": ["127.0.0.1:1", "127.0.0.1:)" + server.port() +
                                R"("], "username": "me", "password": "pw"})");
  auto client = MakeEtcdClient(*config, std::chrono::seconds(5));
  EXPECT_TRUE(*client->CreateIfAbsent("/k", "v"));
  EXPECT_EQ(client->Get("/k")->value(), "v");
}

TEST(EtcdClientTest, GarbageFromTheGatewayIsAnError) {
  FakeHttpServer server([](const Request&) { return Answer(bhttp::status::ok, "<html>proxy</html>"); });
  auto config = ParseEtcdConfig(R"({"endpoints": ["127.0.0.1:)" + server.port() + R"("]})");
  auto client = MakeEtcdClient(*config, std::chrono::seconds(5));
  EXPECT_FALSE(client->Get("/k").ok());
  EXPECT_FALSE(client->CreateIfAbsent("/k", "v").ok());
  EXPECT_FALSE(client->Put("/k", "v").ok());
}

TEST(KvClientTest, ASilentServerTimesOut) {
  FakeHttpServer server([](const Request&) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    return Answer(bhttp::status::ok, "true");
  });
  auto config = ParseConsulConfig(R"({"address": "127.0.0.1:)" + server.port() + R"("})");
  auto client = MakeConsulClient(*config, std::chrono::milliseconds(200));
  auto start = std::chrono::steady_clock::now();
  auto answer = client->Get("k");
  EXPECT_FALSE(answer.ok());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(1000));
}

TEST(KvClientTest, HttpsToAPlainServerIsAnErrorNotACrash) {
  FakeHttpServer server([](const Request&) { return Answer(bhttp::status::ok, "true"); });
  auto config = ParseConsulConfig(R"({"address": "https://127.0.0.1:)" + server.port() + R"("})");
  auto client = MakeConsulClient(*config, std::chrono::seconds(2));
  EXPECT_FALSE(client->Get("k").ok());
}

// ---- registration and reporting ----

// In memory, scripted: Get answers `value`; CreateIfAbsent can be made to
// lose the race to `rival`.
class ScriptedKv final : public KvClient {
 public:
  Result<std::optional<std::string>> Get(const std::string&) override {
    std::lock_guard lock(mutex);
    ++gets;
    if (gets == appear_after_gets) value = rival;
    return value;
  }
  Result<bool> CreateIfAbsent(const std::string&, const std::string& v) override {
    std::lock_guard lock(mutex);
    ++creates;
    if (lose_race) {
      value = rival;
      return false;
    }
    if (value) return false;
    value = v;
    return true;
  }
  Status Put(const std::string&, const std::string& v) override {
    std::lock_guard lock(mutex);
    ++puts;
    if (fail_puts > 0) {
      --fail_puts;
      return Status::Unavailable("consul down");
    }
    value = v;
    return Status::OK();
  }
  std::string name() const override { return "scripted"; }

  std::mutex mutex;
  std::optional<std::string> value;
  std::string rival = EncodeLeaderRecord({"n2", "http://h:2", "h:3"});
  bool lose_race = false;
  int appear_after_gets = -1;
  int gets = 0, creates = 0, puts = 0, fail_puts = 0;
};

KvDiscoveryOptions FastOptions() {
  KvDiscoveryOptions options;
  options.key = "/rqlite/leader";
  options.self = LeaderRecord{"n1", "http://h:1", "h:1"};
  options.register_interval = std::chrono::milliseconds(5);
  options.report_interval = std::chrono::milliseconds(1000);
  options.poll_interval = std::chrono::milliseconds(5);
  return options;
}

TEST(KvDiscoveryTest, FirstNodeClaimsTheEmptyKey) {
  auto kv = std::make_unique<ScriptedKv>();
  ScriptedKv* raw = kv.get();
  KvDiscovery discovery(std::move(kv), FastOptions());
  KvDiscovery::Registration registration = discovery.Register();
  EXPECT_TRUE(registration.claimed);
  EXPECT_EQ(*DecodeLeaderRecord(*raw->value), FastOptions().self);
}

TEST(KvDiscoveryTest, LosingTheRaceJoinsTheWinner) {
  auto kv = std::make_unique<ScriptedKv>();
  kv->lose_race = true;
  KvDiscovery discovery(std::move(kv), FastOptions());
  KvDiscovery::Registration registration = discovery.Register();
  EXPECT_FALSE(registration.claimed);
  EXPECT_EQ(registration.leader.addr, "h:3");
}

TEST(KvDiscoveryTest, NonVoterNeverClaimsAndWaitsForALeader) {
  auto kv = std::make_unique<ScriptedKv>();
  kv->appear_after_gets = 4;
  ScriptedKv* raw = kv.get();
  KvDiscoveryOptions options = FastOptions();
  options.may_claim = false;
  KvDiscovery discovery(std::move(kv), options);
  KvDiscovery::Registration registration = discovery.Register();
  EXPECT_FALSE(registration.claimed);
  EXPECT_EQ(registration.leader.id, "n2");
  EXPECT_EQ(raw->creates, 0);
  EXPECT_EQ(raw->gets, 4);
}

TEST(KvDiscoveryTest, AnUnreadableRecordIsNotJoinedButWaitedOut) {
  auto kv = std::make_unique<ScriptedKv>();
  kv->value = "not a record";
  kv->appear_after_gets = 3;
  ScriptedKv* raw = kv.get();
  KvDiscovery discovery(std::move(kv), FastOptions());
  EXPECT_EQ(discovery.Register().leader.id, "n2");
  EXPECT_EQ(raw->gets, 3);
}

TEST(KvDiscoveryTest, LeaderWritesOnGainingLeadershipAndThenEveryInterval) {
  auto kv = std::make_unique<ScriptedKv>();
  ScriptedKv* raw = kv.get();
  KvDiscovery discovery(std::move(kv), FastOptions());
  using std::chrono::milliseconds;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(discovery.ReportOnce(false, t0));
  EXPECT_TRUE(discovery.ReportOnce(true, t0));                      // gained leadership
  EXPECT_FALSE(discovery.ReportOnce(true, t0 + milliseconds(500)));  // nothing new
  EXPECT_TRUE(discovery.ReportOnce(true, t0 + milliseconds(1001)));  // refresh
  EXPECT_FALSE(discovery.ReportOnce(false, t0 + milliseconds(1100)));
  EXPECT_TRUE(discovery.ReportOnce(true, t0 + milliseconds(1200)));  // regained: at once
  EXPECT_EQ(raw->puts, 3);
  EXPECT_EQ(DecodeLeaderRecord(*raw->value)->id, "n1");
}

TEST(KvDiscoveryTest, AFailedWriteIsRetriedOnTheNextLook) {
  auto kv = std::make_unique<ScriptedKv>();
  kv->fail_puts = 2;
  ScriptedKv* raw = kv.get();
  KvDiscovery discovery(std::move(kv), FastOptions());
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_FALSE(discovery.ReportOnce(true, t0));
  EXPECT_FALSE(discovery.ReportOnce(true, t0 + std::chrono::milliseconds(5)));
  EXPECT_TRUE(discovery.ReportOnce(true, t0 + std::chrono::milliseconds(10)));
  EXPECT_EQ(raw->puts, 3);
}

TEST(KvDiscoveryTest, StatsNameTheModeAndTheLastContact) {
  KvDiscovery discovery(std::make_unique<ScriptedKv>(), FastOptions());
  json::object before = discovery.Stats().as_object();
  EXPECT_EQ(before.at("mode"), "scripted");
  EXPECT_EQ(before.at("key"), "/rqlite/leader");
  EXPECT_EQ(before.at("register_interval").to_number<int64_t>(), 5000000);
  EXPECT_EQ(before.at("last_contact"), "");
  discovery.Register();
  std::string contact(discovery.Stats().as_object().at("last_contact").as_string());
  EXPECT_EQ(contact.size(), 24u) << contact;  // 2026-01-02T03:04:05.678Z
  EXPECT_EQ(contact.back(), 'Z');
}

TEST(KvDiscoveryTest, ReporterThreadFollowsTheRole) {
  auto kv = std::make_unique<ScriptedKv>();
  ScriptedKv* raw = kv.get();
  KvDiscovery discovery(std::move(kv), FastOptions());
  std::atomic<bool> leader{false};
  discovery.StartReporting([&leader] { return leader.load(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  {
    std::lock_guard lock(raw->mutex);
    EXPECT_EQ(raw->puts, 0);
  }
  leader = true;
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(raw->mutex);
      if (raw->puts > 0) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  discovery.StopReporting();
  std::lock_guard lock(raw->mutex);
  EXPECT_EQ(raw->puts, 1);
}

}  // namespace
}  // namespace rq::disco
