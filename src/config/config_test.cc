// Tests of the rqlited command line: ParseCommandLine, the legacy flags,
// UnsupportedFeatures and every Config::Validate rule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "config/config.h"

namespace rq::config {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

ParseResult Parse(const std::vector<std::string>& args) { return ParseCommandLine(args, {}); }

Config MustParse(const std::vector<std::string>& args) {
  ParseResult result = Parse(args);
  EXPECT_TRUE(result.config.has_value()) << result.stderr_text;
  return result.config.value_or(Config{});
}

TEST(CommandLineTest, DefaultsAreRqliteV10Defaults) {
  const Config c = MustParse({"/data"});
  EXPECT_EQ(c.data_path, "/data");
  EXPECT_EQ(c.http_addr, "localhost:4001");
  EXPECT_EQ(c.raft_addr, "localhost:4002");
  EXPECT_EQ(c.join_attempts, 5);
  EXPECT_EQ(c.join_interval, seconds(3));
  EXPECT_EQ(c.bootstrap_expect_timeout, seconds(120));
  EXPECT_EQ(c.disco_key, "rqlite");
  EXPECT_EQ(c.raft_snap_entries, 8192u);
  EXPECT_EQ(c.raft_snap_wal_size_bytes, 4194304u);
  EXPECT_EQ(c.raft_snap_interval, seconds(10));
  EXPECT_EQ(c.raft_heartbeat_timeout, seconds(1));
  EXPECT_EQ(c.raft_election_timeout, seconds(1));
  EXPECT_EQ(c.raft_commit_timeout, milliseconds(50));
  EXPECT_EQ(c.raft_apply_timeout, seconds(10));
  EXPECT_EQ(c.raft_log_level, "WARN");
  EXPECT_TRUE(c.raft_shutdown_stepdown);
  EXPECT_EQ(c.cluster_connect_timeout, seconds(30));
  EXPECT_EQ(c.db_max_ro_conns, 256);
  EXPECT_EQ(c.auto_optimize_interval, hours(24));
  EXPECT_EQ(c.write_queue_capacity, 1024);
  EXPECT_EQ(c.write_queue_batch_size, 128);
  EXPECT_EQ(c.write_queue_timeout, milliseconds(50));
  EXPECT_EQ(c.otlp_interval, seconds(30));
  EXPECT_TRUE(c.set_flags.empty());
  EXPECT_TRUE(c.legacy_notes.empty());
}

TEST(CommandLineTest, DevelopersFirstNodeCommandParses) {
  const Config c = MustParse({"-node-id", "1", "/home/u/node.1"});
  EXPECT_EQ(c.node_id, "1");
  EXPECT_EQ(c.data_path, "/home/u/node.1");
  EXPECT_TRUE(c.join_targets.empty());
}

TEST(CommandLineTest, DevelopersLegacySecondNodeCommandParses) {
  const Config c = MustParse({"-on-disk", "-node-id", "2", "-http-addr", "localhost:4003",
                              "-raft-addr", "localhost:4004", "-join", "http://localhost:4001",
                              "/home/u/node.2"});
  EXPECT_EQ(c.node_id, "2");
  EXPECT_EQ(c.http_addr, "localhost:4003");
  EXPECT_EQ(c.raft_addr, "localhost:4004");
  EXPECT_EQ(c.data_path, "/home/u/node.2");
  ASSERT_EQ(c.join_targets.size(), 1u);
  EXPECT_EQ(c.join_targets[0].http_url, "http://localhost:4001");
  EXPECT_TRUE(c.join_targets[0].raft_addr.empty());
  ASSERT_EQ(c.legacy_notes.size(), 2u);
  EXPECT_NE(c.legacy_notes[0].find("always on disk"), std::string::npos);
  EXPECT_NE(c.legacy_notes[1].find("http://localhost:4001"), std::string::npos);
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(CommandLineTest, FlagsAfterDataDirectoryAreAccepted) {
  const Config c = MustParse({"-node-id", "1", "/d", "-http-addr", "h:1", "-fk"});
  EXPECT_EQ(c.data_path, "/d");
  EXPECT_EQ(c.http_addr, "h:1");
  EXPECT_TRUE(c.fk);
  EXPECT_EQ(c.set_flags, (std::vector<std::string>{"node-id", "http-addr", "fk"}));
}

TEST(CommandLineTest, SecondPositionalArgumentIsNamedInTheError) {
  const ParseResult r = Parse({"/d", "-fk", "extra"});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "arguments after data directory (/d) are not accepted ([extra])\n");
}

TEST(CommandLineTest, MissingDataDirectoryExitsOne) {
  const ParseResult r = Parse({"-node-id", "1"});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(r.stderr_text, "fatal: no data directory set\n");
}

TEST(CommandLineTest, UnknownFlagPrintsGoMessageAndUsageAndExitsTwo) {
  const ParseResult r = Parse({"-x", "/d"});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stderr_text, "flag provided but not defined: -x\n" + UsageText());
}

