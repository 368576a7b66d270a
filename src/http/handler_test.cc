#include "http/handler.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "http/fake_backend_test_util.h"
#include "metrics/prometheus.h"

namespace rq::http {
namespace {

using testing::FakeBackend;

class HandlerTest : public ::testing::Test {
 protected:
  HttpReply Send(std::string method, std::string target, std::string body = "", std::string content_type = "",
                 std::string authorization = "") {
    HttpRequest request{std::move(method), std::move(target), std::move(content_type), std::move(authorization),
                        std::move(body), ""};
    std::optional<HttpReply> reply;
    {
      Handler handler(config_, &backend_, &auth_);
      handler.Handle(std::move(request), [&](HttpReply r) { reply = std::move(r); });
    }  // the destructor waits for a call running on its own thread
    EXPECT_TRUE(reply.has_value());
    return reply.value_or(HttpReply{});
  }
  static std::string Header(const HttpReply& reply, std::string_view name) {
    const std::string* value = reply.FindHeader(name);
    return value ? *value : "<none>";
  }

  HandlerConfig config_{"v10.2.7", "", ""};
  FakeBackend backend_;
  AuthStore auth_;
};

TEST(ClassifyPathTest, PrefixAndExactRoutesAsRqlite) {
  EXPECT_EQ(ClassifyPath("/db/execute"), Endpoint::kExecute);
  EXPECT_EQ(ClassifyPath("/db/executeXYZ"), Endpoint::kExecute);  // prefix match
  EXPECT_EQ(ClassifyPath("/db/query/"), Endpoint::kQuery);
  EXPECT_EQ(ClassifyPath("/status/foo"), Endpoint::kStatus);
  EXPECT_EQ(ClassifyPath("/nodes"), Endpoint::kNodes);
  EXPECT_EQ(ClassifyPath("/readyz"), Endpoint::kReadyz);
  EXPECT_EQ(ClassifyPath("/boot"), Endpoint::kBoot);
  EXPECT_EQ(ClassifyPath("/boot/"), Endpoint::kNotFound);  // exact match
  EXPECT_EQ(ClassifyPath("/leader"), Endpoint::kLeader);
  EXPECT_EQ(ClassifyPath("/leaderx"), Endpoint::kNotFound);
  EXPECT_EQ(ClassifyPath("/debug/vars"), Endpoint::kDebugVars);
  EXPECT_EQ(ClassifyPath("/metrics"), Endpoint::kMetrics);
  EXPECT_EQ(ClassifyPath("/metrics/x"), Endpoint::kNotFound);
  EXPECT_EQ(ClassifyPath("/"), Endpoint::kRoot);
  EXPECT_EQ(ClassifyPath("/console"), Endpoint::kConsoleRedirect);
  EXPECT_EQ(ClassifyPath("/console/index.html"), Endpoint::kConsole);
  EXPECT_EQ(ClassifyPath("/nope"), Endpoint::kNotFound);
}

TEST_F(HandlerTest, EveryResponseCarriesVersionAndCorsHeaders) {
  const HttpReply reply = Send("GET", "/nope");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.body, "");
  EXPECT_EQ(Header(reply, "X-RQLITE-VERSION"), "v10.2.7");
  EXPECT_EQ(Header(reply, "Access-Control-Allow-Methods"), "OPTIONS, GET, POST");
  EXPECT_EQ(Header(reply, "Access-Control-Allow-Headers"), "Content-Type");
  EXPECT_EQ(Header(reply, "Access-Control-Allow-Origin"), "<none>");
  EXPECT_EQ(Header(reply, "WWW-Authenticate"), "<none>");
}

TEST_F(HandlerTest, AllowOriginIsSentWhenConfigured) {
  config_.allow_origin = "https://example.com";
  EXPECT_EQ(Header(Send("GET", "/status"), "Access-Control-Allow-Origin"), "https://example.com");
}

TEST_F(HandlerTest, AbsoluteFormTargetIsRoutedByItsPath) {
  backend_.status_json = boost::json::parse(R"({"a":{"b":1}})");
  EXPECT_EQ(Send("GET", "http://node1:4001/status?key=a").body, R"({"b":1})");
  EXPECT_EQ(Send("GET", "https://node1:4001").status, 302);
}

TEST_F(HandlerTest, RootAndConsoleRedirect) {
  HttpReply root = Send("GET", "/");
  EXPECT_EQ(root.status, 302);
  EXPECT_EQ(Header(root, "Location"), "/console/");
  HttpReply console = Send("GET", "/console");
  EXPECT_EQ(console.status, 301);
  EXPECT_EQ(Header(console, "Location"), "/console/");
  EXPECT_EQ(Send("GET", "/console/").status, 200);
}

TEST_F(HandlerTest, OptionsIsAlwaysOkWithEmptyBody) {
  ASSERT_TRUE(auth_.LoadJson(R"([{"username":"a","password":"b","perms":["all"]}])").ok());
  const HttpReply reply = Send("OPTIONS", "/db/execute?timeout=bad");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "");
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(HandlerTest, WrongMethodIs405) {
  EXPECT_EQ(Send("GET", "/db/execute").status, 405);
  EXPECT_EQ(Send("GET", "/db/request").status, 405);
  EXPECT_EQ(Send("POST", "/status").status, 405);
  EXPECT_EQ(Send("POST", "/remove", R"({"id":"2"})").status, 405);
  EXPECT_EQ(Send("GET", "/snapshot").status, 405);
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(HandlerTest, BadQueryParameterIs400BeforeRouting) {
  HttpReply reply = Send("GET", "/nope?timeout=5");
  EXPECT_EQ(reply.status, 400);
  EXPECT_EQ(reply.body, "timeout is not a valid duration\n");
  EXPECT_EQ(Header(reply, "Content-Type"), "text/plain; charset=utf-8");
  EXPECT_EQ(Send("GET", "/db/query?q=").body, "query parameter not set\n");
}

TEST_F(HandlerTest, ExecuteBuildsRequestAndRendersResult) {
  command::Response response;
  command::StatementResult result;
  result.last_insert_id = 1;
  result.rows_affected = 1;
  response.results.push_back(result);
  backend_.data_result = response;
  const HttpReply reply =
      Send("POST", "/db/execute?transaction&db_timeout=2s&noparse", R"j([["INSERT INTO t VALUES(?)", 5]])j");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"results":[{"last_insert_id":1,"rows_affected":1}]})");
  EXPECT_EQ(Header(reply, "Content-Type"), "application/json; charset=utf-8");
  EXPECT_EQ(Header(reply, "X-RQLITE-SERVED-BY"), "localhost:4001");
  ASSERT_EQ(backend_.calls.size(), 1u);
  const auto& call = backend_.calls[0];
  EXPECT_EQ(call.method, "execute");
  EXPECT_TRUE(call.request.transaction);
  EXPECT_EQ(call.request.db_timeout_ns, 2'000'000'000);
  EXPECT_TRUE(call.options.noparse);
  ASSERT_EQ(call.request.statements.size(), 1u);
  EXPECT_EQ(call.request.statements[0].parameters[0].value, command::Value(int64_t{5}));
}

TEST_F(HandlerTest, ExecuteTextPlainIsOneStatement) {
  Send("POST", "/db/execute", "INSERT INTO t VALUES(1)", "text/plain; charset=utf-8");
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].request.statements[0].sql, "INSERT INTO t VALUES(1)");
}

