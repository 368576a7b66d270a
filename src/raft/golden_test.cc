// Golden interaction traces (etcd's datadriven tests, simplified): each file
// in tests/raft/testdata holds commands, each followed by "----" and the exact
// trace it must produce: messages delivered, then node states. Run with
// RAFT_GOLDEN_REWRITE=1 to regenerate the expected output, then review the
// diff: a behaviour change shows up as a readable trace change.
//
// Commands:
//   cluster <n> [voters=<k>] [prevote=<bool>] [checkquorum=<bool>]
//   campaign <id> | tick <id|all> [count] | stabilize | status
//   propose <id> <data> | read <id> <read_id> | transfer <id> <target>
//   add-voter|add-learner|remove <leader> <node> | add-node <id>
//   isolate <id> | heal | crash <id> | restart <id> | compact <id> <trailing>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "raft/test_network.h"

namespace rq::raft {
namespace {

std::string Ids(const std::vector<NodeId>& ids) {
  std::string out;
  for (const NodeId& id : ids) out += (out.empty() ? "" : ",") + id.value();
  return out.empty() ? "-" : out;
}

std::string FormatEntry(const Entry& e) {
  std::string out = std::to_string(e.index.value()) + "@" + std::to_string(e.term.value());
  switch (e.type) {
    case EntryType::kNormal: return out + " '" + e.data + "'";
    case EntryType::kNoop: return out + " noop";
    case EntryType::kConfigChange: {
      auto c = DecodeConfigChange(e.data);
      if (!c) return out + " conf?";
      const char* kinds[] = {"add-voter", "add-learner", "remove"};
      return out + " " + kinds[static_cast<int>(c->type)] + " " + c->node.value();
    }
  }
  return out;
}

std::string FormatMessage(const Message& m) {
  std::ostringstream os;
  os << m.from << "->" << m.to << " t" << m.term << " ";
  if (auto* v = std::get_if<VoteRequest>(&m.body)) {
    os << (v->pre_vote ? "PreVote" : "Vote") << " last=" << v->last_log_index << "@" << v->last_log_term
       << (v->transfer ? " transfer" : "");
  } else if (auto* r = std::get_if<VoteResponse>(&m.body)) {
    os << (r->pre_vote ? "PreVoteResp " : "VoteResp ") << (r->granted ? "granted" : "rejected");
  } else if (auto* a = std::get_if<AppendRequest>(&m.body)) {
    os << "App prev=" << a->prev_log_index << "@" << a->prev_log_term << " commit=" << a->commit;
    if (!a->entries.empty()) {
      os << " [";
      for (size_t i = 0; i < a->entries.size(); ++i) os << (i ? ", " : "") << FormatEntry(a->entries[i]);
      os << "]";
    }
    if (a->read_context) os << " ctx=" << a->read_context;
  } else if (auto* r = std::get_if<AppendResponse>(&m.body)) {
    os << "AppResp ";
    if (r->success) {
      os << "ok match=" << r->match_or_hint;
    } else {
      os << "reject hint=" << r->match_or_hint << " term=" << r->conflict_term;
    }
    if (r->read_context) os << " ctx=" << r->read_context;
  } else if (auto* s = std::get_if<InstallSnapshotRequest>(&m.body)) {
    os << "Snapshot " << s->meta.index << "@" << s->meta.term << " voters=" << Ids(s->meta.membership.voters);
  } else {
    os << "TimeoutNow";
  }
  return os.str();
}

const char* RoleName(Role r) {
  switch (r) {
    case Role::kFollower: return "follower";
    case Role::kPreCandidate: return "pre-candidate";
    case Role::kCandidate: return "candidate";
    case Role::kLeader: return "leader";
  }
  return "?";
}

class Interpreter {
 public:
  std::string Run(const std::vector<std::string>& args) {
    std::ostringstream out;
    const std::string& cmd = args[0];
    auto arg = [&](size_t i) -> const std::string& {
      static const std::string kEmpty;
      return i < args.size() ? args[i] : kEmpty;
    };
    if (cmd == "cluster") {
      Config c;
      int voters = -1;
      for (size_t i = 2; i < args.size(); ++i) {
        auto eq = args[i].find('=');
        std::string key = args[i].substr(0, eq);
        std::string value = args[i].substr(eq + 1);
        if (key == "voters") voters = std::stoi(value);
        if (key == "prevote") c.pre_vote = value == "true";
        if (key == "checkquorum") c.check_quorum = value == "true";
      }
      net_ = std::make_unique<test::Network>(std::stoi(arg(1)), c, voters);
      net_->delivered.clear();
      return StatusLines();
    }
    RQ_ASSERT_MSG(net_ != nullptr, "cluster first");
    if (cmd == "campaign") {
      net_->raft(arg(1)).Campaign();
      return Stabilize();
    } else if (cmd == "stabilize") {
      return Stabilize();
    } else if (cmd == "status") {
      return StatusLines();
    } else if (cmd == "tick") {
      int count = args.size() > 2 ? std::stoi(arg(2)) : 1;
      for (int i = 0; i < count; ++i) {
        if (arg(1) == "all") {
          for (const std::string& id : net_->ids()) {
            if (net_->node(id).alive) net_->raft(id).Tick();
          }
        } else {
          net_->raft(arg(1)).Tick();
        }
      }
      return "ok\n";
    } else if (cmd == "propose") {
      auto r = net_->raft(arg(1)).Propose(arg(2));
      out << (r.ok() ? "index " + std::to_string(r->value()) : r.status().ToString()) << "\n";
    } else if (cmd == "read") {
      out << net_->raft(arg(1)).ReadIndex(std::stoull(arg(2))).ToString() << "\n";
    } else if (cmd == "transfer") {
      out << net_->raft(arg(1)).TransferLeadership(NodeId(arg(2))).ToString() << "\n";
    } else if (cmd == "add-voter" || cmd == "add-learner" || cmd == "remove") {
      ConfigChangeType type = cmd == "add-voter"     ? ConfigChangeType::kAddVoter
                              : cmd == "add-learner" ? ConfigChangeType::kAddLearner
                                                     : ConfigChangeType::kRemove;
      auto r = net_->raft(arg(1)).ProposeConfigChange(ConfigChange{type, NodeId(arg(2)), {}});
      out << (r.ok() ? "index " + std::to_string(r->value()) : r.status().ToString()) << "\n";
    } else if (cmd == "add-node") {
      net_->AddEmptyNode(arg(1));
      out << "ok\n";
    } else if (cmd == "isolate") {
      net_->Isolate(arg(1));
      out << "ok\n";
    } else if (cmd == "heal") {
      net_->Heal();
      out << "ok\n";
    } else if (cmd == "crash") {
      net_->Crash(arg(1));
      out << "ok\n";
    } else if (cmd == "restart") {
      net_->Restart(arg(1));
      return StatusLines();
    } else if (cmd == "compact") {
      net_->Snapshot(arg(1), std::stoull(arg(2)));
      out << "first index " << net_->node(arg(1)).storage->first_index() << "\n";
    } else {
      out << "unknown command " << cmd << "\n";
    }
    return out.str();
  }

