#include "http/response_json.h"

#include <gtest/gtest.h>

namespace rq::http {
namespace {

using command::StatementResult;
using command::Value;

StatementResult Query(std::vector<std::string> columns, std::vector<std::string> types,
                      std::vector<std::vector<Value>> values) {
  StatementResult result;
  result.has_rows = true;
  result.columns = std::move(columns);
  result.types = std::move(types);
  result.values = std::move(values);
  return result;
}

StatementResult Write(int64_t last_insert_id, int64_t rows_affected) {
  StatementResult result;
  result.last_insert_id = last_insert_id;
  result.rows_affected = rows_affected;
  return result;
}

std::string Render(std::vector<StatementResult> results, RenderOptions options = {}) {
  command::Response response;
  response.results = std::move(results);
  return RenderResponse(response, options);
}

TEST(ResponseJsonTest, DdlResultIsEmptyObject) {
  EXPECT_EQ(Render({Write(0, 0)}), R"({"results":[{}]})");
}

TEST(ResponseJsonTest, InsertReportsIdAndCount) {
  EXPECT_EQ(Render({Write(1, 1)}), R"({"results":[{"last_insert_id":1,"rows_affected":1}]})");
  EXPECT_EQ(Render({Write(0, 3)}), R"({"results":[{"rows_affected":3}]})");
}

TEST(ResponseJsonTest, StatementErrorIsReportedAlone) {
  StatementResult failed;
  failed.error = "no such table: bar";
  EXPECT_EQ(Render({failed}), R"({"results":[{"error":"no such table: bar"}]})");
  failed.error = "near \"blah\": syntax error";
  EXPECT_EQ(Render({failed}), R"({"results":[{"error":"near \"blah\": syntax error"}]})");
}

TEST(ResponseJsonTest, QueryRowsInDefaultForm) {
  EXPECT_EQ(Render({Query({"id", "name"}, {"integer", "text"}, {{int64_t{1}, std::string("fiona")}})}),
            R"({"results":[{"columns":["id","name"],"types":["integer","text"],"values":[[1,"fiona"]]}]})");
}

TEST(ResponseJsonTest, QueryWithoutRowsHasNoValuesKey) {
  EXPECT_EQ(Render({Query({"id", "name"}, {"integer", "text"}, {})}),
            R"({"results":[{"columns":["id","name"],"types":["integer","text"]}]})");
}

TEST(ResponseJsonTest, ValuesOfEveryType) {
  EXPECT_EQ(Render({Query({"a", "b", "c", "d", "e", "f"}, {"", "", "", "", "", ""},
                          {{Value(), Value(3.0), Value(1.5), Value(true), Value(int64_t{-7}),
                            Value(std::string("x"))}})}),
            R"({"results":[{"columns":["a","b","c","d","e","f"],"types":["","","","","",""],)"
            R"("values":[[null,3,1.5,true,-7,"x"]]}]})");
}

TEST(ResponseJsonTest, BlobsAreBase64OrByteArrays) {
  const auto blob = Query({"id", "data"}, {"integer", "blob"}, {{int64_t{1}, command::Blob{"\xde\xad\xbe\xef"}}});
  EXPECT_EQ(Render({blob}),
            R"({"results":[{"columns":["id","data"],"types":["integer","blob"],"values":[[1,"3q2+7w=="]]}]})");
  RenderOptions options;
  options.blob_array = true;
  EXPECT_EQ(Render({blob}, options),
            R"({"results":[{"columns":["id","data"],"types":["integer","blob"],"values":[[1,[222,173,190,239]]]}]})");
}

TEST(ResponseJsonTest, TimingsAddTimePerResultAndTopLevel) {
  command::Response response;
  response.results.push_back(Write(1, 1));
  response.results[0].time_s = 0.00886;
  response.time_s = 0.0152;
  RenderOptions options;
  EXPECT_EQ(RenderResponse(response, options), R"({"results":[{"last_insert_id":1,"rows_affected":1}]})");
  options.timings = true;
  EXPECT_EQ(RenderResponse(response, options),
            R"({"results":[{"last_insert_id":1,"rows_affected":1,"time":0.00886}],"time":0.0152})");
}

TEST(ResponseJsonTest, RaftIndexOnlyWhenAskedAndNonZero) {
  command::Response response;
  response.results.push_back(Write(0, 0));
  RenderOptions options;
  options.raft_index = true;
  EXPECT_EQ(RenderResponse(response, options), R"({"results":[{}]})");
  response.raft_index = 6;
  EXPECT_EQ(RenderResponse(response, options), R"({"results":[{}],"raft_index":6})");
  options.raft_index = false;
  EXPECT_EQ(RenderResponse(response, options), R"({"results":[{}]})");
}