TEST_F(HandlerTest, BodyErrorsAre400WithText) {
  EXPECT_EQ(Send("POST", "/db/execute", "not json").body, "invalid JSON body\n");
  EXPECT_EQ(Send("POST", "/db/execute", "[]").body, "no statements\n");
  EXPECT_EQ(Send("POST", "/db/request", "{}").body, "invalid request\n");
  EXPECT_EQ(Send("POST", "/db/request", "SELECT 1", "text/plain").status, 400);  // JSON only
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(HandlerTest, QueryByGetUsesQ) {
  EXPECT_EQ(Send("GET", "/db/query").body, "bad query GET request\n");
  EXPECT_EQ(Send("GET", "/db/query?q=+").body, "bad query GET request\n");
  Send("GET", "/db/query?q=+SELECT+1+&level=strong&associative");
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method, "query");
  EXPECT_EQ(backend_.calls[0].request.statements[0].sql, "SELECT 1");
  EXPECT_EQ(backend_.calls[0].options.level, command::Consistency::kStrong);
  EXPECT_FALSE(backend_.calls[0].request.qualify_columns);
  Send("GET", "/db/query?q=SELECT+a+FROM+t&qualify_columns");
  ASSERT_EQ(backend_.calls.size(), 2u);
  EXPECT_TRUE(backend_.calls[1].request.qualify_columns);
}

TEST_F(HandlerTest, RequestLevelErrorIs200) {
  command::Response response;
  response.error = "stale read";
  backend_.data_result = response;
  const HttpReply reply = Send("POST", "/db/query?level=none&freshness=1s", R"(["SELECT 1"])");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"results":[],"error":"stale read"})");
}

