#include "cli/options.h"

#include <gtest/gtest.h>

#include "cli/line_editor.h"

namespace rq::cli {
namespace {

CliOptions MustParse(std::vector<std::string> args, const char* env = nullptr) {
  Result<CliOptions> options = ParseOptions(args, env);
  EXPECT_TRUE(options.ok()) << options.status().ToString();
  return options.ok() ? *options : CliOptions{};
}

TEST(OptionsTest, DefaultsMatchRqlite) {
  CliOptions options = MustParse({});
  EXPECT_EQ(options.scheme, "http");
  EXPECT_EQ(options.host, "127.0.0.1");
  EXPECT_EQ(options.port, 4001);
  EXPECT_EQ(options.prefix, "/");
  EXPECT_FALSE(options.insecure);
  EXPECT_EQ(options.http_timeout, std::chrono::seconds(30));
  EXPECT_TRUE(options.statements.empty());
  EXPECT_EQ(options.Address(), "127.0.0.1:4001");
}

TEST(OptionsTest, ShortLongAndEqualsFormsAllWork) {
  CliOptions options = MustParse({"-H", "db1", "--port=4101", "-s=https", "--prefix", "/rq",
                                  "-i", "-c", "ca.pem", "-d", "c.pem", "-k", "k.pem",
                                  "-u", "bob:secret", "-t", "1m30s", "-a", "h2:4001,h3:4001"});
  EXPECT_EQ(options.host, "db1");
  EXPECT_EQ(options.port, 4101);
  EXPECT_EQ(options.scheme, "https");
  EXPECT_EQ(options.prefix, "/rq");
  EXPECT_TRUE(options.insecure);
  EXPECT_EQ(options.ca_cert, "ca.pem");
  EXPECT_EQ(options.client_cert, "c.pem");
  EXPECT_EQ(options.client_key, "k.pem");
  EXPECT_EQ(options.user, "bob:secret");
  EXPECT_EQ(options.http_timeout, std::chrono::seconds(90));
  EXPECT_EQ(options.alternatives, (std::vector<std::string>{"h2:4001", "h3:4001"}));
}

TEST(OptionsTest, BooleanFlagAcceptsExplicitValue) {
  EXPECT_FALSE(MustParse({"--insecure=false"}).insecure);
  EXPECT_TRUE(MustParse({"--insecure=true"}).insecure);
  EXPECT_TRUE(MustParse({"-h"}).help);
  EXPECT_TRUE(MustParse({"--version"}).version);
}

TEST(OptionsTest, BailTakesBothSqlite3sAndOurSpelling) {
  EXPECT_FALSE(MustParse({}).bail);
  EXPECT_TRUE(MustParse({"--bail"}).bail);
  EXPECT_TRUE(MustParse({"-bail"}).bail);
  EXPECT_FALSE(MustParse({"-bail=false"}).bail);
  // It has no one-letter form.
  EXPECT_FALSE(ParseOptions({"-b"}, nullptr).ok());
}

TEST(OptionsTest, PositionalArgumentsAreStatements) {
  CliOptions options = MustParse({"-p", "4002", "SELECT 1", "--", "-- a comment"});
  EXPECT_EQ(options.port, 4002);
  EXPECT_EQ(options.statements, (std::vector<std::string>{"SELECT 1", "-- a comment"}));
}

TEST(OptionsTest, BadInputIsAnErrorNamingIt) {
  Result<CliOptions> unknown = ParseOptions({"--bogus"}, nullptr);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("--bogus"), std::string::npos);
  EXPECT_FALSE(ParseOptions({"-p", "70000"}, nullptr).ok());
  EXPECT_FALSE(ParseOptions({"-p"}, nullptr).ok());
  EXPECT_FALSE(ParseOptions({"-s", "ftp"}, nullptr).ok());
  EXPECT_FALSE(ParseOptions({"-t", "30"}, nullptr).ok());
}

TEST(OptionsTest, RqliteHostEnvSuppliesSchemeHostAndPort) {
  CliOptions options = MustParse({}, "https://db.example.com:4443");
  EXPECT_EQ(options.scheme, "https");
  EXPECT_EQ(options.host, "db.example.com");
  EXPECT_EQ(options.port, 4443);
}

TEST(OptionsTest, RqliteHostEnvWithoutPortKeepsDefaultPort) {
  CliOptions options = MustParse({}, "http://10.0.0.7");
  EXPECT_EQ(options.host, "10.0.0.7");
  EXPECT_EQ(options.port, 4001);
}

TEST(OptionsTest, RqliteHostEnvIsIgnoredWhenHostPortOrSchemeGiven) {
  EXPECT_EQ(MustParse({"-H", "local"}, "https://remote:1").host, "local");
  CliOptions port_only = MustParse({"-p", "4005"}, "https://remote:1");
  EXPECT_EQ(port_only.host, "127.0.0.1");
  EXPECT_EQ(port_only.scheme, "http");
}

TEST(OptionsTest, BadRqliteHostEnvIsAnError) {
  EXPECT_FALSE(ParseOptions({}, "ftp://h:1").ok());
  EXPECT_FALSE(ParseOptions({}, "http://:4001").ok());
  EXPECT_FALSE(ParseOptions({}, "http://h:99999").ok());
}

TEST(GoDurationTest, ParsesUnitsAndSums) {
  EXPECT_EQ(*ParseGoDuration("500ms"), std::chrono::milliseconds(500));
  EXPECT_EQ(*ParseGoDuration("1.5s"), std::chrono::milliseconds(1500));
  EXPECT_EQ(*ParseGoDuration("1h2m3s"), std::chrono::milliseconds(3723000));
  EXPECT_EQ(*ParseGoDuration("0"), std::chrono::milliseconds(0));
  EXPECT_FALSE(ParseGoDuration("").ok());
  EXPECT_FALSE(ParseGoDuration("5x").ok());
}

TEST(HistoryTest, SizeComesFromEnvWithDefault100) {
  EXPECT_EQ(HistorySize(nullptr), 100);
  EXPECT_EQ(HistorySize("25"), 25);
  EXPECT_EQ(HistorySize("0"), 0);
  EXPECT_EQ(HistorySize("lots"), 100);
}

TEST(HistoryTest, SaveKeepsNewestEntriesAndZeroRemovesFile) {
  std::string path = ::testing::TempDir() + "/rqlite_history_test";
  std::deque<std::string> entries = {"a", "b", "c"};
  ASSERT_TRUE(SaveHistory(path, entries, 2));
  EXPECT_EQ(LoadHistory(path, 100), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(LoadHistory(path, 1), (std::vector<std::string>{"c"}));
  ASSERT_TRUE(SaveHistory(path, entries, 0));
  EXPECT_TRUE(LoadHistory(path, 100).empty());
}

}  // namespace
}  // namespace rq::cli