TEST(ResponseJsonTest, ReturningRowsThenWriteResult) {
  EXPECT_EQ(Render({Query({"id", "name"}, {"integer", "text"}, {{int64_t{2}, std::string("declan")}}), Write(3, 1)}),
            R"({"results":[{"columns":["id","name"],"types":["integer","text"],"values":[[2,"declan"]]},)"
            R"({"last_insert_id":3,"rows_affected":1}]})");
}

TEST(ResponseJsonTest, AssociativeFormUsesSortedMaps) {
  RenderOptions options;
  options.associative = true;
  EXPECT_EQ(Render({Query({"name", "id"}, {"text", "integer"}, {{std::string("siobhan"), int64_t{7}}})}, options),
            R"({"results":[{"types":{"id":"integer","name":"text"},"rows":[{"id":7,"name":"siobhan"}]}]})");
  EXPECT_EQ(Render({Query({"name"}, {"text"}, {})}, options), R"({"results":[{"types":{"name":"text"},"rows":[]}]})");
}

TEST(ResponseJsonTest, AssociativeWritesCarryRowsNullOnExecute) {
  RenderOptions options;
  options.associative = true;
  options.write_rows_null = true;
  EXPECT_EQ(Render({Write(99, 1)}, options), R"({"results":[{"last_insert_id":99,"rows_affected":1,"rows":null}]})");
  options.write_rows_null = false;
  EXPECT_EQ(Render({Write(99, 1)}, options), R"({"results":[{"last_insert_id":99,"rows_affected":1}]})");
}

TEST(ResponseJsonTest, RequestLevelErrorHasEmptyResults) {
  command::Response response;
  response.error = "disallowed pragma";
  EXPECT_EQ(RenderResponse(response, {}), R"({"results":[],"error":"disallowed pragma"})");
}

TEST(ResponseJsonTest, QueuedWriteShape) {
  EXPECT_EQ(RenderQueued(1653314298877648934ULL, false), R"({"results":[],"sequence_number":1653314298877648934})");
}

TEST(ResponseJsonTest, PrettyOutputIndentsFourSpaces) {
  RenderOptions options;
  options.pretty = true;
  EXPECT_EQ(Render({Write(1, 1)}, options),
            "{\n    \"results\": [\n        {\n            \"last_insert_id\": 1,\n"
            "            \"rows_affected\": 1\n        }\n    ]\n}");
}

TEST(ResponseJsonTest, RewritesShowRewrittenOrError) {
  EXPECT_EQ(RenderRewrites({{"SELECT random()", "SELECT 42", ""}, {"bad", "", "syntax error"}}, false),
            R"j({"results":[{"original":"SELECT random()","rewritten":"SELECT 42"},)j"
            R"({"original":"bad","error":"syntax error"}]})");
}

TEST(ResponseJsonTest, NodesLegacyMapAndVersion2SortedArray) {
  NodeInfo b{"2", "http://b:4001", "b:4002", "v10", true, true, false, 0.5, ""};
  NodeInfo a{"1", "http://a:4001", "a:4002", "", false, false, false, 0, "timeout"};
  EXPECT_EQ(RenderNodes({b, a}, false, false),
            R"({"1":{"id":"1","api_addr":"http://a:4001","addr":"a:4002","voter":false,"reachable":false,)"
            R"("leader":false,"error":"timeout"},"2":{"id":"2","api_addr":"http://b:4001","addr":"b:4002",)"
            R"("version":"v10","voter":true,"reachable":true,"leader":false,"time":0.5,"time_s":"500ms"}})");
  const std::string v2 = RenderNodes({b, a}, true, false);
  EXPECT_EQ(v2.substr(0, 20), R"({"nodes":[{"id":"1",)");
  EXPECT_NE(v2.find(R"(},{"id":"2")"), std::string::npos);
}

TEST(GoDurationStringTest, MatchesGoDurationString) {
  using namespace std::chrono_literals;
  EXPECT_EQ(FormatGoDuration(0ns), "0s");
  EXPECT_EQ(FormatGoDuration(999ns), "999ns");
  EXPECT_EQ(FormatGoDuration(1500ns), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(300ms), "300ms");
  EXPECT_EQ(FormatGoDuration(1500ms), "1.5s");
  EXPECT_EQ(FormatGoDuration(2min), "2m0s");
  EXPECT_EQ(FormatGoDuration(1h + 2min + 3s), "1h2m3s");
  EXPECT_EQ(FormatGoDuration(-2s), "-2s");
}

}  // namespace
}  // namespace rq::http
