#include "cdc/config.h"

#include <gtest/gtest.h>

#include <random>

namespace rq::cdc {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(CdcConfigTest, FlagValuesThatAreNotFiles) {
  EXPECT_FALSE(FlagIsPath("stdout"));
  EXPECT_FALSE(FlagIsPath("http://localhost:8000/cdc"));
  EXPECT_FALSE(FlagIsPath("HTTPS://hook.example"));
  EXPECT_TRUE(FlagIsPath("/etc/rqlite/cdc.json"));
  Result<Config> out = ConfigForEndpoint("stdout");
  ASSERT_TRUE(out.ok());
  EXPECT_TRUE(out->to_stdout());
  EXPECT_EQ(out->max_batch_size, 10);
  EXPECT_EQ(out->max_batch_delay, milliseconds(200));
  EXPECT_EQ(out->high_watermark_interval, seconds(1));
  EXPECT_FALSE(out->transmit_max_retries.has_value());
  Result<Config> url = ConfigForEndpoint("http://user:secret@127.0.0.1:9000/cdc");
  ASSERT_TRUE(url.ok());
  EXPECT_EQ(url->RedactedEndpoint(), "http://127.0.0.1:9000/cdc");
}

TEST(CdcConfigTest, EveryDocumentedFieldInBothDurationForms) {
  Result<ParsedConfig> parsed = ParseConfigJson(R"({
    "endpoint": "https://hook.example/cdc", "service_id": "prod-eu", "row_ids_only": true,
    "table_filter": "^(users|orders)$", "max_batch_size": 50, "max_batch_delay": "250ms",
    "high_watermark_interval": 2000000000, "transmit_timeout": "10s", "transmit_max_retries": 3,
    "transmit_retry_policy": "ExponentialRetryPolicy", "transmit_min_backoff": "100ms",
    "transmit_max_backoff": "1m",
    "tls": {"ca_cert_file": "/ca.pem", "cert_file": "/c.pem", "key_file": "/k.pem",
            "insecure_skip_verify": true, "server_name": "hook.internal"},
    "log_only": false})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  const Config& c = parsed->config;
  EXPECT_EQ(c.endpoint, "https://hook.example/cdc");
  EXPECT_EQ(c.service_id, "prod-eu");
  EXPECT_TRUE(c.row_ids_only);
  EXPECT_EQ(c.max_batch_size, 50);
  EXPECT_EQ(c.max_batch_delay, milliseconds(250));
  EXPECT_EQ(c.high_watermark_interval, seconds(2));
  EXPECT_EQ(c.transmit_timeout, seconds(10));
  EXPECT_EQ(c.transmit_max_retries, 3);
  EXPECT_EQ(c.transmit_retry_policy, RetryPolicy::kExponential);
  EXPECT_EQ(c.transmit_min_backoff, milliseconds(100));
  EXPECT_EQ(c.transmit_max_backoff, seconds(60));
  EXPECT_EQ(c.tls.server_name, "hook.internal");
  EXPECT_TRUE(c.tls.insecure_skip_verify);
  // A field this build does not know is reported, not silently dropped.
  EXPECT_EQ(parsed->warnings, std::vector<std::string>{"log_only"});
  Result<TableMatcher> matcher = CompileTableFilter(c.table_filter);
  ASSERT_TRUE(matcher.ok());
  EXPECT_TRUE((*matcher)("users"));
  EXPECT_FALSE((*matcher)("users_archive"));
}

TEST(CdcConfigTest, ZeroAndUnsetKeepTheDefaultsAsRqliteDoes) {
  Result<ParsedConfig> parsed = ParseConfigJson(
      R"({"endpoint": "stdout", "max_batch_size": 0, "max_batch_delay": 0, "transmit_retry_policy": 0,
          "transmit_max_retries": null, "table_filter": null})");
  ASSERT_TRUE(parsed.ok()) << parsed.status().ToString();
  EXPECT_EQ(parsed->config.max_batch_size, 10);
  EXPECT_EQ(parsed->config.max_batch_delay, milliseconds(200));
  EXPECT_EQ(parsed->config.transmit_retry_policy, RetryPolicy::kLinear);
  EXPECT_FALSE(parsed->config.transmit_max_retries.has_value());
  Result<TableMatcher> all = CompileTableFilter(parsed->config.table_filter);
  ASSERT_TRUE(all.ok());
  EXPECT_FALSE(static_cast<bool>(*all)) << "no filter: every table";
}

