#include "http/request_parser.h"

#include <gtest/gtest.h>

#include <random>

namespace rq::http {
namespace {

using command::Blob;
using command::Value;

std::vector<command::Parameter> ParamsOf(std::string_view body) {
  Result<command::Request> request = ParseJsonRequest(body);
  EXPECT_TRUE(request.ok()) << request.status().ToString();
  if (!request.ok() || request->statements.empty()) return {};
  return request->statements[0].parameters;
}

std::string ErrorOf(std::string_view body) {
  Result<command::Request> request = ParseJsonRequest(body);
  EXPECT_FALSE(request.ok());
  EXPECT_TRUE(request.status().IsInvalidArgument());
  return request.status().message();
}

TEST(RequestParserTest, PlainStringsBecomeStatements) {
  Result<command::Request> request = ParseJsonRequest(R"j(["CREATE TABLE t(x)", "INSERT INTO t VALUES(1)"])j");
  ASSERT_TRUE(request.ok());
  ASSERT_EQ(request->statements.size(), 2u);
  EXPECT_EQ(request->statements[0].sql, "CREATE TABLE t(x)");
  EXPECT_TRUE(request->statements[0].parameters.empty());
  EXPECT_EQ(request->statements[1].sql, "INSERT INTO t VALUES(1)");
}

TEST(RequestParserTest, MixedStringAndArrayFormsAreAccepted) {
  Result<command::Request> request = ParseJsonRequest(R"(["SELECT 1", ["SELECT ?", 2]])");
  ASSERT_TRUE(request.ok());
  ASSERT_EQ(request->statements.size(), 2u);
  EXPECT_EQ(request->statements[1].parameters.size(), 1u);
}

TEST(RequestParserTest, IntegersStayExactInt64) {
  const auto params = ParamsOf(R"([["q", 9223372036854775807, -9223372036854775808, 0]])");
  ASSERT_EQ(params.size(), 3u);
  EXPECT_EQ(params[0].value, Value(int64_t{INT64_MAX}));
  EXPECT_EQ(params[1].value, Value(int64_t{INT64_MIN}));
  EXPECT_EQ(params[2].value, Value(int64_t{0}));
  EXPECT_TRUE(params[0].name.empty());
}

TEST(RequestParserTest, IntegerOverflowBecomesDouble) {
  const auto params = ParamsOf(R"([["q", 9223372036854775808, 100000000000000000000000]])");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].value, Value(9223372036854775808.0));
  EXPECT_EQ(params[1].value, Value(1e23));
}

TEST(RequestParserTest, FloatsBoolsNullAndTextKeepTheirTypes) {
  const auto params = ParamsOf(R"([["q", 1.5, 2.0, 1e3, true, false, null, "fiona"]])");
  ASSERT_EQ(params.size(), 7u);
  EXPECT_EQ(params[0].value, Value(1.5));
  EXPECT_EQ(params[1].value, Value(2.0));
  EXPECT_EQ(params[2].value, Value(1000.0));
  EXPECT_EQ(params[3].value, Value(true));
  EXPECT_EQ(params[4].value, Value(false));
  EXPECT_EQ(params[5].value, Value(std::monostate{}));
  EXPECT_EQ(params[6].value, Value(std::string("fiona")));
}

TEST(RequestParserTest, HexLiteralStringsBecomeBlobs) {
  const auto params = ParamsOf(R"([["q", "x'DEADbeef'", "X'00'", "x''", "x'ABC'", "x'zz'", "y'00'"]])");
  ASSERT_EQ(params.size(), 6u);
  EXPECT_EQ(params[0].value, Value(Blob{"\xde\xad\xbe\xef"}));
  EXPECT_EQ(params[1].value, Value(Blob{std::string(1, '\0')}));
  EXPECT_EQ(params[2].value, Value(Blob{""}));
  // Odd digit counts, bad digits and other prefixes stay text.
  EXPECT_EQ(params[3].value, Value(std::string("x'ABC'")));
  EXPECT_EQ(params[4].value, Value(std::string("x'zz'")));
  EXPECT_EQ(params[5].value, Value(std::string("y'00'")));
}