TEST_F(HandlerTest, AssociativeRequestGivesRowsNullForWrites) {
  command::Response response;
  response.results.push_back(command::StatementResult{});
  response.results[0].rows_affected = 1;
  backend_.data_result = response;
  EXPECT_EQ(Send("POST", "/db/request?associative", R"(["INSERT"])").body,
            R"({"results":[{"rows_affected":1,"rows":null}]})");
  EXPECT_EQ(Send("POST", "/db/query?associative", R"(["SELECT"])").body, R"({"results":[{"rows_affected":1}]})");
}

TEST_F(HandlerTest, NotLeaderWithRedirectIs301ToLeaderWithSamePathAndQuery) {
  backend_.data_result = Status::NotLeader("not leader");
  backend_.leader_url = "http://10.0.0.2:4001";
  const HttpReply reply = Send("POST", "/db/execute?redirect&pretty", R"(["X"])");
  EXPECT_EQ(reply.status, 301);
  EXPECT_EQ(Header(reply, "Location"), "http://10.0.0.2:4001/db/execute?redirect&pretty");
  backend_.leader_url = "";
  const HttpReply unknown = Send("POST", "/db/execute?redirect", R"(["X"])");
  EXPECT_EQ(unknown.status, 503);
  EXPECT_EQ(unknown.body, "leader not found\n");
}

TEST_F(HandlerTest, BackendStatusesMapToHttp) {
  backend_.data_result = Status::Unavailable("leader not found");
  EXPECT_EQ(Send("POST", "/db/execute", R"(["X"])").status, 503);
  backend_.data_result = Status::InvalidArgument("bad thing");
  const HttpReply invalid = Send("POST", "/db/execute", R"(["X"])");
  EXPECT_EQ(invalid.status, 400);
  EXPECT_EQ(invalid.body, "bad thing\n");
  backend_.data_result = Status::Internal("boom");
  EXPECT_EQ(Send("POST", "/db/execute", R"(["X"])").status, 500);
}

TEST_F(HandlerTest, QueuedWriteReturnsSequenceNumber) {
  const HttpReply reply = Send("POST", "/db/execute?queue", R"(["INSERT"])");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, R"({"results":[],"sequence_number":7})");
  ASSERT_EQ(backend_.calls.size(), 1u);
  EXPECT_EQ(backend_.calls[0].method, "enqueue");
}

TEST_F(HandlerTest, QueuedWriteWaitTimeoutIs408) {
  backend_.wait_result = Status::Timeout("");
  const HttpReply reply = Send("POST", "/db/execute?queue&wait&timeout=1ms", R"(["INSERT"])");
  EXPECT_EQ(reply.status, 408);
  EXPECT_EQ(reply.body, "queue wait timeout\n");
}

TEST_F(HandlerTest, QueuedWriteWithoutLeaderIs503) {
  backend_.queue_result = Status::Unavailable("leader not found");
  EXPECT_EQ(Send("POST", "/db/execute?queue", R"(["INSERT"])").status, 503);
}

TEST_F(HandlerTest, EmptyBodyWithQueueWaitIsAFlushBarrier) {
  const HttpReply reply = Send("POST", "/db/execute?queue&wait", "");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(backend_.CallCount(), 0u);
}

TEST_F(HandlerTest, SqlPreviewRendersRewrites) {
  backend_.rewrites = {{"SELECT random()", "SELECT 5", ""}};
  EXPECT_EQ(Send("GET", "/db/sql?q=SELECT+random()").body,
            R"j({"results":[{"original":"SELECT random()","rewritten":"SELECT 5"}]})j");
}

