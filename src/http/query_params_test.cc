#include "http/query_params.h"

#include <gtest/gtest.h>

namespace rq::http {
namespace {

using std::chrono::nanoseconds;
using namespace std::chrono_literals;

TEST(GoDurationTest, ParsesEveryUnit) {
  EXPECT_EQ(ParseGoDuration("5ns"), nanoseconds(5));
  EXPECT_EQ(ParseGoDuration("5us"), 5us);
  EXPECT_EQ(ParseGoDuration("5\xC2\xB5s"), 5us);
  EXPECT_EQ(ParseGoDuration("5\xCE\xBCs"), 5us);
  EXPECT_EQ(ParseGoDuration("500ms"), 500ms);
  EXPECT_EQ(ParseGoDuration("2s"), 2s);
  EXPECT_EQ(ParseGoDuration("2m"), 2min);
  EXPECT_EQ(ParseGoDuration("1h"), 1h);
}

TEST(GoDurationTest, ParsesCompoundSignedAndFractionalForms) {
  EXPECT_EQ(ParseGoDuration("2h45m30s"), 2h + 45min + 30s);
  EXPECT_EQ(ParseGoDuration("1.5h"), 90min);
  EXPECT_EQ(ParseGoDuration(".5s"), 500ms);
  EXPECT_EQ(ParseGoDuration("1.s"), 1s);
  EXPECT_EQ(ParseGoDuration("-1.5s"), -1500ms);
  EXPECT_EQ(ParseGoDuration("+3ms"), 3ms);
  EXPECT_EQ(ParseGoDuration("0"), 0s);
  EXPECT_EQ(ParseGoDuration("-0"), 0s);
  EXPECT_EQ(ParseGoDuration("0s"), 0s);
}

TEST(GoDurationTest, RejectsWhatGoRejects) {
  for (const char* bad : {"", "1", "s", ".s", "-", "1x", "1sm", "1.5", "abc", "1 s", " 1s", "1s ", "10", "1e3s"}) {
    EXPECT_FALSE(ParseGoDuration(bad).has_value()) << bad;
  }
}

TEST(GoDurationTest, OverflowIsRejectedAndTheLimitIsAccepted) {
  EXPECT_EQ(ParseGoDuration("9223372036854775807ns"), nanoseconds(INT64_MAX));
  EXPECT_FALSE(ParseGoDuration("9223372036854775808ns").has_value());
  EXPECT_EQ(ParseGoDuration("-9223372036854775808ns"), nanoseconds(INT64_MIN));
  EXPECT_FALSE(ParseGoDuration("3000000h").has_value());
  EXPECT_EQ(ParseGoDuration("2562047h"), 2562047h);
}

TEST(GoIntTest, AcceptsSignedDecimalWithinInt64) {
  EXPECT_EQ(ParseGoInt("42"), 42);
  EXPECT_EQ(ParseGoInt("+7"), 7);
  EXPECT_EQ(ParseGoInt("-3"), -3);
  EXPECT_EQ(ParseGoInt("9223372036854775807"), INT64_MAX);
  EXPECT_EQ(ParseGoInt("-9223372036854775808"), INT64_MIN);
  for (const char* bad : {"", "+", "1.0", "0x10", "9223372036854775808", "1 ", "one"}) {
    EXPECT_FALSE(ParseGoInt(bad).has_value()) << bad;
  }
}

TEST(QueryParamsTest, FlagsArePresenceOnly) {
  const QueryParams params = QueryParams::Parse("pretty&timings=false&level=STRONG");
  EXPECT_TRUE(params.pretty());
  EXPECT_TRUE(params.timings());  // any value, even "false", means set
  EXPECT_FALSE(params.associative());
  EXPECT_EQ(params.Level(), command::Consistency::kStrong);
}

TEST(QueryParamsTest, ValuesArePercentDecodedAndFirstWins) {
  const QueryParams params = QueryParams::Parse("q=SELECT+*+FROM+t%3B&q=second&bad=%zz&x=%41");
  EXPECT_EQ(params.Get("q"), "SELECT * FROM t;");
  EXPECT_FALSE(params.Has("bad"));  // a malformed escape drops the pair, as in Go
  EXPECT_EQ(params.Get("x"), "A");
}

TEST(QueryParamsTest, LevelIsCaseInsensitiveAndUnknownMeansWeak) {
  EXPECT_EQ(QueryParams::Parse("level=None").Level(), command::Consistency::kNone);
  EXPECT_EQ(QueryParams::Parse("level=linearizable").Level(), command::Consistency::kLinearizable);
  EXPECT_EQ(QueryParams::Parse("level=AUTO").Level(), command::Consistency::kAuto);
  EXPECT_EQ(QueryParams::Parse("level=bogus").Level(), command::Consistency::kWeak);
  EXPECT_EQ(QueryParams::Parse("").Level(), command::Consistency::kWeak);
}

TEST(QueryParamsTest, ValidationUsesRqliteTexts) {
  const auto message = [](const char* query) { return QueryParams::Parse(query).Validate().message(); };
  EXPECT_EQ(message("timeout=5"), "timeout is not a valid duration");
  EXPECT_EQ(message("freshness=x"), "freshness is not a valid duration");
  EXPECT_EQ(message("db_timeout="), "db_timeout is not a valid duration");
  EXPECT_EQ(message("linearizable_timeout=1y"), "linearizable_timeout is not a valid duration");
  EXPECT_EQ(message("retries=a"), "retries is not a valid integer");
  EXPECT_EQ(message("trailing_logs=1.5"), "trailing_logs is not a valid integer");
  EXPECT_EQ(message("freshness_strict"), "freshness_strict requires freshness");
  EXPECT_EQ(message("freshness_strict&freshness=0s"), "freshness_strict requires freshness");
  EXPECT_EQ(message("q="), "query parameter not set");
  EXPECT_TRUE(QueryParams::Parse("freshness_strict&freshness=1s&timeout=2m&retries=3&q=x").Validate().ok());
  EXPECT_TRUE(QueryParams::Parse("").Validate().ok());
}

TEST(QueryParamsTest, NegativeValuesAreTheClientsMistake) {
  const auto message = [](const char* query) { return QueryParams::Parse(query).Validate().message(); };
  EXPECT_EQ(message("timeout=-1s"), "timeout must not be negative");
  EXPECT_EQ(message("db_timeout=-5ms"), "db_timeout must not be negative");
  EXPECT_EQ(message("freshness=-1m"), "freshness must not be negative");
  EXPECT_EQ(message("retries=-1"), "retries must not be negative");
  EXPECT_EQ(message("trailing_logs=-3"), "trailing_logs must not be negative");
  EXPECT_TRUE(QueryParams::Parse("timeout=0s&db_timeout=0&retries=0").Validate().ok());
}

TEST(QueryParamsTest, AZeroTimeoutMeansTheDefault) {
  EXPECT_EQ(QueryParams::Parse("timeout=0s").Timeout(std::chrono::seconds(30)), std::chrono::seconds(30));
  EXPECT_EQ(QueryParams::Parse("").Timeout(std::chrono::seconds(30)), std::chrono::seconds(30));
  EXPECT_EQ(QueryParams::Parse("timeout=2s").Timeout(std::chrono::seconds(30)), std::chrono::seconds(2));
}

TEST(QueryParamsTest, CallOptionsCarryParsedValues) {
  const CallOptions options =
      QueryParams::Parse("level=none&freshness=1s&freshness_strict&timeout=5s&redirect&retries=2&noparse&"
                         "linearizable_timeout=250ms&norwrandom&norwtime&queue&noleader")
          .ToCallOptions();
  EXPECT_EQ(options.level, command::Consistency::kNone);
  EXPECT_EQ(options.freshness, 1s);
  EXPECT_TRUE(options.freshness_strict);
  EXPECT_EQ(options.timeout, 5s);
  EXPECT_EQ(options.linearizable_timeout, 250ms);
  EXPECT_TRUE(options.redirect);
  EXPECT_EQ(options.retries, 2);
  EXPECT_TRUE(options.noparse);
  EXPECT_TRUE(options.norwrandom);
  EXPECT_TRUE(options.norwtime);
  EXPECT_TRUE(options.queue_noleader);
  const CallOptions defaults = QueryParams::Parse("").ToCallOptions();
  EXPECT_EQ(defaults.timeout, 30s);
  EXPECT_EQ(defaults.linearizable_timeout, 10s);
  EXPECT_FALSE(defaults.redirect);
}

}  // namespace
}  // namespace rq::http
