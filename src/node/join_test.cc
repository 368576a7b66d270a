#include "node/join.h"

#include <gtest/gtest.h>

namespace rq::node {
namespace {

config::Config NodeOne(std::string join) {
  config::Config config;
  config.node_id = "1";
  config.raft_addr = config.raft_adv_addr = "127.0.0.1:4002";
  config.http_addr = config.http_adv_addr = "127.0.0.1:4001";
  config.join_targets = config::ParseJoinTargets(join);
  return config;
}

raft::Membership Voters(std::vector<std::string> ids) {
  raft::Membership membership;
  for (auto& id : ids) membership.voters.push_back(NodeId(id));
  return membership;
}

TEST(LeadsItsOwnClusterButJoinsAnotherTest, OnlyTheSoleVoterJoiningSomeoneElseIsRefused) {
  EXPECT_TRUE(LeadsItsOwnClusterButJoinsAnother(NodeOne("127.0.0.1:5002"), Voters({"1"})));
  EXPECT_TRUE(LeadsItsOwnClusterButJoinsAnother(NodeOne("http://127.0.0.1:5001"), Voters({"1"})));
  // A member of a larger cluster restarted with its usual -join, and a node
  // told to join itself, go on as before.
  EXPECT_FALSE(LeadsItsOwnClusterButJoinsAnother(NodeOne("127.0.0.1:5002"), Voters({"1", "2", "3"})));
  EXPECT_FALSE(LeadsItsOwnClusterButJoinsAnother(NodeOne("127.0.0.1:4002"), Voters({"1"})));
  EXPECT_FALSE(LeadsItsOwnClusterButJoinsAnother(NodeOne("http://127.0.0.1:4001"), Voters({"1"})));
  EXPECT_FALSE(LeadsItsOwnClusterButJoinsAnother(NodeOne(""), Voters({"1"})));
  raft::Membership with_replica = Voters({"1"});
  with_replica.learners.push_back(NodeId("9"));
  EXPECT_FALSE(LeadsItsOwnClusterButJoinsAnother(NodeOne("127.0.0.1:5002"), with_replica));
}

}  // namespace
}  // namespace rq::node
