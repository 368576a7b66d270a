#include "store/node_directory.h"

#include "base/coding.h"

namespace rq::store {

std::string EncodeNodeAddress(const NodeAddress& address) {
  std::string out;
  coding::PutLengthPrefixed(&out, address.raft_addr);
  coding::PutLengthPrefixed(&out, address.api_addr);
  if (address.promote) coding::PutLengthPrefixed(&out, "promote");
  return out;
}

std::optional<NodeAddress> DecodeNodeAddress(std::string_view data) {
  auto raft_addr = coding::GetLengthPrefixed(&data);
  auto api_addr = coding::GetLengthPrefixed(&data);
  if (!raft_addr || !api_addr) return std::nullopt;
  NodeAddress address{std::string(*raft_addr), std::string(*api_addr), false};
  if (!data.empty()) {
    auto flag = coding::GetLengthPrefixed(&data);
    if (!flag || *flag != "promote") return std::nullopt;
    address.promote = true;
  }
  if (!data.empty()) return std::nullopt;
  return address;
}

void PutAddressMap(std::string* out, const AddressMap& addresses) {
  coding::PutVarint64(out, addresses.size());
  for (const auto& [id, address] : addresses) {
    coding::PutLengthPrefixed(out, id.value());
    coding::PutLengthPrefixed(out, EncodeNodeAddress(address));
  }
}

bool GetAddressMap(std::string_view* in, AddressMap* addresses) {
  auto count = coding::GetVarint64(in);
  if (!count || *count > 100000) return false;
  for (uint64_t i = 0; i < *count; ++i) {
    auto id = coding::GetLengthPrefixed(in);
    auto encoded = coding::GetLengthPrefixed(in);
    if (!id || !encoded) return false;
    auto address = DecodeNodeAddress(*encoded);
    if (!address) return false;
    (*addresses)[NodeId(std::string(*id))] = *address;
  }
  return true;
}

void NodeDirectory::Set(const NodeId& id, const NodeAddress& address) {
  std::lock_guard lock(mutex_);
  addresses_[id] = address;
}

void NodeDirectory::Observe(const raft::Entry& entry) {
  if (entry.type != raft::EntryType::kConfigChange) return;
  std::optional<raft::ConfigChange> change = raft::DecodeConfigChange(entry.data);
  if (!change || change->type == raft::ConfigChangeType::kRemove) return;
  std::optional<NodeAddress> address = DecodeNodeAddress(change->context);
  if (address) Set(change->node, *address);
}

std::optional<NodeAddress> NodeDirectory::Get(const NodeId& id) const {
  std::lock_guard lock(mutex_);
  auto it = addresses_.find(id);
  if (it == addresses_.end()) return std::nullopt;
  return it->second;
}

AddressMap NodeDirectory::All() const {
  std::lock_guard lock(mutex_);
  return addresses_;
}

void NodeDirectory::Replace(AddressMap addresses) {
  std::lock_guard lock(mutex_);
  addresses_ = std::move(addresses);
}

}  // namespace rq::store