TEST(CdcConfigTest, BadConfigsSayWhatIsWrong) {
  const std::pair<const char*, const char*> cases[] = {
      {"[]", "must be a JSON object"},
      {"{", "not valid JSON"},
      {R"({"service_id": "x"})", "endpoint is required"},
      {R"({"endpoint": "kafka://broker:9092"})", "unsupported scheme \"kafka\""},
      {R"({"endpoint": "stdout", "max_batch_delay": "fast"})", "max_batch_delay is not a duration"},
      {R"({"endpoint": "stdout", "max_batch_delay": true})", "max_batch_delay must be a duration"},
      {R"({"endpoint": "stdout", "table_filter": "(unclosed"})", "table_filter is not a valid regular expression"},
      {R"({"endpoint": "stdout", "transmit_retry_policy": 7})", "transmit_retry_policy must be"},
      {R"({"endpoint": "stdout", "row_ids_only": "yes"})", "row_ids_only must be true or false"},
      {R"({"endpoint": "stdout", "tls": {"cert_file": "/c.pem"}})", "needs both cert_file and key_file"},
      {R"({"endpoint": "stdout", "transmit_min_backoff": "2s", "transmit_max_backoff": "1s"})",
       "must not be below transmit_min_backoff"},
  };
  for (const auto& [json, want] : cases) {
    Result<ParsedConfig> parsed = ParseConfigJson(json);
    ASSERT_FALSE(parsed.ok()) << json;
    EXPECT_NE(parsed.status().message().find(want), std::string::npos) << json << " -> " << parsed.status().message();
  }
}

TEST(CdcConfigTest, TableFilterCopesWithAnyName) {
  Result<TableMatcher> matcher = CompileTableFilter("^app_.*$");
  ASSERT_TRUE(matcher.ok());
  // A client may name a table with 200 KB: matching must not recurse per byte.
  EXPECT_TRUE((*matcher)("app_" + std::string(200'000, 'x')));
  EXPECT_FALSE((*matcher)(std::string(200'000, 'x')));
}

TEST(CdcConfigTest, OutOfRangeNumbersAreRefusedNotWrapped) {
  EXPECT_FALSE(ParseConfigJson(R"({"endpoint": "stdout", "transmit_max_retries": 4294967296})").ok());
  EXPECT_FALSE(ParseConfigJson(R"({"endpoint": "stdout", "max_batch_size": 4294967297})").ok());
  Result<ParsedConfig> long_backoff = ParseConfigJson(R"({"endpoint": "stdout", "transmit_max_backoff": "100000h"})");
  ASSERT_FALSE(long_backoff.ok());
  EXPECT_NE(long_backoff.status().message().find("at most 24h"), std::string::npos);
}

// The config file is outside input: any bytes give a config or an error,
// never a crash (the same seeds every run).
TEST(CdcConfigTest, MangledFilesNeverCrash) {
  const std::string valid = R"({"endpoint": "http://h:1/x", "max_batch_size": 5, "max_batch_delay": "1ms",
    "transmit_max_retries": 2, "transmit_retry_policy": 1, "table_filter": "^a(b|c)*$",
    "tls": {"ca_cert_file": "/ca", "server_name": "n"}})";
  const std::string alphabet = "{}[]\":,0123456789.-+eE \\tnul()*?^$|ms";
  std::mt19937 random(17);
  int parsed = 0;
  for (int round = 0; round < 5000; ++round) {
    std::string text = valid;
    const int edits = 1 + static_cast<int>(random() % 6);
    for (int e = 0; e < edits && !text.empty(); ++e) {
      const size_t at = random() % text.size();
      switch (random() % 3) {
        case 0: text[at] = alphabet[random() % alphabet.size()]; break;
        case 1: text.erase(at, 1 + random() % 4); break;
        default: text.insert(at, 1, alphabet[random() % alphabet.size()]); break;
      }
    }
    Result<ParsedConfig> out = ParseConfigJson(text);
    if (out.ok()) {
      ++parsed;
      EXPECT_TRUE(out->config.Validate().ok()) << text;
    }
  }
  EXPECT_GT(parsed, 0) << "some mutations stay valid";
}

}  // namespace
}  // namespace rq::cdc
