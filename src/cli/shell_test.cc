#include "cli/shell.h"

#include <gtest/gtest.h>

#include <deque>
#include <fstream>
#include <sstream>

namespace rq::cli {
namespace {

using client::Method;
using client::Request;
using client::Response;

// Answers requests from a queue of canned responses and records them.
class FakeApi : public client::Api {
 public:
  Result<Response> Send(const Request& request) override {
    requests.push_back(request);
    if (request.progress) {
      request.progress(1024, 2048);
      request.progress(2048, 2048);
    }
    if (answers.empty()) return Status::Unavailable("cannot reach rqlited at http://fake:4001");
    Result<Response> answer = answers.front();
    answers.pop_front();
    return answer;
  }
  std::string current_host() const override { return host; }
  std::string current_url() const override { return "http://" + host; }

  void Reply(int status, std::string body, std::string reason = "OK") {
    Response response;
    response.status = status;
    response.reason = std::move(reason);
    response.body = std::move(body);
    answers.push_back(response);
  }

  std::vector<Request> requests;
  std::deque<Result<Response>> answers;
  std::string host = "fake:4001";
};

class ShellTest : public ::testing::Test {
 protected:
  FakeApi api;
  std::ostringstream out;
  std::ostringstream err;
  Shell shell{api, out, err};
};

TEST_F(ShellTest, StatementIsSentToRequestEndpointAsJsonArray) {
  api.Reply(200, R"({"results":[{}]})");
  EXPECT_EQ(shell.FeedLine("CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"),
            Shell::LineResult::kDone);
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(api.requests[0].method, Method::kPost);
  EXPECT_EQ(api.requests[0].target, "db/request");
  EXPECT_EQ(api.requests[0].body, R"j(["CREATE TABLE foo (id INTEGER NOT NULL PRIMARY KEY, name TEXT)"])j");
  EXPECT_EQ(out.str(), "0 row affected\n");
  EXPECT_FALSE(shell.failed());
}

TEST_F(ShellTest, RowCountUsesPluralOnlyAboveOne) {
  api.Reply(200, R"({"results":[{"last_insert_id":1,"rows_affected":1}]})");
  api.Reply(200, R"({"results":[{"last_insert_id":3,"rows_affected":2}]})");
  shell.FeedLine("INSERT INTO foo(name) VALUES(\"fiona\")");
  shell.FeedLine("UPDATE foo SET name = 'x'");
  EXPECT_EQ(out.str(), "1 row affected\n2 rows affected\n");
}

TEST_F(ShellTest, QueryResultPrintsGrid) {
  api.Reply(200, R"({"results":[{"columns":["id","name"],"types":["integer","text"],"values":[[1,"fiona"]]}]})");
  shell.FeedLine("SELECT * FROM foo");
  EXPECT_EQ(out.str(),
            "+----+-------+\n| id | name  |\n+----+-------+\n| 1  | fiona |\n+----+-------+\n");
}

TEST_F(ShellTest, TimerAddsTimingsParameterAndTimes) {
  shell.FeedLine(".timer on");
  api.Reply(200, R"({"results":[{"rows_affected":1,"time":0.5}],"time":0.6})");
  api.Reply(200, R"({"results":[{"columns":["a"],"types":[""],"values":[[1]],"time":0.25}]})");
  shell.FeedLine("DELETE FROM foo");
  shell.FeedLine("SELECT 1 AS a");
  EXPECT_EQ(api.requests[0].target, "db/request?timings");
  EXPECT_EQ(out.str(),
            "1 row affected (0.500000 sec)\n"
            "+---+\n| a |\n+---+\n| 1 |\n+---+\n"
            "Run Time: 0.250000 seconds\n");
}

TEST_F(ShellTest, SqlErrorPrintsErrorAndMarksFailure) {
  api.Reply(200, R"({"results":[{"error":"no such table: bar"}]})");
  shell.FeedLine("SELECT * FROM bar");
  EXPECT_EQ(err.str(), "Error: no such table: bar\n");
  EXPECT_TRUE(shell.failed());
}

TEST_F(ShellTest, RequestLevelErrorPrintsErr) {
  api.Reply(200, R"({"results":[],"error":"disallowed pragma"})");
  shell.FeedLine("PRAGMA journal_mode=DELETE");
  EXPECT_EQ(err.str(), "ERR! disallowed pragma\n");
  EXPECT_TRUE(shell.failed());
}

TEST_F(ShellTest, ServerErrorAndNonJsonAreReportedClearly) {
  api.Reply(503, "leader not found\n", "Service Unavailable");
  api.Reply(200, "<html>proxy error</html>");
  shell.FeedLine("SELECT 1");
  shell.FeedLine("SELECT 2");
  EXPECT_EQ(err.str(),
            "ERR! server responded with 503 Service Unavailable: leader not found\n"
            "ERR! unexpected response from server (not JSON): <html>proxy error</html>\n");
}

TEST_F(ShellTest, UnreachableServerIsAnError) {
  shell.FeedLine("SELECT 1");
  EXPECT_EQ(err.str(), "ERR! cannot reach rqlited at http://fake:4001\n");
  EXPECT_TRUE(shell.failed());
}

TEST_F(ShellTest, MultiLineStatementIsBufferedUntilComplete) {
  EXPECT_EQ(shell.FeedLine("CREATE TABLE bar ("), Shell::LineResult::kNeedMore);
  EXPECT_EQ(shell.Prompt(), "      ...> ");
  EXPECT_EQ(shell.FeedLine("  id INTEGER"), Shell::LineResult::kNeedMore);
  EXPECT_TRUE(api.requests.empty());
  api.Reply(200, R"({"results":[{}]})");
  EXPECT_EQ(shell.FeedLine(")"), Shell::LineResult::kDone);
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(api.requests[0].body, R"j(["CREATE TABLE bar (\n  id INTEGER\n)"])j");
  EXPECT_EQ(shell.Prompt(), "fake:4001> ");
}

TEST_F(ShellTest, SeveralStatementsOnOneLineGoInOneRequest) {
  api.Reply(200, R"({"results":[{"rows_affected":1},{"rows_affected":1}]})");
  shell.FeedLine("INSERT INTO foo VALUES(1); INSERT INTO foo VALUES(2);");
  EXPECT_EQ(api.requests[0].body, R"(["INSERT INTO foo VALUES(1);","INSERT INTO foo VALUES(2);"])");
  EXPECT_EQ(out.str(), "1 row affected\n1 row affected\n");
}

TEST_F(ShellTest, QuitSpellingsQuitWithoutRequests) {
  EXPECT_EQ(shell.FeedLine(".exit"), Shell::LineResult::kQuit);
  EXPECT_EQ(shell.FeedLine("QUIT"), Shell::LineResult::kQuit);
  EXPECT_TRUE(api.requests.empty());
}

TEST_F(ShellTest, DotCommandsAreCaseInsensitive) {
  api.Reply(200, R"({"results":[{"columns":["name"],"types":["text"],"values":[["foo"]]}]})");
  shell.FeedLine(".TABLES");
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(api.requests[0].target, "db/query?level=weak");
  EXPECT_NE(api.requests[0].body.find("sqlite_master"), std::string::npos);
  EXPECT_EQ(out.str(), "+------+\n| name |\n+------+\n| foo  |\n+------+\n");
}

TEST_F(ShellTest, ConsistencyIsShownSetAndSentWithTables) {
  shell.FeedLine(".consistency");
  shell.FeedLine(".consistency strong");
  shell.FeedLine(".consistency bogus");
  api.Reply(200, R"({"results":[{"columns":["name"],"types":["text"]}]})");
  shell.FeedLine(".tables");
  EXPECT_EQ(api.requests.back().target, "db/query?level=strong");
  EXPECT_EQ(out.str(), "weak\n+------+\n| name |\n+------+\n");
  EXPECT_EQ(err.str(), "ERR! invalid consistency 'bogus'. Use 'none', 'weak', 'linearizable', or 'strong'\n");
}

TEST_F(ShellTest, ToggleRejectsAnythingButOnOff) {
  shell.FeedLine(".timer maybe");
  EXPECT_EQ(err.str(), "ERR! invalid option 'maybe'. Use 'on' or 'off' (default)\n");
}

TEST_F(ShellTest, ModeCsvChangesQueryOutput) {
  shell.FeedLine(".mode csv");
  api.Reply(200, R"({"results":[{"columns":["id","name"],"types":["integer","text"],"values":[[1,"fiona"]]}]})");
  shell.FeedLine("SELECT * FROM foo");
  EXPECT_EQ(out.str(), "id,name\n1,fiona\n");
}

TEST_F(ShellTest, ForceWritesUsesExecuteEndpoint) {
  shell.FeedLine(".forcewrites on");
  api.Reply(200, R"({"results":[{"rows_affected":1}]})");
  shell.FeedLine("INSERT INTO foo VALUES(1)");
  EXPECT_EQ(api.requests[0].target, "db/execute");
}

TEST_F(ShellTest, StatusPrintsYamlLikeTreeAndKeyFilters) {
  api.Reply(200, R"({"build":{"version":"v10"},"store":{"ready":true}})");
  api.Reply(200, R"({"build":{"version":"v10"},"store":{"ready":true}})");
  shell.FeedLine(".status");
  shell.FeedLine(".status store");
  EXPECT_EQ(api.requests[0].target, "status");
  EXPECT_EQ(out.str(), "build:\n  version: v10\nstore:\n  ready: true\nstore:\n  ready: true\n");
}

TEST_F(ShellTest, ReadyPrintsReadyOrNotReady) {
  api.Reply(200, "[+]node ok\n");
  api.Reply(503, "[+]node ok\n[+]leader does not exist\n", "Service Unavailable");
  shell.FeedLine(".ready");
  shell.FeedLine(".ready");
  EXPECT_EQ(out.str(), "ready\nnot ready\n");
}

TEST_F(ShellTest, RemoveSendsDeleteWithNodeId) {
  api.Reply(200, "");
  shell.FeedLine(".remove node2");
  ASSERT_EQ(api.requests.size(), 1u);
  EXPECT_EQ(api.requests[0].method, Method::kDelete);
  EXPECT_EQ(api.requests[0].target, "remove");
  EXPECT_EQ(api.requests[0].body, R"({"id":"node2"})");
  EXPECT_FALSE(shell.failed());
}

TEST_F(ShellTest, BackupStreamsToFileAndDumpPassesTables) {
  api.Reply(200, "");
  api.Reply(200, "");
  shell.FeedLine(".backup /tmp/x.db");
  shell.FeedLine(".dump /tmp/x.sql foo,bar");
  EXPECT_EQ(api.requests[0].target, "db/backup");
  EXPECT_EQ(api.requests[0].response_file, "/tmp/x.db");
  EXPECT_EQ(api.requests[1].target, "db/backup?fmt=sql&tables=foo,bar");
  EXPECT_EQ(out.str(), "Backup file written successfully\nSQL text file written successfully\n");
}

TEST_F(ShellTest, FileCommandsWithoutFileExplainWhatIsMissing) {
  shell.FeedLine(".backup");
  shell.FeedLine(".restore");
  EXPECT_EQ(err.str(),
            "ERR! please specify an output file for the backup\n"
            "ERR! please specify an input file to restore from\n");
  EXPECT_TRUE(api.requests.empty());
}

TEST_F(ShellTest, UnknownDotCommandIsReported) {
  shell.FeedLine(".frobnicate");
  EXPECT_EQ(err.str(), "ERR! unknown command \".frobnicate\". Enter \".help\" for usage hints.\n");
}

TEST_F(ShellTest, HelpListsCommandsSorted) {
  std::string help = Shell::HelpText();
  EXPECT_LT(help.find(".backup"), help.find(".dump"));
  EXPECT_LT(help.find(".dump"), help.find(".tables"));
  EXPECT_LT(help.find(".tables"), help.find(".timer"));
  EXPECT_EQ(help.rfind(".backup FILE", 0), 0u);
}

TEST_F(ShellTest, IncompleteInputAtEndIsAnError) {
  shell.FeedLine("SELECT (1");
  shell.FinishInput();
  EXPECT_TRUE(api.requests.empty());
  EXPECT_EQ(err.str(), "ERR! incomplete SQL at end of input: SELECT (1\n");
  EXPECT_TRUE(shell.failed());
}

TEST_F(ShellTest, ChangesOnShowsLastInsertId) {
  shell.FeedLine(".changes on");
  api.Reply(200, R"({"results":[{"last_insert_id":7,"rows_affected":1}]})");
  shell.FeedLine("INSERT INTO foo VALUES(7)");
  EXPECT_EQ(out.str(), "1 row affected\nlast insert ID: 7\n");
}

TEST_F(ShellTest, OutputRedirectsResultsToFileUntilReset) {
  std::string path = ::testing::TempDir() + "/shell_output_test.txt";
  shell.FeedLine(".output " + path);
  api.Reply(200, R"({"results":[{"rows_affected":1}]})");
  api.Reply(200, R"({"results":[{"rows_affected":2}]})");
  shell.FeedLine("DELETE FROM foo WHERE id = 1");
  shell.FeedLine(".output stdout");
  shell.FeedLine("DELETE FROM foo");
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  EXPECT_EQ(text.str(), "1 row affected\n");
  EXPECT_EQ(out.str(), "2 rows affected\n");
}

TEST_F(ShellTest, ReadRunsFileSkippingBlankAndCommentLines) {
  std::string path = ::testing::TempDir() + "/shell_read_test.sql";
  std::ofstream(path) << "-- setup\n\nCREATE TABLE r (x)\nINSERT INTO r\n  VALUES(1)\n";
  api.Reply(200, R"({"results":[{}]})");
  api.Reply(200, R"({"results":[{"rows_affected":1}]})");
  shell.FeedLine(".read " + path);
  ASSERT_EQ(api.requests.size(), 2u);
  EXPECT_EQ(api.requests[0].body, R"j(["CREATE TABLE r (x)"])j");
  EXPECT_EQ(api.requests[1].body, R"j(["INSERT INTO r\n  VALUES(1)"])j");
  EXPECT_EQ(out.str(), "0 row affected\n1 row affected\n");
  EXPECT_FALSE(shell.failed());
}

TEST_F(ShellTest, PromptFollowsFailoverToAnotherHost) {
  EXPECT_EQ(shell.Prompt(), "fake:4001> ");
  api.host = "other:4001";  // the client moved to an alternative
  api.Reply(200, R"({"results":[{"rows_affected":1}]})");
  shell.FeedLine("DELETE FROM foo");
  EXPECT_EQ(shell.Prompt(), "other:4001> ");
}

TEST_F(ShellTest, VersionComesFromHeaderElseStatusBody) {
  Response with_header;
  with_header.status = 200;
  with_header.version = "v10.1.0";
  with_header.body = R"({"build":{"version":"ignored"}})";
  api.answers.push_back(with_header);
  api.Reply(200, R"({"build":{"version":"v8.2.0"}})");
  api.Reply(200, R"({})");
  EXPECT_EQ(*shell.ServerVersion(), "v10.1.0");
  EXPECT_EQ(*shell.ServerVersion(), "v8.2.0");
  EXPECT_EQ(*shell.ServerVersion(), "unknown");
  EXPECT_EQ(api.requests[0].target, "status");
}

TEST(ShellProgressTest, BackupShowsBytesAndRateOnStderrWhenEnabled) {
  FakeApi api;
  std::ostringstream out;
  std::ostringstream err;
  Shell shell(api, out, err, ShellOptions{.show_progress = true});
  api.Reply(200, "");
  shell.FeedLine(".backup /tmp/never-written.db");
  EXPECT_NE(err.str().find("\rbackup: 2.0 KiB of 2.0 KiB"), std::string::npos) << err.str();
  EXPECT_EQ(err.str().back(), '\n');
  EXPECT_EQ(out.str(), "Backup file written successfully\n");
}

TEST(ShellProgressTest, NoProgressWhenDisabled) {
  FakeApi api;
  std::ostringstream out;
  std::ostringstream err;
  Shell shell(api, out, err);
  api.Reply(200, "");
  shell.FeedLine(".backup /tmp/never-written.db");
  EXPECT_EQ(err.str(), "");
}

}  // namespace
}  // namespace rq::cli
