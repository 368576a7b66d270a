#include "cli/format.h"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

namespace rq::cli {
namespace {

namespace json = boost::json;

ResultSet Parse(std::string_view columns, std::string_view values) {
  ResultSet set;
  json::value column_list = json::parse(columns);
  json::value row_list = json::parse(values);
  for (const auto& c : column_list.as_array()) set.columns.emplace_back(c.as_string());
  for (const auto& row : row_list.as_array()) {
    set.rows.emplace_back(row.as_array().begin(), row.as_array().end());
  }
  return set;
}

TEST(TablePrinterTest, GridMatchesRqliteShellExactly) {
  ResultSet set = Parse(R"(["id","name"])", R"([[1,"fiona"]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kColumn),
            "+----+-------+\n"
            "| id | name  |\n"
            "+----+-------+\n"
            "| 1  | fiona |\n"
            "+----+-------+\n");
}

TEST(TablePrinterTest, BorderAfterEveryRowAndWidestCellSetsWidth) {
  ResultSet set = Parse(R"(["id","name"])", R"([[1,"fiona"],[22,"declan"]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kColumn),
            "+----+--------+\n"
            "| id | name   |\n"
            "+----+--------+\n"
            "| 1  | fiona  |\n"
            "+----+--------+\n"
            "| 22 | declan |\n"
            "+----+--------+\n");
}

TEST(TablePrinterTest, NullPrintsAsNULL) {
  ResultSet set = Parse(R"(["a"])", R"([[null]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kColumn),
            "+------+\n| a    |\n+------+\n| NULL |\n+------+\n");
}

TEST(TablePrinterTest, NoRowsPrintsHeaderOnly) {
  ResultSet set = Parse(R"(["name"])", "[]");
  EXPECT_EQ(RenderResult(set, OutputMode::kColumn), "+------+\n| name |\n+------+\n");
}

TEST(TablePrinterTest, MultiByteCharactersCountOnce) {
  ResultSet set = Parse(R"(["n"])", R"([["héllo"]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kColumn),
            "+-------+\n| n     |\n+-------+\n| héllo |\n+-------+\n");
}

TEST(CellTextTest, ValuesPrintLikeGoPercentV) {
  EXPECT_EQ(CellText(json::parse("1.5")), "1.5");
  EXPECT_EQ(CellText(json::parse("1.0")), "1");
  EXPECT_EQ(CellText(json::parse("-7")), "-7");
  EXPECT_EQ(CellText(json::parse("true")), "true");
  EXPECT_EQ(CellText(json::parse("\"x y\"")), "x y");
  EXPECT_EQ(CellText(json::parse("[222,173,190,239]")), "[222 173 190 239]");
  EXPECT_EQ(CellText(json::parse(R"({"b":1,"a":"x"})")), "map[a:x b:1]");
}

TEST(CellTextTest, DoublesUseGoNotation) {
  EXPECT_EQ(FormatDouble(0.00886), "0.00886");
  EXPECT_EQ(FormatDouble(1e21), "1e+21");
  EXPECT_EQ(FormatDouble(1e-7), "1e-07");
  EXPECT_EQ(FormatDouble(123456789.0), "123456789");
}

TEST(CsvModeTest, HeaderThenRowsWithQuotingAndEmptyNull) {
  ResultSet set = Parse(R"(["id","name"])", R"([[1,"a,b"],[2,"say \"hi\""],[3,null]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kCsv),
            "id,name\n"
            "1,\"a,b\"\n"
            "2,\"say \"\"hi\"\"\"\n"
            "3,\n");
}

TEST(JsonModeTest, ArrayOfObjectsOnePerLine) {
  ResultSet set = Parse(R"(["id","name"])", R"([[1,"fiona"],[2,null]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kJson),
            "[{\"id\":1,\"name\":\"fiona\"},\n{\"id\":2,\"name\":null}]\n");
}

TEST(JsonModeTest, NoRowsIsEmptyArray) {
  EXPECT_EQ(RenderResult(Parse(R"(["id"])", "[]"), OutputMode::kJson), "[]\n");
}

TEST(LineModeTest, NamesRightAlignedAndRowsSeparatedByBlankLine) {
  ResultSet set = Parse(R"(["id","name"])", R"([[1,"fiona"],[2,null]])");
  EXPECT_EQ(RenderResult(set, OutputMode::kLine),
            "  id = 1\n"
            "name = fiona\n"
            "\n"
            "  id = 2\n"
            "name = NULL\n");
}

TEST(OutputModeTest, ParsesTheFourModesOnly) {
  EXPECT_EQ(ParseOutputMode("column"), OutputMode::kColumn);
  EXPECT_EQ(ParseOutputMode("csv"), OutputMode::kCsv);
  EXPECT_EQ(ParseOutputMode("json"), OutputMode::kJson);
  EXPECT_EQ(ParseOutputMode("line"), OutputMode::kLine);
  EXPECT_FALSE(ParseOutputMode("table").has_value());
}

TEST(TreePrinterTest, NestedObjectsIndentTwoSpacesKeysSortedNullsSkipped) {
  json::value doc = json::parse(R"({
    "store": {"raft": {"state": "Leader", "term": 2}, "ready": true, "gone": null},
    "build": {"version": "v10"},
    "peers": ["a", "b"]
  })");
  EXPECT_EQ(RenderTree(doc),
            "build:\n"
            "  version: v10\n"
            "peers: [a b]\n"
            "store:\n"
            "  raft:\n"
            "    state: Leader\n"
            "    term: 2\n"
            "  ready: true\n");
}

TEST(TreePrinterTest, NonObjectDocumentPrintsOnOneLine) {
  EXPECT_EQ(RenderTree(json::parse("[1,2]")), "[1 2]\n");
}

}  // namespace
}  // namespace rq::cli