 private:
  std::string Stabilize() {
    net_->delivered.clear();
    net_->Stabilize();
    std::string out;
    for (const Message& m : net_->delivered) out += FormatMessage(m) + "\n";
    return out + StatusLines();
  }

  std::string StatusLines() {
    std::ostringstream os;
    for (const std::string& id : net_->ids()) {
      test::TestNode& n = net_->node(id);
      if (!n.alive) {
        os << id << ": down\n";
        continue;
      }
      const Raft& r = *n.raft;
      os << id << ": " << RoleName(r.role()) << " t" << r.term() << " last=" << r.last_index()
         << " commit=" << r.commit_index() << " applied=" << r.applied_index() << " voters=" << Ids(r.membership().voters);
      if (!r.membership().learners.empty()) os << " learners=" << Ids(r.membership().learners);
      if (!n.reads.empty()) {
        os << " reads=";
        for (size_t i = 0; i < n.reads.size(); ++i) os << (i ? "," : "") << n.reads[i].read_id << "@" << n.reads[i].index;
      }
      os << "\n";
    }
    return os.str();
  }

  std::unique_ptr<test::Network> net_;
};

std::vector<std::string> Split(const std::string& line) {
  std::istringstream is(line);
  std::vector<std::string> out;
  std::string word;
  while (is >> word) out.push_back(word);
  return out;
}

// Runs one script; returns the file as it should be (commands + actual output).
std::string RunScript(const std::string& text) {
  std::istringstream in(text);
  std::string line;
  std::string result;
  Interpreter interp;
  bool skipping = false;  // inside an expected-output block
  while (std::getline(in, line)) {
    if (skipping) {
      if (line.empty()) skipping = false;
      continue;
    }
    if (line.empty() || line[0] == '#') {
      result += line + "\n";
      continue;
    }
    result += line + "\n----\n" + interp.Run(Split(line)) + "\n";
    std::streampos pos = in.tellg();
    std::string next;
    if (std::getline(in, next) && next == "----") {
      skipping = true;
    } else if (!next.empty()) {
      in.clear();
      in.seekg(pos);
    }
  }
  while (result.size() >= 2 && result.substr(result.size() - 2) == "\n\n") result.pop_back();
  return result;
}

TEST(RaftGoldenTest, TracesMatchTestdata) {
  std::filesystem::path dir(RQ_RAFT_TESTDATA);
  bool rewrite = std::getenv("RAFT_GOLDEN_REWRITE") != nullptr;
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".txt") continue;
    ++files;
    std::ifstream f(entry.path());
    std::stringstream buf;
    buf << f.rdbuf();
    std::string expected = buf.str();
    std::string actual = RunScript(expected);
    if (rewrite) {
      std::ofstream(entry.path()) << actual;
      continue;
    }
    EXPECT_EQ(actual, expected) << entry.path() << " (RAFT_GOLDEN_REWRITE=1 regenerates it)";
  }
  EXPECT_GT(files, 0);
}

}  // namespace
}  // namespace rq::raft
