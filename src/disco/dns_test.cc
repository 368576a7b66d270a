#include "disco/dns.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>

namespace rq::disco {
namespace {

TEST(DiscoConfigTest, JsonTextIsUsedAsIsWithEnvironmentExpanded) {
  setenv("RQ_DISCO_TEST_NAME", "rqlite.svc", 1);
  auto text = ReadDiscoConfig(R"({"name": "$RQ_DISCO_TEST_NAME", "x": "${RQ_DISCO_TEST_NAME}-2", "y": "$"})");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"name": "rqlite.svc", "x": "rqlite.svc-2", "y": "$"})");
}

TEST(DiscoConfigTest, APathIsReadAsAFile) {
  std::string path = ::testing::TempDir() + "/disco.json";
  std::ofstream(path) << R"({"name": "from-file"})";
  auto text = ReadDiscoConfig(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, R"({"name": "from-file"})");
  std::remove(path.c_str());
}

TEST(DnsDiscoveryTest, BadConfigurationsAreRefusedByName) {
  EXPECT_NE(MakeDnsDiscovery("consul-kv", "{}", "4002").status().message().find("not a DNS mode"), std::string::npos);
  EXPECT_NE(MakeDnsDiscovery("dns", "not json", "4002").status().message().find("JSON object"), std::string::npos);
  EXPECT_NE(MakeDnsDiscovery("dns", "{}", "4002").status().message().find("needs a \"name\""), std::string::npos);
  EXPECT_NE(MakeDnsDiscovery("dns-srv", R"({"name": "a"})", "4002").status().message().find("\"service\""),
            std::string::npos);
}

TEST(DnsDiscoveryTest, DnsModeResolvesTheNameWithThisNodesRaftPort) {
  auto discovery = MakeDnsDiscovery("dns", R"({"name": "localhost"})", "4702");
  ASSERT_TRUE(discovery.ok()) << discovery.status().ToString();
  auto targets = (*discovery)();
  ASSERT_TRUE(targets.ok()) << targets.status().ToString();
  bool has_ipv4_loopback = false;
  for (const std::string& target : *targets) {
    EXPECT_TRUE(target.ends_with(":4702")) << target;
    has_ipv4_loopback = has_ipv4_loopback || target == "127.0.0.1:4702";
  }
  EXPECT_TRUE(has_ipv4_loopback);
}

TEST(DnsDiscoveryTest, TheHostsOverrideReplacesTheLookupAsInRqlite) {
  auto discovery = MakeDnsDiscovery("dns", R"({"name": "no-such-host.invalid"})", "4002");
  ASSERT_TRUE(discovery.ok());
  setenv(kDnsHostsOverrideEnv, "localhost:4002,10.0.0.2:4004,[::1]:4006", 1);
  auto targets = (*discovery)();
  setenv(kDnsHostsOverrideEnv, "localhost:4002,nope", 1);
  auto bad = (*discovery)();
  unsetenv(kDnsHostsOverrideEnv);
  ASSERT_TRUE(targets.ok()) << targets.status().ToString();
  EXPECT_EQ(*targets, (std::vector<std::string>{"localhost:4002", "10.0.0.2:4004", "[::1]:4006"}));
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "RQLITE_DISCO_DNS_HOSTS: invalid address nope");
  EXPECT_FALSE((*discovery)().ok()) << "unset again: the name is looked up";
}

TEST(DnsDiscoveryTest, AnUnknownNameIsAnErrorNotAnEmptyList) {
  auto discovery = MakeDnsDiscovery("dns", R"({"name": "no-such-host.invalid"})", "4002");
  ASSERT_TRUE(discovery.ok());
  EXPECT_FALSE((*discovery)().ok());
}

}  // namespace
}  // namespace rq::disco
