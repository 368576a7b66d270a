#include "store/snapshot_meta.h"

#include <algorithm>

#include "base/coding.h"
#include "base/crc32c.h"

namespace rq::store {
namespace {

constexpr uint32_t kMagic = 0x52515331;  // "RQS1"

void PutNodes(std::string* out, const std::vector<NodeId>& nodes) {
  coding::PutVarint64(out, nodes.size());
  for (const NodeId& id : nodes) coding::PutLengthPrefixed(out, id.value());
}

// Also holds the ids to raft::Membership's invariants (non-empty, sorted,
// unique): a record is read from disk and from a peer's snapshot stream, and
// a membership breaking them would trip assertions far from here.
bool GetNodes(std::string_view* in, std::vector<NodeId>* nodes) {
  auto count = coding::GetVarint64(in);
  if (!count || *count > 100000) return false;
  for (uint64_t i = 0; i < *count; ++i) {
    auto id = coding::GetLengthPrefixed(in);
    if (!id || id->empty()) return false;
    if (!nodes->empty() && !(nodes->back().value() < *id)) return false;
    nodes->emplace_back(std::string(*id));
  }
  return true;
}

bool Disjoint(const raft::Membership& membership) {
  for (const NodeId& id : membership.learners) {
    if (std::binary_search(membership.voters.begin(), membership.voters.end(), id)) return false;
  }
  return true;
}

}  // namespace

DataPaths::DataPaths(std::string dir)
    : data_dir(std::move(dir)),
      db(env::JoinPath(data_dir, "db.sqlite")),
      raft_dir(env::JoinPath(data_dir, "raft")),
      log_dir(env::JoinPath(raft_dir, "log")),
      snapshot_meta(env::JoinPath(raft_dir, "snapshot.meta")),
      checkpoint_intent(env::JoinPath(raft_dir, "checkpoint.intent")),
      tmp_dir(env::JoinPath(data_dir, "tmp")),
      maintenance(env::JoinPath(raft_dir, "maintenance")) {}

namespace {
std::string SnapshotName(const raft::SnapshotMeta& meta) {
  return std::to_string(meta.index.value()) + "-" + std::to_string(meta.term.value());
}
}  // namespace

std::string DataPaths::InstallIntent(const raft::SnapshotMeta& meta) const {
  return env::JoinPath(raft_dir, "install-" + SnapshotName(meta) + ".intent");
}

std::string DataPaths::IncomingDb(const raft::SnapshotMeta& meta) const {
  return env::JoinPath(raft_dir, "incoming-" + SnapshotName(meta) + ".sqlite");
}

// Layout: magic u32 | crc32c(masked, of body) u32 | body; body = varint index
// | varint term | voters | learners | addresses (varint count, then id and
// encoded NodeAddress, each length-prefixed).
std::string EncodeSnapshotRecord(const SnapshotRecord& record) {
  std::string body;
  coding::PutVarint64(&body, record.meta.index.value());
  coding::PutVarint64(&body, record.meta.term.value());
  PutNodes(&body, record.meta.membership.voters);
  PutNodes(&body, record.meta.membership.learners);
  PutAddressMap(&body, record.addresses);
  std::string out;
  coding::PutFixed32(&out, kMagic);
  coding::PutFixed32(&out, crc32c::Mask(crc32c::Value(body)));
  out += body;
  return out;
}

Result<SnapshotRecord> DecodeSnapshotRecord(std::string_view data) {
  if (data.size() < 8 || coding::DecodeFixed32(data.data()) != kMagic) {
    return Status::Corruption("snapshot record: bad magic");
  }
  uint32_t crc = crc32c::Unmask(coding::DecodeFixed32(data.data() + 4));
  std::string_view body = data.substr(8);
  if (crc32c::Value(body) != crc) return Status::Corruption("snapshot record: crc mismatch");
  SnapshotRecord record;
  auto index = coding::GetVarint64(&body);
  auto term = coding::GetVarint64(&body);
  if (!index || !term) return Status::Corruption("snapshot record: truncated");
  record.meta.index = LogIndex(*index);
  record.meta.term = Term(*term);
  if (!GetNodes(&body, &record.meta.membership.voters) ||
      !GetNodes(&body, &record.meta.membership.learners) || !Disjoint(record.meta.membership) ||
      !GetAddressMap(&body, &record.addresses) || !body.empty()) {
    return Status::Corruption("snapshot record: bad membership");
  }
  return record;
}

Result<SnapshotRecord> ReadSnapshotRecord(env::FileSystem* fs, const std::string& path) {
  Result<std::string> data = fs->ReadFile(path);
  if (!data.ok()) return data.status();
  Result<SnapshotRecord> record = DecodeSnapshotRecord(*data);
  if (!record.ok()) return record.status().WithContext(path);
  return record;
}

Status WriteSnapshotRecord(env::FileSystem* fs, const std::string& path, const SnapshotRecord& record) {
  return fs->WriteFileAtomic(path, EncodeSnapshotRecord(record));
}

}  // namespace rq::store
