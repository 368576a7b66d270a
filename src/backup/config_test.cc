// The auto-backup / auto-restore config files: rqlite's fields, Go's
// $VAR expansion and durations, and a clear error for each bad field.
#include "backup/config.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>

namespace rq::backup {
namespace {

EnvLookup FakeEnv(std::map<std::string, std::string> vars) {
  return [vars](const std::string& name) -> std::optional<std::string> {
    auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

constexpr const char* kS3Backup = R"({
  "version": 1, "type": "s3", "interval": "5m", "no_compress": true, "vacuum": true, "timestamp": true,
  "sub": {"access_key_id": "AKID", "secret_access_key": "SECRET", "region": "eu-west-1",
          "bucket": "bkt", "path": "dir/db.sqlite.gz", "endpoint": "http://127.0.0.1:9000",
          "force_path_style": true}})";

TEST(GoExpandEnvTest, ExpandsDollarNameAndBraces) {
  auto env = FakeEnv({{"KEY", "k1"}, {"A_B", "x"}, {"1", "one"}});
  EXPECT_EQ(ExpandEnv("$KEY/${KEY}-$A_B.", env), "k1/k1-x.");
  EXPECT_EQ(ExpandEnv("a$MISSING|${MISSING}b", env), "a|b");
  EXPECT_EQ(ExpandEnv("$1 ${1}", env), "one one");
}

TEST(GoExpandEnvTest, OddDollarsAsGoTreatsThem) {
  auto env = FakeEnv({{"X", "v"}});
  EXPECT_EQ(ExpandEnv("cost $ 5", env), "cost $ 5");      // '$' before a space stays
  EXPECT_EQ(ExpandEnv("end$", env), "end$");              // a last '$' stays
  EXPECT_EQ(ExpandEnv("a${}b", env), "ab");               // "${}" is dropped
  EXPECT_EQ(ExpandEnv("a${X", env), "aX");                // "${" never closed: the "${" is dropped
  EXPECT_EQ(ExpandEnv("p$%q", env), "p$%q");
  EXPECT_EQ(ExpandEnv("$$", env), "");                    // "$$" is the special name "$", unset
  EXPECT_EQ(ExpandEnv("no dollars", env), "no dollars");
}

TEST(GoDurationTest, ParsesGoForms) {
  EXPECT_EQ(*ParseGoDuration("300ms"), std::chrono::milliseconds(300));
  EXPECT_EQ(*ParseGoDuration("1.5h"), std::chrono::minutes(90));
  EXPECT_EQ(*ParseGoDuration("2h45m"), std::chrono::minutes(165));
  EXPECT_EQ(*ParseGoDuration("-1.5s"), std::chrono::milliseconds(-1500));
  EXPECT_EQ(*ParseGoDuration("0"), std::chrono::nanoseconds(0));
  EXPECT_EQ(*ParseGoDuration("1us"), std::chrono::microseconds(1));
  EXPECT_EQ(*ParseGoDuration("1\xC2\xB5s"), std::chrono::microseconds(1));
  EXPECT_EQ(*ParseGoDuration(".5s"), std::chrono::milliseconds(500));
}

TEST(GoDurationTest, RejectsWithGoMessages) {
  EXPECT_EQ(ParseGoDuration("1").status().message(), "time: missing unit in duration \"1\"");
  EXPECT_EQ(ParseGoDuration("1d").status().message(), "time: unknown unit \"d\" in duration \"1d\"");
  EXPECT_EQ(ParseGoDuration("").status().message(), "time: invalid duration \"\"");
  EXPECT_EQ(ParseGoDuration("abc").status().message(), "time: invalid duration \"abc\"");
  EXPECT_FALSE(ParseGoDuration("99999999999h").ok());
}

TEST(GoDurationTest, FormatsAsGoPrints) {
  EXPECT_EQ(FormatGoDuration(std::chrono::nanoseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::seconds(30)), "30s");
  EXPECT_EQ(FormatGoDuration(std::chrono::seconds(60)), "1m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::seconds(3600)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(std::chrono::milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(std::chrono::microseconds(1500)), "1.5ms");
  EXPECT_EQ(FormatGoDuration(std::chrono::nanoseconds(1500)), "1.5\xC2\xB5s");
  EXPECT_EQ(FormatGoDuration(std::chrono::nanoseconds(12)), "12ns");
  EXPECT_EQ(FormatGoDuration(std::chrono::minutes(-90)), "-1h30m0s");
}

TEST(BackupConfigTest, ParsesEveryS3Field) {
  Result<BackupConfig> c = ParseBackupConfig(kS3Backup);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->version, 1);
  EXPECT_EQ(c->interval, std::chrono::minutes(5));
  EXPECT_TRUE(c->no_compress);
  EXPECT_TRUE(c->vacuum);
  EXPECT_TRUE(c->timestamp);
  const auto& s3 = std::get<S3Config>(c->storage);
  EXPECT_EQ(s3.access_key_id, "AKID");
  EXPECT_EQ(s3.secret_access_key, "SECRET");
  EXPECT_EQ(s3.region, "eu-west-1");
  EXPECT_EQ(s3.bucket, "bkt");
  EXPECT_EQ(s3.path, "dir/db.sqlite.gz");
  EXPECT_EQ(s3.endpoint, "http://127.0.0.1:9000");
  EXPECT_TRUE(s3.force_path_style);
  EXPECT_EQ(StorageTypeName(c->storage), "s3");
  EXPECT_EQ(DescribeStorage(c->storage).find("SECRET"), std::string::npos);
}

TEST(BackupConfigTest, DefaultsAndGoJsonLeniency) {
  // Keys match case-insensitively, unknown keys are ignored, null is unset,
  // a number interval is nanoseconds.
  Result<BackupConfig> c = ParseBackupConfig(R"({"Version": 1, "TYPE": "s3", "interval": 1000000000,
    "vacuum": null, "extra": [1], "sub": {"Bucket": "b", "path": "k", "region": "us-east-1"}})");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->interval, std::chrono::seconds(1));
  EXPECT_FALSE(c->no_compress);
  EXPECT_FALSE(c->vacuum);
  EXPECT_FALSE(c->timestamp);
  EXPECT_EQ(std::get<S3Config>(c->storage).bucket, "b");
}

TEST(BackupConfigTest, ParsesGcsAndFileSubs) {
  Result<BackupConfig> gcs = ParseBackupConfig(R"({"version":1,"type":"gcs","interval":"1h","sub":{
    "project_id":"p","bucket":"b","name":"db.gz","credentials_path":"/k.json","endpoint":"http://x"}})");
  ASSERT_TRUE(gcs.ok()) << gcs.status().ToString();
  const auto& g = std::get<GcsConfig>(gcs->storage);
  EXPECT_EQ(g.project_id, "p");
  EXPECT_EQ(g.name, "db.gz");
  EXPECT_EQ(g.credentials_path, "/k.json");
  EXPECT_EQ(g.endpoint, "http://x");
  Result<BackupConfig> file = ParseBackupConfig(
      R"({"version":1,"type":"file","interval":"30s","sub":{"dir":"/var/backups","name":"b.sqlite"}})");
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(std::get<FileConfig>(file->storage).dir, "/var/backups");
  EXPECT_EQ(std::get<FileConfig>(file->storage).name, "b.sqlite");
  Result<BackupConfig> readme_spelling = ParseBackupConfig(
      R"({"version":1,"type":"file","interval":"30s","sub":{"dir":"/d","file":"b.sqlite"}})");
  ASSERT_TRUE(readme_spelling.ok());
  EXPECT_EQ(std::get<FileConfig>(readme_spelling->storage).name, "b.sqlite");
}