TEST(CommandLineTest, BadValuePrintsGoMessageAndUsageAndExitsTwo) {
  const ParseResult r = Parse({"-join-attempts", "abc", "/d"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stderr_text,
            "invalid value \"abc\" for flag -join-attempts: parse error\n" + UsageText());
  const ParseResult b = Parse({"-fk=maybe", "/d"});
  EXPECT_EQ(b.exit_code, 2);
  EXPECT_TRUE(b.stderr_text.starts_with("invalid boolean value \"maybe\" for -fk: parse error\n"));
  const ParseResult d = Parse({"-raft-snap-int", "10", "/d"});
  EXPECT_EQ(d.exit_code, 2);
  EXPECT_TRUE(d.stderr_text.starts_with(
      "invalid value \"10\" for flag -raft-snap-int: parse error\n"));
}

TEST(CommandLineTest, HelpPrintsUsageAndExitsZero) {
  for (const char* help : {"-h", "-help", "--help"}) {
    const ParseResult r = Parse({help});
    EXPECT_FALSE(r.config);
    EXPECT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.stderr_text, UsageText());
    EXPECT_TRUE(r.stdout_text.empty());
  }
}

TEST(CommandLineTest, VersionPrintsRqliteLayoutAndExitsZeroWithoutDataDirectory) {
  BuildInfo build;
  build.version = "v10.2.7";
  build.commit = "abc123";
  build.branch = "main";
  build.sqlite_version = "3.40.1";
  const ParseResult r = ParseCommandLine({"-version"}, build);
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_TRUE(r.stderr_text.starts_with("rqlited v10.2.7 linux ")) << r.stderr_text;
  EXPECT_NE(r.stderr_text.find(" sqlite3.40.1 (commit abc123, branch main, compiler "),
            std::string::npos)
      << r.stderr_text;
  EXPECT_TRUE(r.stderr_text.ends_with(")\n"));
}

// True when `usage` has a "  -name" entry, typed ("  -name int") or not.
bool UsageListsFlag(const std::string& usage, const std::string& name) {
  const std::string entry = "\n  -" + name;
  for (size_t at = usage.find(entry); at != std::string::npos; at = usage.find(entry, at + 1)) {
    const char next = usage[at + entry.size()];
    if (next == ' ' || next == '\n') return true;
  }
  return false;
}

