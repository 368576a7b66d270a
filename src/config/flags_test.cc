// Tests of the Go-compatible flag parser (FlagSet and the Go value syntax).
// The rqlited command line and Config::Validate are tested in config_test.cc.
#include "config/flags.h"

#include <gtest/gtest.h>

#include "base/random.h"

namespace rq::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::nanoseconds;
using std::chrono::seconds;

TEST(GoBoolTest, AcceptsExactlyStrconvParseBoolSpellings) {
  for (const char* yes : {"1", "t", "T", "TRUE", "true", "True"}) {
    EXPECT_EQ(ParseGoBool(yes), std::optional<bool>(true)) << yes;
  }
  for (const char* no : {"0", "f", "F", "FALSE", "false", "False"}) {
    EXPECT_EQ(ParseGoBool(no), std::optional<bool>(false)) << no;
  }
  for (const char* bad : {"", "yes", "no", "tRue", "on", "2", " true"}) {
    EXPECT_FALSE(ParseGoBool(bad).has_value()) << bad;
  }
}

TEST(GoIntTest, BaseZeroPrefixesSignsAndUnderscores) {
  const std::pair<const char*, int64_t> cases[] = {
      {"5", 5},        {"-5", -5},     {"+5", 5},     {"0x10", 16},   {"0X1f", 31},
      {"0o17", 15},    {"017", 15},    {"0b101", 5},  {"1_000", 1000}, {"0", 0},
      {"0x_1F", 31},   {"9223372036854775807", INT64_MAX},
      {"-9223372036854775808", INT64_MIN},
  };
  for (const auto& [text, want] : cases) {
    const IntParse got = ParseGoInt(text);
    EXPECT_EQ(got.error, NumberError::kNone) << text;
    EXPECT_EQ(got.value, want) << text;
  }
}

TEST(GoIntTest, SyntaxAndRangeErrorsAreDistinguished) {
  for (const char* bad : {"", "abc", "-", "1a", "_1", "1__0", "1_", "08", "0x", "--1", "1.0"}) {
    EXPECT_EQ(ParseGoInt(bad).error, NumberError::kSyntax) << bad;
  }
  for (const char* big : {"9223372036854775808", "-9223372036854775809", "99999999999999999999"}) {
    EXPECT_EQ(ParseGoInt(big).error, NumberError::kRange) << big;
  }
}

TEST(GoUintTest, RejectsSignsAndOverflow) {
  EXPECT_EQ(ParseGoUint("18446744073709551615").value, UINT64_MAX);
  EXPECT_EQ(ParseGoUint("18446744073709551616").error, NumberError::kRange);
  EXPECT_EQ(ParseGoUint("-1").error, NumberError::kSyntax);
  EXPECT_EQ(ParseGoUint("+1").error, NumberError::kSyntax);
  EXPECT_EQ(ParseGoUint("4194304").value, 4194304u);
}

TEST(GoDurationTest, ParsesGoSyntax) {
  const std::pair<const char*, nanoseconds> cases[] = {
      {"500ms", milliseconds(500)},
      {"1h2m", hours(1) + minutes(2)},
      {"2.5s", milliseconds(2500)},
      {"0h", nanoseconds(0)},
      {"0", nanoseconds(0)},
      {"-1.5h", -minutes(90)},
      {"+3s", seconds(3)},
      {"1us", nanoseconds(1000)},
      {"1\xC2\xB5s", nanoseconds(1000)},
      {"1\xCE\xBCs", nanoseconds(1000)},
      {"300ns", nanoseconds(300)},
      {".5s", milliseconds(500)},
      {"1.s", seconds(1)},
      {"1h2m3s4ms", hours(1) + minutes(2) + seconds(3) + milliseconds(4)},
      {"2562047h", hours(2562047)},
      {"9223372036854775807ns", nanoseconds(INT64_MAX)},
      {"-9223372036854775808ns", nanoseconds(INT64_MIN)},
      {"1.0000000000000000000000001s", seconds(1)},
  };
  for (const auto& [text, want] : cases) {
    const std::optional<GoDuration> got = ParseGoDuration(text);
    ASSERT_TRUE(got.has_value()) << text;
    EXPECT_EQ(*got, want) << text;
  }
}

TEST(GoDurationTest, RejectsMissingUnitsUnknownUnitsAndOverflow) {
  for (const char* bad : {"", "1", "s", "1x", "-", ".s", "1h2", "3 s", "1d", "2562048h",
                          "9223372036854775808ns", "abc"}) {
    EXPECT_FALSE(ParseGoDuration(bad).has_value()) << bad;
  }
}

