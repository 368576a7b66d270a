// Tests of the rqlited command line: ParseCommandLine, the legacy flags,
// UnsupportedFeatures and every Config::Validate rule.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "cmd/config.h"

namespace rq::cmd {
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

}  // namespace
}  // namespace rq::cmd
