#include "store_fuzz_entries.h"

#include <algorithm>
#include <set>
#include <string>
#include <string_view>

#include "base/assert.h"
#include "base/coding.h"
#include "base/crc32c.h"
#include "store/peers_file.h"
#include "store/snapshot_meta.h"

namespace rq::fuzz {
namespace {

constexpr uint32_t kRecordMagic = 0x52515331;  // snapshot_meta.cc's "RQS1"

void CheckMembership(const raft::Membership& membership) {
  for (const auto* ids : {&membership.voters, &membership.learners}) {
    for (size_t i = 0; i < ids->size(); ++i) {
      RQ_ASSERT(!(*ids)[i].value().empty());
      if (i > 0) RQ_ASSERT((*ids)[i - 1] < (*ids)[i]);
    }
  }
  for (const NodeId& id : membership.learners) RQ_ASSERT(!membership.IsVoter(id));
}

}  // namespace

void FuzzSnapshotRecord(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string framed;
  if (!input.empty() && (input[0] & 1) != 0) {
    std::string_view body = input.substr(1);
    coding::PutFixed32(&framed, kRecordMagic);
    coding::PutFixed32(&framed, crc32c::Mask(crc32c::Value(body)));
    framed.append(body);
    input = framed;
  }
  Result<store::SnapshotRecord> record = store::DecodeSnapshotRecord(input);
  if (!record.ok()) return;
  CheckMembership(record->meta.membership);
  Result<store::SnapshotRecord> again = store::DecodeSnapshotRecord(store::EncodeSnapshotRecord(*record));
  RQ_ASSERT(again.ok());
  RQ_ASSERT(*again == *record);
}

void FuzzPeersFile(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  Result<std::vector<store::PeerEntry>> peers = store::ParsePeersFile(input);
  if (!peers.ok()) return;
  std::set<NodeId> ids;
  bool any_voter = false;
  for (const store::PeerEntry& peer : *peers) {
    RQ_ASSERT(!peer.id.value().empty());
    RQ_ASSERT(!peer.raft_addr.empty());
    RQ_ASSERT(ids.insert(peer.id).second);
    any_voter = any_voter || peer.voter;
  }
  RQ_ASSERT(any_voter);
  raft::Membership membership = store::MembershipOf(*peers);
  CheckMembership(membership);
  RQ_ASSERT(membership.voters.size() + membership.learners.size() == peers->size());
}

}  // namespace rq::fuzz