TEST(CommandLineTest, UsageListsEveryV10FlagButNoLegacyFlag) {
  const std::string usage = UsageText();
  EXPECT_TRUE(usage.find("Usage: rqlited [flags] <data directory>\n") != std::string::npos);
  const char* v10[] = {
      "version", "node-id", "extensions-path", "cdc-config", "otlp-endpoint", "otlp-interval",
      "otlp-insecure", "otlp-no-verify", "otlp-ca-cert", "otlp-cert", "otlp-key", "http-addr",
      "http-adv-addr", "http-allow-origin", "auth", "auto-backup", "auto-restore",
      "http-ca-cert", "http-cert", "http-key", "http-verify-client", "http-verify-common-name",
      "node-cert", "node-key", "node-ca-cert", "node-no-verify", "node-verify-client",
      "node-verify-server-name", "node-verify-common-name", "raft-addr", "raft-adv-addr",
      "join", "join-attempts", "join-interval", "join-as", "bootstrap-expect",
      "bootstrap-expect-timeout", "disco-mode", "disco-key", "disco-config", "raft-non-voter",
      "raft-snap", "raft-snap-wal-size", "raft-snap-int", "raft-leader-lease-timeout",
      "raft-heartbeat-timeout", "raft-election-timeout", "raft-commit-timeout",
      "raft-apply-timeout", "raft-log-level", "raft-remove-shutdown",
      "raft-cluster-remove-shutdown", "raft-shutdown-stepdown", "raft-reap-node-timeout",
      "raft-reap-read-only-node-timeout", "cluster-connect-timeout", "compress-snap-transport",
      "fk", "db-max-ro-conns", "auto-vacuum-int", "auto-optimize-int", "write-queue-capacity",
      "write-queue-batch-size", "write-queue-timeout", "write-queue-tx", "cpu-profile",
      "mem-profile", "trace-profile"};
  for (const char* name : v10) EXPECT_TRUE(UsageListsFlag(usage, name)) << name;
  for (const char* gone : {"on-disk", "dsn", "raft-timeout", "expvar", "RaftWaitForLeader"}) {
    EXPECT_FALSE(UsageListsFlag(usage, gone)) << gone;
  }
  for (const char* line :
       {"  -http-addr string\n    \tHTTP server bind address. To enable HTTPS, set X.509 "
        "certificate and key (default \"localhost:4001\")\n",
        "(default true)\n  -raft-snap uint\n", "  -join-interval duration\n",
        "Maximum time for the bootstrap process (default 2m0s)\n",
        "(default 24h0m0s)\n", "  -raft-reap-node-timeout duration\n"}) {
    EXPECT_NE(usage.find(line), std::string::npos) << line;
  }
}

TEST(LegacyFlagTest, HarmlessLegacyFlagsAreAcceptedWithANote) {
  const std::vector<std::vector<std::string>> cases = {
      {"-on-disk"},          {"-on-disk-startup"},         {"-expvar"},
      {"-pprof=false"},      {"-raft-open-timeout", "2m"}, {"-compression-size", "150"},
      {"-compression-batch", "5"}, {"-raft-leader-wait"},  {"-raft-no-freelist-sync"},
      {"-RaftWaitForLeader"},
  };
  for (std::vector<std::string> args : cases) {
    const std::string flag = args[0].substr(0, args[0].find('='));
    args.push_back("/d");
    const Config c = MustParse(args);
    ASSERT_EQ(c.legacy_notes.size(), 1u) << flag;
    EXPECT_TRUE(c.legacy_notes[0].starts_with(flag + " ")) << c.legacy_notes[0];
    EXPECT_NE(c.legacy_notes[0].find("ignored"), std::string::npos) << c.legacy_notes[0];
    EXPECT_TRUE(c.UnsupportedFeatures().empty()) << flag;
  }
}

TEST(LegacyFlagTest, LegacyBooleanNeverSwallowsTheNextFlag) {
  const Config c = MustParse({"-on-disk", "-node-id", "2", "-expvar", "/d"});
  EXPECT_EQ(c.node_id, "2");
  EXPECT_EQ(c.data_path, "/d");
}

TEST(LegacyFlagTest, RaftTimeoutIsAnAliasOfHeartbeatTimeoutWithANote) {
  const Config c = MustParse({"-raft-timeout", "3s", "/d"});
  EXPECT_EQ(c.raft_heartbeat_timeout, seconds(3));
  EXPECT_TRUE(c.WasSet("raft-heartbeat-timeout"));
  ASSERT_EQ(c.legacy_notes.size(), 1u);
  EXPECT_NE(c.legacy_notes[0].find("-raft-heartbeat-timeout"), std::string::npos);
}

