// An in-memory cluster of Raft cores for unit tests: each node has a
// MemoryLogStorage and a trivial state machine (the list of applied entries).
// Messages are queued and delivered in order unless a node is isolated, a link
// cut, or a filter drops them. After every Ready the network checks election
// safety (one leader per term) and state machine safety (applied sequences are
// prefixes of one another). Thread-safety: none (tests only).
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "raft/raft.h"

namespace rq::raft::test {

struct TestNode {
  NodeId id;
  Config config;
  std::unique_ptr<MemoryLogStorage> storage;
  std::unique_ptr<Random> random;
  std::unique_ptr<Raft> raft;
  bool alive = true;
  bool auto_advance = true;
  std::optional<Ready> unadvanced;       // the Ready held back when !auto_advance
  std::vector<Entry> applied;            // state machine: everything applied, in order
  std::map<LogIndex, std::vector<Entry>> snapshots;  // applied entries captured per snapshot index
  std::map<LogIndex, std::vector<Entry>> incoming;   // snapshot "bytes" streamed by a leader
  std::vector<ReadState> reads;
  std::optional<Membership> reported_membership;
};

class Network {
 public:
  // Nodes "1".."n"; the first `voters` are voters, the rest learners; all
  // bootstrapped with that membership.
  explicit Network(int n, Config base = Config(), int voters = -1, uint64_t seed = 1);

  Raft& raft(const std::string& id) { return *node(id).raft; }
  TestNode& node(const std::string& id);
  std::vector<std::string> ids() const;

  // Adds a node with empty storage (it learns the cluster from the leader).
  void AddEmptyNode(const std::string& id);
  // Processes Readys and delivers messages until nothing moves.
  void Stabilize(int max_rounds = 10000);
  // One Ready per node and one delivery round.
  bool StepOnce();
  void Tick(const std::string& id, int n = 1);
  // Ticks every live node n times, stabilizing after each tick.
  void TickAll(int n);
  void Campaign(const std::string& id);
  // The leader with the highest term among live nodes, or "" if none.
  std::string Leader() const;
  // Proposes on the leader; RQ_ASSERTs there is one.
  LogIndex ProposeOnLeader(const std::string& data);

  void Isolate(const std::string& id) { isolated_.insert(id); }
  void Cut(const std::string& a, const std::string& b) {
    cut_.insert({a, b});
    cut_.insert({b, a});
  }
  void Heal() {
    isolated_.clear();
    cut_.clear();
  }
  void Crash(const std::string& id) { node(id).alive = false; }
  // Rebuilds the core from its storage, like a process restart.
  void Restart(const std::string& id);
  // Advances the Ready held back on a node with auto_advance off.
  void AdvanceHeld(const std::string& id);
  // Takes a snapshot on `id` at its applied index and compacts its log.
  void Snapshot(const std::string& id, uint64_t trailing);

  // Returns true to drop a message.
  std::function<bool(const Message&)> filter;
  // Every message delivered (for assertions on traffic).
  std::vector<Message> delivered;
  bool report_snapshots = true;
  // When set, each delivery round is shuffled and messages are dropped,
  // duplicated or held back for a later round with these percentages.
  Random* chaos = nullptr;
  uint64_t drop_pct = 10;
  uint64_t dup_pct = 5;
  uint64_t delay_pct = 10;

  // Committed entries of kNormal type applied on `id`, as strings.
  std::vector<std::string> AppliedData(const std::string& id);

 private:
  void ProcessReady(TestNode& n);
  void Deliver(const Message& m);
  void ReportLost(const Message& m);
  bool Blocked(const Message& m) const;
  void CheckSafety(const TestNode& n, const Ready& rd);
  std::unique_ptr<Raft> MakeRaft(TestNode& n);

  std::map<std::string, TestNode> nodes_;
  std::vector<Message> queue_;
  std::set<std::string> isolated_;
  std::set<std::pair<std::string, std::string>> cut_;
  std::map<Term, NodeId> leaders_by_term_;
  // Prints core log lines when RAFT_TEST_LOG is set in the environment.
  class StderrLogger : public Logger {
   public:
    void Log(Level, std::string_view line) override;
    bool Enabled(Level level) const override;
  };
  StderrLogger logger_;
  Config base_;
  uint64_t seed_;
};

Message Msg(const std::string& from, const std::string& to, uint64_t term, MessageBody body);

}  // namespace rq::raft::test
