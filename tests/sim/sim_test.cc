// Focused simulator scenarios: each drives the Cluster by hand through one
// situation Raft must survive, with the checkers running after every step.
#include <gtest/gtest.h>

#include "sim/cluster.h"
#include "sim/swarm.h"

namespace rq::sim {
namespace {

TEST(SimClusterTest, ElectsALeaderAndCommits) {
  ClusterOptions options;
  Cluster cluster(options);
  cluster.Stabilize(40);
  auto leader = cluster.Leader();
  ASSERT_TRUE(leader.has_value());
  ASSERT_TRUE(cluster.Propose(*leader, "a", false).ok());
  cluster.Stabilize(3);
  EXPECT_EQ(cluster.acks(), 1u);
  EXPECT_TRUE(cluster.checker().ok()) << cluster.checker().violation();
}

}  // namespace
}  // namespace rq::sim
