// Membership queries and the ConfigChange encoding stored in kConfigChange
// entries.
#include "raft/types.h"

#include <algorithm>

#include "base/coding.h"

namespace rq::raft {
namespace {

// Format version byte; bump (never reuse) if the layout changes.
constexpr uint8_t kConfigChangeVersion = 1;
// A NodeId longer than this is certainly garbage, not a node name.
constexpr uint64_t kMaxNodeIdBytes = 4096;

bool SortedContains(const std::vector<NodeId>& ids, const NodeId& id) {
  return std::binary_search(ids.begin(), ids.end(), id);
}

}  // namespace

bool Membership::IsVoter(const NodeId& id) const { return SortedContains(voters, id); }
bool Membership::IsLearner(const NodeId& id) const { return SortedContains(learners, id); }

Membership ApplyConfigChange(const Membership& membership, const ConfigChange& change) {
  Membership out = membership;
  std::erase(out.voters, change.node);
  std::erase(out.learners, change.node);
  std::vector<NodeId>* target = nullptr;
  if (change.type == ConfigChangeType::kAddVoter) target = &out.voters;
  if (change.type == ConfigChangeType::kAddLearner) target = &out.learners;
  if (target != nullptr) {
    target->insert(std::lower_bound(target->begin(), target->end(), change.node), change.node);
  }
  return out;
}

std::string EncodeConfigChange(const ConfigChange& change) {
  std::string out;
  out.push_back(static_cast<char>(kConfigChangeVersion));
  out.push_back(static_cast<char>(change.type));
  coding::PutLengthPrefixed(&out, change.node.value());
  coding::PutLengthPrefixed(&out, change.context);
  return out;
}

std::optional<ConfigChange> DecodeConfigChange(std::string_view data) {
  if (data.size() < 2) return std::nullopt;
  if (static_cast<uint8_t>(data[0]) != kConfigChangeVersion) return std::nullopt;
  uint8_t type = static_cast<uint8_t>(data[1]);
  if (type > static_cast<uint8_t>(ConfigChangeType::kRemove)) return std::nullopt;
  data.remove_prefix(2);
  auto node = coding::GetLengthPrefixed(&data);
  if (!node || node->empty() || node->size() > kMaxNodeIdBytes) return std::nullopt;
  auto context = coding::GetLengthPrefixed(&data);
  if (!context || !data.empty()) return std::nullopt;
  ConfigChange change;
  change.type = static_cast<ConfigChangeType>(type);
  change.node = NodeId(std::string(*node));
  change.context = std::string(*context);
  return change;
}

}  // namespace rq::raft