TEST(RequestParserTest, ByteArraysBecomeBlobs) {
  const auto params = ParamsOf(R"([["q", [222, 173, 0, 255], []]])");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].value, Value(Blob{std::string("\xde\xad\x00\xff", 4)}));
  EXPECT_EQ(params[1].value, Value(Blob{""}));
}

TEST(RequestParserTest, ByteArraysOutOfRangeAreUnsupported) {
  EXPECT_EQ(ErrorOf(R"([["q", [256]]])"), "unsupported type");
  EXPECT_EQ(ErrorOf(R"([["q", [-1]]])"), "unsupported type");
  EXPECT_EQ(ErrorOf(R"([["q", [1.5]]])"), "unsupported type");
  EXPECT_EQ(ErrorOf(R"([["q", ["a"]]])"), "unsupported type");
}

TEST(RequestParserTest, ObjectGivesNamedParameters) {
  const auto params = ParamsOf(R"j([["INSERT INTO t VALUES(:name, :age)", {"name": "fiona", "age": 20}]])j");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "name");
  EXPECT_EQ(params[0].value, Value(std::string("fiona")));
  EXPECT_EQ(params[1].name, "age");
  EXPECT_EQ(params[1].value, Value(int64_t{20}));
}

TEST(RequestParserTest, ObjectsElsewhereAreUnsupported) {
  EXPECT_EQ(ErrorOf(R"([["q", 1, {"a": 1}]])"), "unsupported type");
  EXPECT_EQ(ErrorOf(R"([["q", {"a": {"b": 1}}]])"), "unsupported type");
}

TEST(RequestParserTest, ParseErrorsUseRqliteTexts) {
  EXPECT_EQ(ErrorOf(""), "invalid JSON body");
  EXPECT_EQ(ErrorOf("[\"a\""), "invalid JSON body");
  EXPECT_EQ(ErrorOf("[\"a\"] x"), "invalid JSON body");
  EXPECT_EQ(ErrorOf("{\"a\":1}"), "invalid request");
  EXPECT_EQ(ErrorOf("\"SELECT 1\""), "invalid request");
  EXPECT_EQ(ErrorOf("[1]"), "invalid request");
  EXPECT_EQ(ErrorOf("[[]]"), "invalid request");
  EXPECT_EQ(ErrorOf("[[1, 2]]"), "invalid request");
  EXPECT_EQ(ErrorOf("[null]"), "invalid request");
  EXPECT_EQ(ErrorOf("[]"), "no statements");
}

TEST(RequestParserTest, PlainBodyIsOneStatement) {
  Result<command::Request> request = ParsePlainRequest("INSERT INTO t VALUES(1); INSERT INTO t VALUES(2)");
  ASSERT_TRUE(request.ok());
  ASSERT_EQ(request->statements.size(), 1u);
  EXPECT_EQ(request->statements[0].sql, "INSERT INTO t VALUES(1); INSERT INTO t VALUES(2)");
  EXPECT_EQ(ParsePlainRequest("").status().message(), "no statements");
}

TEST(RequestParserTest, DeepNestingIsRefusedNotCrashing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(ErrorOf(deep), "invalid JSON body");
}

TEST(RequestParserFuzzTest, RandomInputsNeverCrash) {
  std::mt19937_64 random(20261123);
  const std::vector<std::string> seeds = {
      R"(pretty&associative&blob_array
[["SELECT ?", 1, 2.5, "x'00'", [1,2,3], null, true], "SELECT 1", ["q", {"a": "b"}]])",
      "freshness_strict&freshness=1s&timeout=1h2m\n[\"a\"]", "q=%zz&level=none\n[]"};
  for (int i = 0; i < 4000; i++) {
    std::string input = seeds[static_cast<size_t>(i) % seeds.size()];
    const int mutations = 1 + static_cast<int>(random() % 8);
    for (int m = 0; m < mutations && !input.empty(); m++) {
      const size_t at = random() % input.size();
      switch (random() % 3) {
        case 0: input[at] = static_cast<char>(random()); break;
        case 1: input.erase(at, 1 + random() % 4); break;
        default: input.insert(at, 1, static_cast<char>(random())); break;
      }
    }
    FuzzHttpRequestParsers(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  }
}

}  // namespace
}  // namespace rq::http