TEST(LegacyFlagTest, LegacyFlagsWithEffectsWeCannotHonourAreRefused) {
  const std::pair<std::vector<std::string>, const char*> cases[] = {
      {{"-on-disk-path", "/x.db"}, "db.sqlite in the data directory"},
      {{"-dsn", "cache=shared"}, "use -fk"},
      {{"-http-no-verify"}, "-node-no-verify"},
      {{"-node-encrypt"}, "-node-cert and -node-key"},
      {{"-disco-url", "http://discovery.rqlite.com"}, "-disco-mode"},
      {{"-disco-id", "abc"}, "-disco-mode"},
      {{"-join-source-ip", "10.0.0.1"}, "source address"},
      {{"-tls1011"}, "TLS 1.2"},
  };
  for (auto [args, replacement] : cases) {
    const std::string flag = args[0];
    args.push_back("/d");
    const ParseResult r = Parse(args);
    EXPECT_FALSE(r.config) << flag;
    EXPECT_EQ(r.exit_code, 2) << flag;
    EXPECT_TRUE(r.stderr_text.starts_with("flag " + flag + " is no longer supported: "))
        << r.stderr_text;
    EXPECT_NE(r.stderr_text.find(replacement), std::string::npos) << r.stderr_text;
  }
}

TEST(JoinTargetTest, MixedListKeepsOrderAndKinds) {
  const Config c = MustParse({"-join", "h1:4002,http://h2:4001,HTTPS://h3:4001/x", "/d"});
  ASSERT_EQ(c.join_targets.size(), 3u);
  EXPECT_EQ(c.join_targets[0], (JoinTarget{"h1:4002", ""}));
  EXPECT_EQ(c.join_targets[1], (JoinTarget{"", "http://h2:4001"}));
  EXPECT_EQ(c.join_targets[2], (JoinTarget{"", "HTTPS://h3:4001/x"}));
  EXPECT_EQ(c.legacy_notes.size(), 2u);
}

TEST(JoinTargetTest, AHostWithoutAPortGetsRqlitesDefault) {
  Config c = MustParse({"-join", "h1,http://h2,https://h3/x,[::1],http://[::2]:5001", "/d"});
  ASSERT_TRUE(c.Validate().ok());
  ASSERT_EQ(c.join_targets.size(), 5u);
  EXPECT_EQ(c.join_targets[0], (JoinTarget{"h1:4002", ""}));
  EXPECT_EQ(c.join_targets[1], (JoinTarget{"", "http://h2:4001"}));
  EXPECT_EQ(c.join_targets[2], (JoinTarget{"", "https://h3:4001/x"}));
  EXPECT_EQ(c.join_targets[3], (JoinTarget{"[::1]:4002", ""}));
  EXPECT_EQ(c.join_targets[4], (JoinTarget{"", "http://[::2]:5001"}));
}

TEST(JoinTargetTest, EmptyJoinMeansNoTargets) {
  EXPECT_TRUE(ParseJoinTargets("").empty());
  EXPECT_EQ(ParseJoinTargets("a:1,").size(), 2u);  // the empty entry is refused by Validate
}

