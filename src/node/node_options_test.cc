#include "node/node_options.h"

#include <gtest/gtest.h>

namespace rq::node {
namespace {

TEST(SplitHostPortTest, NamesAddressesAndBracketedIpv6) {
  EXPECT_EQ(SplitHostPort("localhost:4001"), (std::pair<std::string, std::string>{"localhost", "4001"}));
  EXPECT_EQ(SplitHostPort(":4001"), (std::pair<std::string, std::string>{"", "4001"}));
  EXPECT_EQ(SplitHostPort("[::1]:4003"), (std::pair<std::string, std::string>{"::1", "4003"}));
}

TEST(StoreOptionsTest, TicksAreATenthOfTheElectionTimeoutButNeverUnder10ms) {
  config::Config config;
  config.raft_election_timeout = std::chrono::seconds(1);
  store::StoreOptions options = MakeStoreOptions(config);
  EXPECT_EQ(options.tick, std::chrono::milliseconds(100));
  EXPECT_EQ(options.election_ticks, 10u);

  config.raft_election_timeout = std::chrono::milliseconds(50);
  options = MakeStoreOptions(config);
  EXPECT_EQ(options.tick, std::chrono::milliseconds(10));
  EXPECT_EQ(options.election_ticks, 5u);

  // Even a timeout shorter than two ticks keeps an election at two ticks,
  // so the randomized timeout has a range to draw from.
  config.raft_election_timeout = std::chrono::milliseconds(5);
  EXPECT_EQ(MakeStoreOptions(config).election_ticks, 2u);
}

TEST(ServerConfigTest, AnEmptyHostListensOnEveryInterfaceAndTmpIsInTheDataDirectory) {
  config::Config config;
  config.http_addr = ":4011";
  config.data_path = "/var/lib/rqlite";
  http::Config server = MakeServerConfig(config, "v1");
  EXPECT_EQ(server.address, "0.0.0.0");
  EXPECT_EQ(server.port, 4011);
  EXPECT_EQ(server.temp_dir, "/var/lib/rqlite/tmp");
  EXPECT_EQ(server.version, "v1");
}

TEST(IdentityTest, AuthAndTlsFollowTheirFlags) {
  config::Config config;
  EXPECT_FALSE(MakeIdentity(config, "v1").auth_enabled);
  EXPECT_FALSE(MakeIdentity(config, "v1").tls_enabled);
  config.auth_file = "/etc/rqlite/auth.json";
  config.http_cert = "/etc/rqlite/cert.pem";
  EXPECT_TRUE(MakeIdentity(config, "v1").auth_enabled);
  EXPECT_TRUE(MakeIdentity(config, "v1").tls_enabled);
}

}  // namespace
}  // namespace rq::node