void ExpectBackupError(const std::string& json, const std::string& fragment) {
  Result<BackupConfig> c = ParseBackupConfig(json);
  ASSERT_FALSE(c.ok()) << json;
  EXPECT_TRUE(c.status().IsInvalidArgument());
  EXPECT_NE(c.status().message().find(fragment), std::string::npos) << c.status().message();
}

const std::string kSub = R"("sub":{"bucket":"b","path":"k","region":"r"})";

TEST(BackupConfigTest, EveryBadFieldIsNamed) {
  ExpectBackupError("not json", "not valid JSON");
  ExpectBackupError("[1]", "must be a JSON object");
  ExpectBackupError(R"({"version":2,"type":"s3","interval":"1s",)" + kSub + "}", "invalid version 2");
  ExpectBackupError(R"({"version":"1","type":"s3","interval":"1s",)" + kSub + "}", "\"version\": must be an integer");
  ExpectBackupError(R"({"version":1,"type":"azure","interval":"1s",)" + kSub + "}", "unsupported storage type \"azure\"");
  ExpectBackupError(R"({"version":1,"interval":"1s",)" + kSub + "}", "unsupported storage type \"\"");
  ExpectBackupError(R"({"version":1,"type":"s3",)" + kSub + "}", "\"interval\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1d",)" + kSub + "}", "unknown unit \"d\"");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"0s",)" + kSub + "}", "invalid interval");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":true,)" + kSub + "}", "\"interval\": must be a duration");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","vacuum":"yes",)" + kSub + "}",
                    "\"vacuum\": must be true or false");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s"})", "\"sub\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":"x"})", "\"sub\": must be an object");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"path":"k","region":"r"}})", "\"bucket\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"bucket":"b","region":"r"}})", "\"path\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"bucket":"b","path":"k"}})", "\"region\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"bucket":"b","path":"k","region":"r",
    "access_key_id":"A"}})", "\"secret_access_key\": required");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"bucket":7,"path":"k","region":"r"}})",
                    "\"sub\": \"bucket\": must be a string");
  ExpectBackupError(R"({"version":1,"type":"s3","interval":"1s","sub":{"bucket":"b","path":"k","region":"r",
    "force_path_style":"true"}})", "\"force_path_style\": must be true or false");
  ExpectBackupError(R"({"version":1,"type":"gcs","interval":"1s","sub":{"bucket":"b","name":"n"}})",
                    "\"credentials_path\": required");
  ExpectBackupError(R"({"version":1,"type":"gcs","interval":"1s","sub":{"bucket":"b","credentials_path":"c"}})",
                    "\"name\": required");
  ExpectBackupError(R"({"version":1,"type":"file","interval":"1s","sub":{"dir":"rel","name":"n"}})",
                    "must be an absolute path");
  ExpectBackupError(R"({"version":1,"type":"file","interval":"1s","sub":{"dir":"/d","name":"../n"}})",
                    "must be a plain file name");
  ExpectBackupError(R"({"version":1,"type":"file","interval":"1s","sub":{"dir":"/d"}})", "\"name\": required");
}