TEST(UnsupportedFeaturesTest, DefaultsAndImplementedFlagsListNothing) {
  const Config c = MustParse({"-node-id", "1", "-http-addr", "h:1", "-raft-addr", "h:2", "-join",
                              "h:3", "-fk", "-raft-snap", "100", "-write-queue-tx",
                              "-raft-shutdown-stepdown=false", "-raft-non-voter", "-db-max-ro-conns",
                              "0", "/d"});
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(UnsupportedFeaturesTest, BootstrapExpectReapingAndRemoveShutdownAreBuilt) {
  const Config c = MustParse({"-bootstrap-expect", "3", "-join", "a:1,b:2,c:3", "-bootstrap-expect-timeout", "1m",
                              "-raft-reap-node-timeout", "1m", "-raft-reap-read-only-node-timeout", "2m",
                              "-raft-remove-shutdown", "-raft-cluster-remove-shutdown", "/d"});
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(UnsupportedFeaturesTest, NodeTlsJoinAsAndSnapshotCompressionAreBuilt) {
  const Config c = MustParse({"-node-cert", "c", "-node-key", "k", "-node-ca-cert", "ca", "-node-no-verify",
                              "-node-verify-client", "-node-verify-server-name", "db", "-node-verify-common-name",
                              "n", "-join-as", "bob", "-compress-snap-transport", "/d"});
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(LeaseValidateTest, LeaderLeaseIsWithinTheElectionTimeout) {
  EXPECT_TRUE(MustParse({"-raft-leader-lease-timeout", "500ms", "/d"}).UnsupportedFeatures().empty());
  const ParseResult longer = ParseAndValidate({"-raft-leader-lease-timeout", "2s", "/tmp/rq-flags-test-data"}, {});
  EXPECT_FALSE(longer.config);
  EXPECT_NE(longer.stderr_text.find("-raft-leader-lease-timeout"), std::string::npos);
  const ParseResult tiny = ParseAndValidate({"-raft-leader-lease-timeout", "10ms", "/tmp/rq-flags-test-data"}, {});
  EXPECT_FALSE(tiny.config);
  EXPECT_TRUE(ParseAndValidate({"-raft-leader-lease-timeout", "1s", "/tmp/rq-flags-test-data"}, {}).config);
}

TEST(UnsupportedFeaturesTest, MaintenanceAndOtlpAreBuilt) {
  const Config c = MustParse({"-auto-vacuum-int", "1h", "-auto-optimize-int", "2h", "-otlp-endpoint", "c:4317",
                              "-otlp-insecure", "-otlp-interval", "5s", "/d"});
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(UnsupportedFeaturesTest, CdcAndProfilesAreBuilt) {
  const Config c = MustParse({"-disco-mode", "consul-kv", "-cdc-config", "stdout", "-cpu-profile", "/tmp/p", "/d"});
  EXPECT_TRUE(c.UnsupportedFeatures().empty());
}

TEST(UnsupportedFeaturesTest, EveryV10FeatureFlagStartsTheNode) {
  // The last features to be built; none is refused any more.
  const ParseResult r = ParseAndValidate({"-cdc-config", "stdout", "-cpu-profile", "/tmp/p", "-mem-profile",
                                          "/tmp/m", "-trace-profile", "/tmp/t", "/tmp/rq-flags-test-data"},
                                         {});
  ASSERT_TRUE(r.config) << r.stderr_text;
  EXPECT_EQ(r.config->cdc_config, "stdout");
  EXPECT_EQ(r.stderr_text.find("does not implement"), std::string::npos) << r.stderr_text;
}

// Validate: a temporary directory holds the files that flags may name.
class ValidateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/rq-flags-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
    for (const char* name : {"cert.pem", "key.pem", "ca.pem", "auth.json", "ext.so", "cdc.json"}) {
      std::ofstream(dir_ + "/" + name) << "x";
    }
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string File(const char* name) const { return dir_ + "/" + name; }

  // Parses args plus the data directory, then validates.
  Status ParseAndCheck(std::vector<std::string> args, Config* out = nullptr) {
    args.push_back(dir_ + "/data");
    ParseResult r = ParseCommandLine(args, {});
    if (!r.config) return Status::InvalidArgument("parse failed: " + r.stderr_text);
    Status status = r.config->Validate();
    if (out != nullptr) *out = *r.config;
    return status;
  }

  std::string dir_;
};

struct Rule {
  const char* what;
  std::vector<std::string> args;
  const char* error;  // a substring of the message; nullptr when valid
};

void ExpectRules(const std::vector<Rule>& rules,
                 const std::function<Status(std::vector<std::string>)>& check) {
  for (const Rule& rule : rules) {
    const Status status = check(rule.args);
    if (rule.error == nullptr) {
      EXPECT_TRUE(status.ok()) << rule.what << ": " << status.ToString();
      continue;
    }
    EXPECT_FALSE(status.ok()) << rule.what;
    EXPECT_NE(status.message().find(rule.error), std::string::npos)
        << rule.what << ": got \"" << status.message() << "\", want \"" << rule.error << "\"";
  }
}

TEST_F(ValidateTest, AddressRules) {
  const std::vector<Rule> rules = {
      {"defaults", {}, nullptr},
      {"bind all interfaces, advertise a name", {"-http-addr", "0.0.0.0:4001", "-http-adv-addr",
                                                  "h1:4001"}, nullptr},
      {"empty host binds all", {"-http-addr", ":4001", "-raft-addr", ":4002"}, nullptr},
      {"ipv6 with brackets", {"-http-addr", "[::1]:4001", "-raft-addr", "[::1]:4002"}, nullptr},
      {"same bind", {"-http-addr", "h:1", "-raft-addr", "h:1"},
       "HTTP and Raft addresses must differ"},
      {"same advertised", {"-http-adv-addr", "h:1", "-raft-adv-addr", "h:1"},
       "advertised HTTP and Raft addresses must differ"},
      {"http scheme in bind", {"-http-addr", "http://localhost:4001"}, "without a scheme"},
      {"https scheme in adv", {"-http-adv-addr", "https://h:4001"}, "without a scheme"},
      {"scheme in raft", {"-raft-addr", "http://h:4002"}, "without a scheme"},
      {"missing port", {"-http-addr", "localhost"}, "missing port in address"},
      {"too many colons", {"-raft-addr", "::1:4002"}, "too many colons in address"},
      {"missing bracket", {"-raft-addr", "[::1:4002"}, "missing ']' in address"},
      {"non-numeric port", {"-raft-addr", "localhost:abc"}, "invalid port \"abc\""},
      {"port out of range", {"-http-addr", "localhost:70000"}, "invalid port \"70000\""},
      {"empty port", {"-raft-adv-addr", "h:"}, "invalid port \"\""},
      {"unroutable http adv", {"-http-adv-addr", "0.0.0.0:4001"}, "is not routable"},
      {"unroutable by default", {"-http-addr", "0.0.0.0:4001"}, "-http-adv-addr or -http-addr"},
      {"unroutable raft ipv6", {"-raft-adv-addr", "[::]:4002"}, "-raft-adv-addr or -raft-addr"},
      {"unroutable long ipv6", {"-raft-adv-addr", "[0:0:0:0:0:0:0:0]:4002"}, "is not routable"},
      {"unroutable raft bind", {"-raft-addr", "0.0.0.0:4002"}, "is not routable"},
  };
  ExpectRules(rules, [&](std::vector<std::string> args) { return ParseAndCheck(args); });
}

TEST_F(ValidateTest, FileAndTlsRules) {
  const std::vector<Rule> rules = {
      {"https pair", {"-http-cert", File("cert.pem"), "-http-key", File("key.pem")}, nullptr},
      {"all files exist", {"-auth", File("auth.json"), "-http-ca-cert", File("ca.pem"),
                           "-node-cert", File("cert.pem"), "-node-key", File("key.pem"),
                           "-node-ca-cert", File("ca.pem"), "-extensions-path",
                           File("ext.so") + "," + dir_, "-cdc-config", File("cdc.json")},
       nullptr},
      {"cdc to stdout", {"-cdc-config", "stdout"}, nullptr},
      {"cdc to a URL", {"-cdc-config", "https://hook.example/cdc"}, nullptr},
      {"missing auth", {"-auth", File("nope.json")}, "-auth names"},
      {"missing auto-restore", {"-auto-restore", File("nope.json")}, "does not exist"},
      {"missing cert", {"-http-cert", File("nope.pem"), "-http-key", File("key.pem")},
       "-http-cert names"},
      {"missing extension", {"-extensions-path", File("nope.so")},
       "extension path does not exist"},
      {"missing cdc file", {"-cdc-config", File("nope.json")}, "-cdc-config names"},
      {"http cert alone", {"-http-cert", File("cert.pem")},
       "either both -http-cert and -http-key must be set, or neither"},
      {"node key alone", {"-node-key", File("key.pem")},
       "either both -node-cert and -node-key must be set, or neither"},
      {"http CN without mTLS", {"-http-verify-common-name", "client"},
       "-http-verify-common-name requires -http-verify-client"},
      {"http CN with mTLS", {"-http-verify-common-name", "client", "-http-verify-client"}, nullptr},
      {"node CN without mTLS", {"-node-verify-common-name", "n"},
       "-node-verify-common-name requires -node-verify-client"},
      {"node CN with mTLS", {"-node-verify-common-name", "n", "-node-verify-client"}, nullptr},
      {"join-as without auth", {"-join-as", "bob"}, "-join-as requires -auth"},
      {"join-as with auth", {"-join-as", "bob", "-auth", File("auth.json")}, nullptr},
  };
  ExpectRules(rules, [&](std::vector<std::string> args) { return ParseAndCheck(args); });
}

TEST_F(ValidateTest, ClusterRules) {
  const std::vector<Rule> rules = {
      {"join another node", {"-join", "other:4002"}, nullptr},
      {"join by legacy url", {"-join", "http://other:4001"}, nullptr},
      {"join self", {"-join", "localhost:4002"}, "node cannot join itself (localhost:4002)"},
      {"join self advertised", {"-raft-adv-addr", "me:4002", "-join", "x:1,me:4002"},
       "cannot join itself"},
      {"join self by legacy url", {"-join", "http://localhost:4001"}, "cannot join itself"},
      {"join self when bootstrapping", {"-join", "localhost:4002,b:4002", "-bootstrap-expect",
                                        "2"}, nullptr},
      {"join empty entry", {"-join", "a:1,,b:2"}, "has an empty address"},
      {"join bad url", {"-join", "http://"}, "is not a valid HTTP URL"},
      {"join and auto-restore", {"-join", "o:1", "-auto-restore", File("auth.json")},
       "-auto-restore cannot be used when joining"},
      {"join and disco", {"-join", "o:1", "-disco-mode", "etcd-kv"},
       "-disco-mode cannot be used together with -join"},
      {"bootstrap non-voter", {"-bootstrap-expect", "3", "-raft-non-voter"},
       "applies only to voting nodes"},
      {"bootstrap without join", {"-bootstrap-expect", "3"}, "-bootstrap-expect needs -join"},
      {"bootstrap one node alone", {"-bootstrap-expect", "1"}, nullptr},
      {"cdc on non-voter", {"-cdc-config", "stdout", "-raft-non-voter"},
       "-cdc-config cannot be used on a non-voting node"},
      {"bad disco mode", {"-disco-mode", "zookeeper"}, "must be consul-kv, etcd-kv, dns or dns-srv"},
      {"consul with bootstrap", {"-disco-mode", "consul-kv", "-bootstrap-expect", "3"},
       "-bootstrap-expect cannot be used with -disco-mode consul-kv"},
      {"etcd alone", {"-disco-mode", "etcd-kv"}, nullptr},
      {"dns voter without bootstrap", {"-disco-mode", "dns"},
       "-bootstrap-expect is required when using -disco-mode dns"},
      {"dns-srv voter with bootstrap", {"-disco-mode", "dns-srv", "-bootstrap-expect", "3"},
       nullptr},
      {"dns non-voter", {"-disco-mode", "dns", "-raft-non-voter"}, nullptr},
  };
  ExpectRules(rules, [&](std::vector<std::string> args) { return ParseAndCheck(args); });
}

TEST_F(ValidateTest, TimingCountAndOtlpRules) {
  const std::vector<Rule> rules = {
      {"reap off by default", {}, nullptr},
      {"reap set explicitly to zero", {"-raft-reap-node-timeout", "0h"},
       "-raft-reap-node-timeout must be greater than 0"},
      {"read-only reap set to zero", {"-raft-reap-read-only-node-timeout", "0s"},
       "-raft-reap-read-only-node-timeout must be greater than 0"},
      {"reap set to an hour", {"-raft-reap-node-timeout", "1h"}, nullptr},
      {"zero election timeout", {"-raft-election-timeout", "0s"},
       "-raft-election-timeout must be greater than 0"},
      {"negative join interval", {"-join-interval", "-1s"}, "-join-interval cannot be negative"},
      {"zero join attempts", {"-join-attempts", "0"}, "-join-attempts must be greater than 0"},
      {"zero queue capacity", {"-write-queue-capacity", "0"}, "-write-queue-capacity"},
      {"negative ro conns", {"-db-max-ro-conns", "-1"}, "-db-max-ro-conns cannot be negative"},
      {"unlimited ro conns", {"-db-max-ro-conns", "0"}, nullptr},
      {"log level lower case", {"-raft-log-level", "debug"}, nullptr},
      {"bad log level", {"-raft-log-level", "LOUD"}, "-raft-log-level \"LOUD\" is not valid"},
      {"otlp option without endpoint", {"-otlp-insecure"}, "require -otlp-endpoint"},
      {"otlp interval without endpoint", {"-otlp-interval", "10s"}, "require -otlp-endpoint"},
      {"otlp endpoint", {"-otlp-endpoint", "collector:4317", "-otlp-insecure"}, nullptr},
      {"otlp scheme", {"-otlp-endpoint", "http://collector:4317"}, "without a scheme"},
      {"otlp zero interval", {"-otlp-endpoint", "c:4317", "-otlp-interval", "0s"},
       "-otlp-interval must be greater than 0"},
      {"otlp insecure with ca", {"-otlp-endpoint", "c:4317", "-otlp-insecure", "-otlp-ca-cert",
                                 File("ca.pem")}, "-otlp-insecure cannot be combined"},
      {"otlp cert alone", {"-otlp-endpoint", "c:4317", "-otlp-cert", File("cert.pem")},
       "either both -otlp-cert and -otlp-key"},
      {"otlp mtls", {"-otlp-endpoint", "c:4317", "-otlp-cert", File("cert.pem"), "-otlp-key",
                     File("key.pem"), "-otlp-ca-cert", File("ca.pem")}, nullptr},
  };
  ExpectRules(rules, [&](std::vector<std::string> args) { return ParseAndCheck(args); });
}

TEST_F(ValidateTest, FillsAdvertisedAddressesAndNodeIdAndIsIdempotent) {
  Config c;
  ASSERT_TRUE(ParseAndCheck({"-http-addr", "h:4001", "-raft-addr", "h:4002"}, &c).ok());
  EXPECT_EQ(c.http_adv_addr, "h:4001");
  EXPECT_EQ(c.raft_adv_addr, "h:4002");
  EXPECT_EQ(c.node_id, "h:4002");
  EXPECT_EQ(c.HttpUrl(), "http://h:4001");
  ASSERT_TRUE(ParseAndCheck({"-raft-adv-addr", "pub:4002"}, &c).ok());
  EXPECT_EQ(c.node_id, "pub:4002");
  const Config before = c;
  ASSERT_TRUE(c.Validate().ok());
  EXPECT_EQ(c.node_id, before.node_id);
  EXPECT_EQ(c.data_path, before.data_path);
}

TEST_F(ValidateTest, HttpUrlIsHttpsWhenACertificateIsSet) {
  Config c;
  ASSERT_TRUE(ParseAndCheck({"-http-cert", File("cert.pem"), "-http-key", File("key.pem"),
                             "-http-adv-addr", "pub:4001"}, &c).ok());
  EXPECT_EQ(c.HttpUrl(), "https://pub:4001");
}

TEST_F(ValidateTest, DataPathIsMadeAbsoluteAndClean) {
  const std::filesystem::path cwd = std::filesystem::current_path();
  ParseResult r = ParseCommandLine({"rel/./node.1/"}, {});
  ASSERT_TRUE(r.config);
  ASSERT_TRUE(r.config->Validate().ok());
  EXPECT_EQ(r.config->data_path, (cwd / "rel/node.1").string());
}

TEST_F(ValidateTest, ParseAndValidateReportsFatalWithExitOne) {
  const ParseResult r = ParseAndValidate({"-http-addr", "http://localhost:4001", dir_}, {});
  EXPECT_FALSE(r.config);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(r.stderr_text.starts_with("fatal: -http-addr value \"http://localhost:4001\""))
      << r.stderr_text;
  const ParseResult ok = ParseAndValidate({"-node-id", "1", dir_}, {});
  ASSERT_TRUE(ok.config) << ok.stderr_text;
  EXPECT_EQ(ok.config->data_path, dir_);
}

}  // namespace
}  // namespace rq::config
