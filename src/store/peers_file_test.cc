#include "store/peers_file.h"

#include <gtest/gtest.h>

namespace rq::store {
namespace {

std::string ErrorOf(std::string_view text) {
  auto parsed = ParsePeersFile(text);
  EXPECT_FALSE(parsed.ok()) << text;
  return parsed.ok() ? "" : parsed.status().message();
}

TEST(PeersFileTest, RqlitesFormatIsRead) {
  auto peers = ParsePeersFile(R"([{"id": "2", "address": "10.0.0.2:4002", "non_voter": false},
                                  {"id": "1", "address": "10.0.0.1:4002"},
                                  {"id": "9", "address": "10.0.0.9:4002", "non_voter": true}])");
  ASSERT_TRUE(peers.ok()) << peers.status().ToString();
  ASSERT_EQ(peers->size(), 3u);
  EXPECT_EQ((*peers)[0], (PeerEntry{NodeId("2"), "10.0.0.2:4002", true}));
  EXPECT_EQ((*peers)[1], (PeerEntry{NodeId("1"), "10.0.0.1:4002", true}));
  EXPECT_EQ((*peers)[2], (PeerEntry{NodeId("9"), "10.0.0.9:4002", false}));
  raft::Membership membership = MembershipOf(*peers);
  EXPECT_EQ(membership.voters, (std::vector<NodeId>{NodeId("1"), NodeId("2")}));
  EXPECT_EQ(membership.learners, (std::vector<NodeId>{NodeId("9")}));
}

TEST(PeersFileTest, MalformedFilesAreRefusedNamingTheProblem) {
  EXPECT_NE(ErrorOf("[{").find("not valid JSON"), std::string::npos);
  EXPECT_NE(ErrorOf(R"({"id": "1"})").find("expected an array"), std::string::npos);
  EXPECT_NE(ErrorOf(R"([1])").find("entry 1 is not an object"), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"address": "a:1"}])").find("no string \"id\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"id": 1, "address": "a:1"}])").find("no string \"id\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"id": "1"}])").find("(id 1) has no string \"address\""), std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"id": "1", "address": "a:1", "non_voter": "no"}])").find("must be true or false"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"id": "1", "address": "a:1"}, {"id": "1", "address": "b:1"}])").find("listed twice"),
            std::string::npos);
  EXPECT_NE(ErrorOf(R"([{"id": "1", "address": "a:1", "non_voter": true}])").find("no voter"), std::string::npos);
  EXPECT_NE(ErrorOf("[]").find("no voter"), std::string::npos);
}

}  // namespace
}  // namespace rq::store