TEST(RestoreConfigTest, TimeoutDefaultsToThirtySeconds) {
  Result<RestoreConfig> c = ParseRestoreConfig(R"({"version":1,"type":"s3",)" + kSub + "}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->timeout, std::chrono::seconds(30));
  EXPECT_FALSE(c->continue_on_failure);
}

TEST(RestoreConfigTest, ParsesTimeoutAndContinueOnFailure) {
  Result<RestoreConfig> c =
      ParseRestoreConfig(R"({"version":1,"type":"s3","timeout":"2m","continue_on_failure":true,)" + kSub + "}");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->timeout, std::chrono::minutes(2));
  EXPECT_TRUE(c->continue_on_failure);
  Result<RestoreConfig> bad = ParseRestoreConfig(R"({"version":1,"type":"s3","timeout":"soon",)" + kSub + "}");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("auto-restore config: \"timeout\""), std::string::npos);
  Result<RestoreConfig> flag = ParseRestoreConfig(R"({"version":1,"type":"s3","continue_on_failure":1,)" + kSub + "}");
  ASSERT_FALSE(flag.ok());
  EXPECT_NE(flag.status().message().find("\"continue_on_failure\""), std::string::npos);
}

TEST(ConfigFileTest, ExpandsEnvironmentBeforeParsing) {
  std::string path = ::testing::TempDir() + "/backup_config_test.json";
  {
    std::ofstream out(path);
    out << R"({"version":1,"type":"s3","interval":"${EVERY}","sub":{"access_key_id":"$KEY_ID",
      "secret_access_key":"${SECRET}","region":"r","bucket":"b","path":"k"}})";
  }
  auto env = FakeEnv({{"EVERY", "10s"}, {"KEY_ID", "AKIDFROMENV"}, {"SECRET", "s3cr3t"}});
  Result<BackupConfig> c = ReadBackupConfigFile(path, env);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->interval, std::chrono::seconds(10));
  EXPECT_EQ(std::get<S3Config>(c->storage).access_key_id, "AKIDFROMENV");
  EXPECT_EQ(std::get<S3Config>(c->storage).secret_access_key, "s3cr3t");
  Result<RestoreConfig> r = ReadRestoreConfigFile(path, env);
  ASSERT_TRUE(r.ok()) << r.status().ToString();  // "interval" is ignored by restore
  std::remove(path.c_str());
}

TEST(ConfigFileTest, MissingFileIsAnIOErrorNamingIt) {
  Result<BackupConfig> c = ReadBackupConfigFile("/nonexistent/auto-backup.json");
  ASSERT_FALSE(c.ok());
  EXPECT_TRUE(c.status().IsIOError());
  EXPECT_NE(c.status().message().find("/nonexistent/auto-backup.json"), std::string::npos);
}

}  // namespace
}  // namespace rq::backup