TEST(GoDurationTest, FormatsLikeGoDurationString) {
  const std::pair<nanoseconds, const char*> cases[] = {
      {nanoseconds(0), "0s"},          {seconds(3), "3s"},
      {seconds(120), "2m0s"},          {hours(24), "24h0m0s"},
      {milliseconds(50), "50ms"},      {milliseconds(1500), "1.5s"},
      {nanoseconds(1500), "1.5\xC2\xB5s"}, {nanoseconds(1), "1ns"},
      {hours(1) + minutes(2) + seconds(3), "1h2m3s"}, {-seconds(1), "-1s"},
      {seconds(30), "30s"},
  };
  for (const auto& [value, want] : cases) EXPECT_EQ(FormatGoDuration(value), want);
}

TEST(GoDurationTest, FormatThenParseIsIdentityForRandomValues) {
  Random random(20261123);
  for (int i = 0; i < 20000; ++i) {
    // Spread over every magnitude, from nanoseconds to the int64 limits.
    const int shift = static_cast<int>(random.Uniform(64));
    const int64_t ns = static_cast<int64_t>(random.Next() >> shift);
    for (const GoDuration d : {GoDuration(ns), GoDuration(-ns)}) {
      const std::string text = FormatGoDuration(d);
      const std::optional<GoDuration> back = ParseGoDuration(text);
      ASSERT_TRUE(back.has_value()) << text;
      EXPECT_EQ(*back, d) << text;
    }
  }
  const GoDuration min{INT64_MIN};
  EXPECT_EQ(FormatGoDuration(min), "-2562047h47m16.854775808s");
  EXPECT_EQ(ParseGoDuration("-2562047h47m16.854775808s"), std::optional<GoDuration>(min));
}

TEST(GoDurationTest, RandomTextEitherFailsOrRoundTrips) {
  Random random(7);
  const std::string alphabet = "0123456789.-+hmsun_x ";
  int parsed_count = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string text;
    const uint64_t length = random.Uniform(12);
    for (uint64_t j = 0; j < length; ++j) text += alphabet[random.Uniform(alphabet.size())];
    const std::optional<GoDuration> parsed = ParseGoDuration(text);
    if (!parsed) continue;
    ++parsed_count;
    EXPECT_EQ(ParseGoDuration(FormatGoDuration(*parsed)), parsed) << text;
  }
  EXPECT_GT(parsed_count, 200);  // the alphabet makes valid durations common enough
}