TEST_F(HandlerTest, BackupStreamsFileWithOptions) {
  const HttpReply reply = Send("GET", "/db/backup?fmt=SQL&tables=a,b&noleader&vacuum");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(Header(reply, "Content-Type"), "application/sql");
  EXPECT_EQ(backend_.last_backup.format, BackupOptions::Format::kSql);
  EXPECT_EQ(backend_.last_backup.tables, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(backend_.last_backup.noleader);
  EXPECT_TRUE(backend_.last_backup.vacuum);
  ASSERT_FALSE(reply.file_path.empty());
  EXPECT_TRUE(std::filesystem::exists(reply.file_path));
  std::filesystem::remove(reply.file_path);
}

TEST_F(HandlerTest, CompressedBackupIsGzip) {
  const HttpReply reply = Send("GET", "/db/backup?compress");
  ASSERT_EQ(reply.status, 200);
  std::ifstream file(reply.file_path, std::ios::binary);
  char magic[2] = {};
  file.read(magic, 2);
  EXPECT_EQ(static_cast<unsigned char>(magic[0]), 0x1f);
  EXPECT_EQ(static_cast<unsigned char>(magic[1]), 0x8b);
  std::filesystem::remove(reply.file_path);
}

TEST_F(HandlerTest, LoadChoosesDatabaseOrDumpByMagic) {
  Send("POST", "/db/load", std::string("SQLite format 3\0rest", 20));
  EXPECT_EQ(backend_.last_load.substr(0, 3), "db:");
  const HttpReply reply = Send("POST", "/db/load", "CREATE TABLE t(x);");
  EXPECT_EQ(backend_.last_load, "sql:CREATE TABLE t(x);");
  EXPECT_EQ(reply.body, R"({"results":[]})");
}

TEST_F(HandlerTest, RemoveNeedsExactlyAnIdObject) {
  const HttpReply ok = Send("DELETE", "/remove", R"({"id":"node2"})");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "");
  EXPECT_EQ(backend_.last_remove_id, "node2");
  EXPECT_EQ(Send("DELETE", "/remove", R"({"id":"n","x":1})").status, 400);
  EXPECT_EQ(Send("DELETE", "/remove", R"({"id":2})").status, 400);
  EXPECT_EQ(Send("DELETE", "/remove", "junk").status, 400);
}

