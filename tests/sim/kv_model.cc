// KvModel: command parsing, the hash chain and snapshot encoding.
#include "sim/kv_model.h"

#include <charconv>

#include "base/assert.h"
#include "base/coding.h"

namespace rq::sim {
namespace {

constexpr uint64_t kFnvOffset = 0xcbf29ce484222325ull;
constexpr uint64_t kFnvPrime = 0x100000001b3ull;
// Bump if the encoding changes; snapshots never outlive one process anyway.
constexpr uint8_t kEncodingVersion = 1;

uint64_t Fnv(uint64_t hash, std::string_view bytes) {
  for (char c : bytes) {
    hash ^= static_cast<uint8_t>(c);
    hash *= kFnvPrime;
  }
  return hash;
}

uint64_t FnvU64(uint64_t hash, uint64_t value) {
  char buf[8];
  coding::EncodeFixed64(buf, value);
  return Fnv(hash, std::string_view(buf, 8));
}

std::optional<int64_t> ParseInt(std::string_view text) {
  int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return value;
}

void PutMembers(std::string* out, const std::vector<NodeId>& ids) {
  coding::PutVarint64(out, ids.size());
  for (const NodeId& id : ids) coding::PutLengthPrefixed(out, id.value());
}

bool GetMembers(std::string_view* in, std::vector<NodeId>* ids) {
  auto count = coding::GetVarint64(in);
  if (!count || *count > 1024) return false;
  for (uint64_t i = 0; i < *count; ++i) {
    auto id = coding::GetLengthPrefixed(in);
    if (!id) return false;
    ids->emplace_back(std::string(*id));
  }
  return true;
}

}  // namespace

uint64_t KvModel::ChainStep(uint64_t chain, const raft::Entry& entry) {
  uint64_t hash = FnvU64(chain ^ kFnvOffset, entry.index.value());
  hash = FnvU64(hash, entry.term.value());
  hash = FnvU64(hash, static_cast<uint64_t>(entry.type));
  return Fnv(hash, entry.data);
}

std::string KvModel::SetCommand(const std::string& key, int64_t value) {
  return "set " + key + " " + std::to_string(value);
}

std::string KvModel::IncrCommand(const std::string& key) { return "incr " + key; }

void KvModel::Apply(const raft::Entry& entry) {
  RQ_ASSERT(entry.index == applied_ + 1);
  applied_ = entry.index;
  chain_ = ChainStep(chain_, entry);
  if (entry.type == raft::EntryType::kConfigChange) {
    auto change = raft::DecodeConfigChange(entry.data);
    RQ_ASSERT_MSG(change.has_value(), "simulated config entry does not decode");
    membership_ = raft::ApplyConfigChange(membership_, *change);
  } else if (entry.type == raft::EntryType::kNormal) {
    ApplyCommand(entry);
  }
}

void KvModel::ApplyCommand(const raft::Entry& entry) {
  std::string_view text = entry.data;
  if (text.starts_with("incr ")) {
    KeyState& state = keys_[std::string(text.substr(5))];
    state.value += 1;
    state.write_index = entry.index;
    return;
  }
  RQ_ASSERT_MSG(text.starts_with("set "), "unknown simulated command");
  text.remove_prefix(4);
  size_t space = text.find(' ');
  RQ_ASSERT(space != std::string_view::npos);
  auto value = ParseInt(text.substr(space + 1));
  RQ_ASSERT(value.has_value());
  KeyState& state = keys_[std::string(text.substr(0, space))];
  state.value = *value;
  state.write_index = entry.index;
}

std::optional<KeyState> KvModel::Get(const std::string& key) const {
  auto it = keys_.find(key);
  if (it == keys_.end()) return std::nullopt;
  return it->second;
}

std::string KvModel::Encode() const {
  std::string out;
  out.push_back(static_cast<char>(kEncodingVersion));
  coding::PutFixed64(&out, applied_.value());
  coding::PutFixed64(&out, chain_);
  PutMembers(&out, membership_.voters);
  PutMembers(&out, membership_.learners);
  coding::PutVarint64(&out, keys_.size());
  for (const auto& [key, state] : keys_) {
    coding::PutLengthPrefixed(&out, key);
    coding::PutFixed64(&out, static_cast<uint64_t>(state.value));
    coding::PutFixed64(&out, state.write_index.value());
  }
  return out;
}

std::optional<KvModel> KvModel::Decode(std::string_view in) {
  KvModel model;
  if (in.size() < 17 || static_cast<uint8_t>(in[0]) != kEncodingVersion) return std::nullopt;
  model.applied_ = LogIndex(coding::DecodeFixed64(in.data() + 1));
  model.chain_ = coding::DecodeFixed64(in.data() + 9);
  in.remove_prefix(17);
  if (!GetMembers(&in, &model.membership_.voters)) return std::nullopt;
  if (!GetMembers(&in, &model.membership_.learners)) return std::nullopt;
  auto count = coding::GetVarint64(&in);
  if (!count) return std::nullopt;
  for (uint64_t i = 0; i < *count; ++i) {
    auto key = coding::GetLengthPrefixed(&in);
    if (!key || in.size() < 16) return std::nullopt;
    KeyState state;
    state.value = static_cast<int64_t>(coding::DecodeFixed64(in.data()));
    state.write_index = LogIndex(coding::DecodeFixed64(in.data() + 8));
    in.remove_prefix(16);
    model.keys_[std::string(*key)] = state;
  }
  if (!in.empty()) return std::nullopt;
  return model;
}

}  // namespace rq::sim