TEST(GoQuoteTest, EscapesQuotesBackslashesAndControlBytes) {
  EXPECT_EQ(GoQuote("abc"), "\"abc\"");
  EXPECT_EQ(GoQuote("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(GoQuote("a\nb\x01"), "\"a\\nb\\x01\"");
}

// A small flag set with one flag of every type.
struct Fixture {
  bool b = false;
  int64_t i = 5;
  uint64_t u = 7;
  GoDuration d = seconds(3);
  std::string s = "dflt";
  std::vector<std::string> list;
  bool legacy = false;
  FlagSet flags;
  Fixture() {
    flags.Define("b", &b, "a bool");
    flags.Define("int", &i, "an int");
    flags.Define("uint", &u, "a uint");
    flags.Define("dur", &d, "a duration");
    flags.Define("str", &s, "a string");
    flags.Define("list", &list, "a list");
    flags.Define("old", &legacy, "hidden", FlagVisibility::kHidden);
  }
  FlagSet::Outcome Parse(std::vector<std::string> args) { return flags.Parse(args); }
};

TEST(FlagSetTest, EverySyntaxFormSetsTheValue) {
  const std::vector<std::vector<std::string>> forms = {
      {"-str", "v"}, {"-str=v"}, {"--str", "v"}, {"--str=v"}};
  for (const auto& form : forms) {
    Fixture f;
    const FlagSet::Outcome outcome = f.Parse(form);
    ASSERT_FALSE(outcome.error) << *outcome.error;
    EXPECT_EQ(f.s, "v");
    EXPECT_TRUE(f.flags.WasSet("str"));
  }
}

TEST(FlagSetTest, ValuesOfEveryTypeAreParsed) {
  Fixture f;
  const FlagSet::Outcome outcome =
      f.Parse({"-int", "0x10", "-uint=9", "--dur", "1h2m", "-list", "a,,b", "-str=x=y"});
  ASSERT_FALSE(outcome.error) << *outcome.error;
  EXPECT_EQ(f.i, 16);
  EXPECT_EQ(f.u, 9u);
  EXPECT_EQ(f.d, hours(1) + minutes(2));
  EXPECT_EQ(f.list, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(f.s, "x=y");  // only the first '=' separates name and value
}

TEST(FlagSetTest, BooleanFormsAndBooleanNeverConsumesNextArgument) {
  const std::pair<std::vector<std::string>, bool> cases[] = {
      {{"-b"}, true},       {{"--b"}, true},      {{"-b=true"}, true}, {{"-b=1"}, true},
      {{"-b=T"}, true},     {{"-b=TRUE"}, true},  {{"-b=false"}, false},
      {{"--b=0"}, false},   {{"-b=F"}, false},
  };
  for (const auto& [args, want] : cases) {
    Fixture f;
    f.b = !want;
    ASSERT_FALSE(f.Parse(args).error);
    EXPECT_EQ(f.b, want) << args[0];
  }
  Fixture f;
  const FlagSet::Outcome outcome = f.Parse({"-b", "false", "-str", "x"});
  ASSERT_FALSE(outcome.error);
  EXPECT_TRUE(f.b);
  EXPECT_EQ(outcome.positional, (std::vector<std::string>{"false"}));
  EXPECT_EQ(f.s, "x");
}

TEST(FlagSetTest, BadValuesGetGoMessages) {
  const std::pair<std::vector<std::string>, std::string> cases[] = {
      {{"-int", "abc"}, "invalid value \"abc\" for flag -int: parse error"},
      {{"-int=99999999999999999999"},
       "invalid value \"99999999999999999999\" for flag -int: value out of range"},
      {{"-uint", "-1"}, "invalid value \"-1\" for flag -uint: parse error"},
      {{"-dur", "5"}, "invalid value \"5\" for flag -dur: parse error"},
      {{"-b=yes"}, "invalid boolean value \"yes\" for -b: parse error"},
      {{"-b="}, "invalid boolean value \"\" for -b: parse error"},
      {{"-str"}, "flag needs an argument: -str"},
      {{"---str"}, "bad flag syntax: ---str"},
      {{"-=x"}, "bad flag syntax: -=x"},
      {{"-nope"}, "flag provided but not defined: -nope"},
      {{"--nope=1"}, "flag provided but not defined: -nope"},
  };
  for (const auto& [args, want] : cases) {
    Fixture f;
    const FlagSet::Outcome outcome = f.Parse(args);
    ASSERT_TRUE(outcome.error.has_value()) << args[0];
    EXPECT_EQ(*outcome.error, want);
  }
}

TEST(FlagSetTest, DoubleDashEndsFlagsAndSingleDashIsPositional) {
  Fixture f;
  const FlagSet::Outcome outcome = f.Parse({"-", "-str", "a", "--", "-b", "--str=z"});
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.positional, (std::vector<std::string>{"-", "-b", "--str=z"}));
  EXPECT_FALSE(f.b);
  EXPECT_EQ(f.s, "a");
}

TEST(FlagSetTest, FlagsAfterPositionalArgumentsAreStillParsed) {
  Fixture f;
  const FlagSet::Outcome outcome = f.Parse({"data", "-int", "3", "-b"});
  ASSERT_FALSE(outcome.error);
  EXPECT_EQ(outcome.positional, (std::vector<std::string>{"data"}));
  EXPECT_EQ(f.i, 3);
  EXPECT_TRUE(f.b);
}

TEST(FlagSetTest, ValueMayStartWithDashLikeGo) {
  Fixture f;
  ASSERT_FALSE(f.Parse({"-str", "-b"}).error);
  EXPECT_EQ(f.s, "-b");
  EXPECT_FALSE(f.b);
}

TEST(FlagSetTest, HelpIsReportedUnlessDefined) {
  for (const char* help : {"-h", "-help", "--help", "--h"}) {
    Fixture f;
    const FlagSet::Outcome outcome = f.Parse({help});
    EXPECT_FALSE(outcome.error);
    EXPECT_TRUE(outcome.help_requested) << help;
  }
}

TEST(FlagSetTest, RepeatedFlagLastValueWinsAndIsRecordedOnce) {
  Fixture f;
  ASSERT_FALSE(f.Parse({"-str", "a", "-int", "1", "-str", "b"}).error);
  EXPECT_EQ(f.s, "b");
  EXPECT_EQ(f.flags.set_order(), (std::vector<std::string>{"str", "int"}));
}

TEST(FlagSetTest, DefaultsTextMatchesGoPrintDefaults) {
  Fixture f;
  const std::string want =
      "  -b\ta bool\n"
      "  -dur duration\n    \ta duration (default 3s)\n"
      "  -int int\n    \tan int (default 5)\n"
      "  -list value\n    \ta list\n"
      "  -str string\n    \ta string (default \"dflt\")\n"
      "  -uint uint\n    \ta uint (default 7)\n";
  EXPECT_EQ(f.flags.Defaults(), want);
}

TEST(FlagSetTest, DefaultsUseBackquotedNameAndHideZeroValues) {
  bool on = true;
  std::string path;
  GoDuration zero{0};
  FlagSet flags;
  flags.Define("verbose", &on, "talk a lot");
  flags.Define("cfg", &path, "read `file` for settings");
  flags.Define("wait", &zero, "how long");
  EXPECT_EQ(flags.Defaults(),
            "  -cfg file\n    \tread file for settings\n"
            "  -verbose\n    \ttalk a lot (default true)\n"
            "  -wait duration\n    \thow long\n");
}

}  // namespace
}  // namespace rq::config