TEST_F(HandlerTest, LeaderGetAndStepDown) {
  EXPECT_EQ(Send("GET", "/leader").status, 503);
  backend_.leader = NodeInfo{"1", "http://a:4001", "a:4002", "", true, true, true, 0, ""};
  EXPECT_EQ(Send("GET", "/leader").body,
            R"({"id":"1","api_addr":"http://a:4001","addr":"a:4002","voter":true,"reachable":true,"leader":true})");
  EXPECT_EQ(Send("POST", "/leader", R"({"id":"3"})").status, 200);
  EXPECT_EQ(backend_.last_stepdown_id, "3");
}

TEST_F(HandlerTest, SnapshotIs200Or204) {
  EXPECT_EQ(Send("POST", "/snapshot?trailing_logs=5").status, 200);
  backend_.snapshot_taken = false;
  EXPECT_EQ(Send("POST", "/snapshot").status, 204);
}

TEST_F(HandlerTest, ReadyzListsChecksAndFailsWith503) {
  const HttpReply ok = Send("GET", "/readyz");
  EXPECT_EQ(ok.status, 200);
  EXPECT_EQ(ok.body, "[+]node ok\n[+]leader ok\n[+]store ok");
  backend_.ready_checks[1] = {"leader", false, "leader does not exist"};
  const HttpReply bad = Send("GET", "/readyz");
  EXPECT_EQ(bad.status, 503);
  EXPECT_EQ(bad.body, "[+]node ok\n[+]leader does not exist");
  EXPECT_EQ(Send("GET", "/readyz?noleader").body, "[+]node ok");
}

TEST_F(HandlerTest, StatusKeySelectsDottedPath) {
  backend_.status_json = boost::json::parse(R"({"store":{"raft":{"term":2}},"http":{"auth":"disabled"}})");
  EXPECT_EQ(Send("GET", "/status").body, R"({"http":{"auth":"disabled"},"store":{"raft":{"term":2}}})");
  EXPECT_EQ(Send("GET", "/status?key=store.raft").body, R"({"term":2})");
  EXPECT_EQ(Send("GET", "/status?key=store.nope").body, "{}");
  EXPECT_EQ(Send("GET", "/debug/vars?key=http").body, R"({"auth":"disabled"})");
}

TEST_F(HandlerTest, NodesLegacyAndVersion2) {
  backend_.nodes = {{"b", "", "", "", true, true, false, 0, ""}, {"a", "", "", "", true, true, true, 0, ""}};
  EXPECT_EQ(Send("GET", "/nodes").body.substr(0, 6), R"({"a":{)");
  EXPECT_EQ(Send("GET", "/nodes?ver=2").body.substr(0, 19), R"({"nodes":[{"id":"a")");
}

TEST_F(HandlerTest, PrettyIndentsWithFourSpaces) {
  EXPECT_EQ(Send("POST", "/db/execute?pretty", R"(["X"])").body, "{\n    \"results\": []\n}");
}

TEST_F(HandlerTest, AuthRequiresPermissionPerEndpoint) {
  ASSERT_TRUE(auth_.LoadJson(R"([{"username":"q","password":"p","perms":["query"]},
                                 {"username":"*","perms":["status"]}])").ok());
  const std::string query_user = "Basic cTpw";  // q:p
  HttpReply anonymous = Send("POST", "/db/query", R"(["SELECT 1"])");
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_EQ(anonymous.body, "");
  EXPECT_EQ(Header(anonymous, "WWW-Authenticate"), "Basic realm=\"rqlite\"");
  EXPECT_EQ(Header(anonymous, "Access-Control-Allow-Headers"), "Content-Type, Authorization");
  EXPECT_EQ(Header(anonymous, "Access-Control-Allow-Credentials"), "true");
  EXPECT_EQ(Send("POST", "/db/query", R"(["SELECT 1"])", "", query_user).status, 200);
  EXPECT_EQ(Send("POST", "/db/execute", R"(["X"])", "", query_user).status, 401);
  EXPECT_EQ(Send("POST", "/db/request", R"(["X"])", "", query_user).status, 401);  // needs execute too
  EXPECT_EQ(Send("GET", "/status").status, 200);  // "*" has status
  EXPECT_EQ(Send("GET", "/readyz").status, 401);
  EXPECT_EQ(backend_.CallCount(), 1u);
}

TEST_F(HandlerTest, MetricsServesTheBackendsTextBehindTheStatusPermission) {
  backend_.prometheus_text = "rqlite_raft_term 2\n";
  const HttpReply reply = Send("GET", "/metrics");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "rqlite_raft_term 2\n");
  EXPECT_EQ(Header(reply, "Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(Send("POST", "/metrics").status, 405);
  ASSERT_TRUE(auth_.LoadJson(R"([{"username":"q","password":"p","perms":["query"]}])").ok());
  EXPECT_EQ(Send("GET", "/metrics").status, 401);
  EXPECT_EQ(Send("GET", "/metrics", "", "", "Basic cTpw").status, 401);  // query is not status
}

TEST_F(HandlerTest, EveryAnswerIsCountedByEndpointAndCode) {
  const auto count = [](std::string_view series) {
    metrics::TextWriter writer;
    metrics::Exposition::Default().WriteTo(writer);
    const std::string& text = writer.text();
    const size_t at = text.find(std::string(series) + " ");
    return at == std::string::npos ? 0.0 : std::stod(text.substr(at + series.size() + 1));
  };
  const double ok = count(R"(rqlite_http_requests_total{endpoint="/db/query",code="200"})");
  const double missing = count(R"(rqlite_http_requests_total{endpoint="other",code="404"})");
  const double latencies = count(R"(rqlite_http_request_duration_seconds_count{endpoint="/db/query"})");
  Send("POST", "/db/query", R"(["SELECT 1"])");
  Send("POST", "/db/query", R"(["SELECT 1"])");
  Send("GET", "/nope");
  EXPECT_EQ(count(R"(rqlite_http_requests_total{endpoint="/db/query",code="200"})") - ok, 2);
  EXPECT_EQ(count(R"(rqlite_http_requests_total{endpoint="other",code="404"})") - missing, 1);
  EXPECT_EQ(count(R"(rqlite_http_request_duration_seconds_count{endpoint="/db/query"})") - latencies, 2);
}

TEST_F(HandlerTest, ConsoleFilesAreServedFromTheBinary) {
  const HttpReply page = Send("GET", "/console/");
  EXPECT_EQ(page.status, 200);
  EXPECT_EQ(Header(page, "Content-Type"), "text/html; charset=utf-8");
  EXPECT_NE(page.body.find("<script src=\"console.js\""), std::string::npos);
  EXPECT_NE(Header(page, "Content-Security-Policy").find("default-src 'self'"), std::string::npos);
  EXPECT_EQ(Send("GET", "/console/index.html").body, page.body);
  const HttpReply script = Send("GET", "/console/console.js");
  EXPECT_EQ(script.status, 200);
  EXPECT_EQ(Header(script, "Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_NE(script.body.find("askForCredentials"), std::string::npos);
  EXPECT_EQ(Header(Send("GET", "/console/console.css"), "Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(Send("GET", "/console/../status").status, 404);
  EXPECT_EQ(Send("GET", "/console/nope.js").status, 404);
  EXPECT_EQ(Send("HEAD", "/console/").status, 200);
}

}  // namespace
}  // namespace rq::http
