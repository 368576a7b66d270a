#include "db/render.h"

#include <gtest/gtest.h>

namespace rq::db {
namespace {

std::string Text(std::string_view in) {
  Result<std::string> r = RenderTimeText(in);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : "";
}

std::string Integer(int64_t v) {
  Result<std::string> r = RenderTimeInteger(v);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? r.value() : "";
}

TEST(RenderTimeTest, EveryGoSqliteFormatParses) {
  struct Case {
    const char* in;
    const char* out;
  };
  const Case cases[] = {
      {"2020-01-01 10:00:00.123456789+02:00", "2020-01-01T10:00:00.123456789+02:00"},
      {"2020-01-01T10:00:00.5-07:30", "2020-01-01T10:00:00.5-07:30"},
      {"2020-01-01 10:00:00+00:00", "2020-01-01T10:00:00Z"},
      {"2020-01-01 10:00:00.250", "2020-01-01T10:00:00.25Z"},
      {"2020-01-01T10:00:00.000", "2020-01-01T10:00:00Z"},
      {"2020-01-01 10:00:00", "2020-01-01T10:00:00Z"},
      {"2020-01-01T10:00:00", "2020-01-01T10:00:00Z"},
      {"2020-01-01 10:00", "2020-01-01T10:00:00Z"},
      {"2020-01-01T10:00", "2020-01-01T10:00:00Z"},
      {"2020-01-01", "2020-01-01T00:00:00Z"},
      {"2020-01-01T10:00:00Z", "2020-01-01T10:00:00Z"},  // trailing Z stripped
      {"2020-01-01 9:05:07", "2020-01-01T09:05:07Z"},     // Go's hour takes one digit
      {"2024-02-29", "2024-02-29T00:00:00Z"},
  };
  for (const Case& c : cases) EXPECT_EQ(Text(c.in), c.out) << c.in;
}

TEST(RenderTimeTest, UnparseableTextIsTheZeroTime) {
  const char* cases[] = {"",           "hello",          "2020-13-01",          "2023-02-29",
                         "2020-1-01",  "2020-01-01 25:00", "2020-01-01 10:00:61", "2020-01-01 10",
                         "20200101",   "2020-01-01x",    "2020-01-01 10:00:00 +02:00",
                         "2020-01-01 10:00:00.1234567891"};
  for (const char* c : cases) EXPECT_EQ(Text(c), kZeroTime) << c;
}

TEST(RenderTimeTest, IntegersAreUnixSecondsOrMillisecondsAboveOneTrillion) {
  EXPECT_EQ(Integer(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(Integer(1577872800), "2020-01-01T10:00:00Z");
  EXPECT_EQ(Integer(1577872800123), "2020-01-01T10:00:00.123Z");
  EXPECT_EQ(Integer(-86400), "1969-12-31T00:00:00Z");
  EXPECT_EQ(Integer(-1577872800123), "1920-01-01T13:59:59.877Z");
}

TEST(RenderTimeTest, YearsBeyondRfc3339AreAnError) {
  // 1e12 exactly is still seconds: year 33658, which Go refuses to marshal.
  Result<std::string> r = RenderTimeInteger(1000000000000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "Time.MarshalText: year outside of range [0,9999]");
}

TEST(DeclTypeTest, TextLikeTypesFollowRqlite) {
  for (const char* t : {"text", "json", "", "varchar(10)", "varying character(3)", "nchar(2)",
                        "native character(1)", "nvarchar(9)", "clob"}) {
    EXPECT_TRUE(IsTextDeclType(t)) << t;
  }
  for (const char* t : {"blob", "integer", "character(20)", "string", "texts", "date"}) {
    EXPECT_FALSE(IsTextDeclType(t)) << t;
  }
  EXPECT_TRUE(IsTimeDeclType("datetime"));
  EXPECT_FALSE(IsTimeDeclType("datetime2"));
}

TEST(FillEmptyTypesTest, FillsFromValuesAndStopsAtNull) {
  std::vector<std::string> types = {"", "integer", "", "", ""};
  std::vector<command::Value> row = {int64_t{1}, int64_t{2}, 1.5, std::monostate{}, std::string("x")};
  FillEmptyTypesFromRow(types, row);
  EXPECT_EQ(types, (std::vector<std::string>{"integer", "integer", "real", "", ""}));
}

}  // namespace
}  // namespace rq::db
