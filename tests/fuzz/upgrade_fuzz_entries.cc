// Properties checked on every fuzz input; see upgrade_fuzz_entries.h.
#include "upgrade_fuzz_entries.h"

#include <string>
#include <string_view>
#include <vector>

#include "base/assert.h"
#include "upgrade/bolt_reader.h"
#include "upgrade/bolt_test_util.h"
#include "upgrade/go_raft_log.h"
#include "upgrade/go_rqlite_command.h"
#include "upgrade/go_snapshot.h"
#include "upgrade/msgpack.h"
#include "upgrade/sqlite_wal.h"

namespace rq::fuzz {

using namespace rq::upgrade;

std::string UpgradeSampleRaftDb() {
  std::vector<upgrade::testing::BoltElem> conf{{"CurrentTerm", upgrade::testing::BigEndian64(2)},
                                               {"LastVoteCand", "127.0.0.1:16002"},
                                               {"LastVoteTerm", upgrade::testing::BigEndian64(2)}};
  std::vector<upgrade::testing::BoltElem> logs;
  for (uint64_t i = 1; i <= 12; ++i) {
    std::string data = i == 1 ? upgrade::testing::GoConfigurationRecord({{"1", "a:1"}, {"2", "b:2"}})
                              : std::string("\x08\x02\x12\x05\x0a\x03\x12\x01\x0a", 9);
    logs.push_back({upgrade::testing::BigEndian64(i), upgrade::testing::GoLogRecord(i, 2, i == 1 ? 5 : 0, data)});
  }
  // Few entries per leaf: a branch page and several leaves for the flips.
  return upgrade::testing::GoRaftDbFile(conf, logs, 4);
}

namespace {

// Walks the root and every nested bucket (breadth first, bounded).
void WalkEverything(const BoltReader& reader) {
  std::vector<BoltBucket> todo{reader.Root()};
  for (size_t i = 0; i < todo.size() && i < 64; ++i) {
    const BoltBucket bucket = todo[i];
    Status s = reader.ForEach(bucket, [&](const BoltItem& item) -> Status {
      if (!item.is_bucket) {
        // Damaged branch keys may route a lookup elsewhere: only the status
        // kind is checked, not that the lookup finds this item.
        Result<std::optional<std::string_view>> again = reader.Get(bucket, item.key);
        RQ_ASSERT(again.ok() || again.status().IsCorruption());
        return Status::OK();
      }
      Result<BoltBucket> nested = reader.BucketFromItem(bucket, item);
      if (nested.ok()) todo.push_back(*nested);
      return Status::OK();
    });
    if (!s.ok()) RQ_ASSERT(s.IsCorruption());
  }
}

}  // namespace

void FuzzBoltFile(const uint8_t* data, size_t size) {
  std::string file;
  if (size > 0 && (data[0] & 1) != 0) {
    static const std::string sample = UpgradeSampleRaftDb();
    file = sample;
    for (size_t i = 1; i + 2 < size; i += 3) {
      size_t offset = ((size_t{data[i]} << 8 | data[i + 1]) * 7) % file.size();
      file[offset] = static_cast<char>(file[offset] ^ data[i + 2]);
    }
  } else {
    file.assign(reinterpret_cast<const char*>(data), size);
  }
  Result<BoltReader> reader = BoltReader::FromBytes("fuzz.db", file);
  if (!reader.ok()) {
    RQ_ASSERT(reader.status().IsCorruption());
    return;
  }
  WalkEverything(*reader);
  Result<GoRaftStore> store = GoRaftStore::FromBolt(std::move(*reader));
  if (!store.ok()) return;
  Result<std::vector<GoLogEntry>> entries = store->ReadAll();
  if (!entries.ok()) {
    RQ_ASSERT(entries.status().IsCorruption());
    return;
  }
  for (size_t i = 1; i < entries->size(); ++i) {
    RQ_ASSERT((*entries)[i].index == (*entries)[i - 1].index + 1);
    RQ_ASSERT((*entries)[i].term >= (*entries)[i - 1].term);
  }
  (void)LatestConfiguration(*entries);
}

void FuzzGoMsgpack(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  Result<MsgpackValue> value = DecodeMsgpack(bytes);
  if (!value.ok()) RQ_ASSERT(value.status().IsCorruption());
  Result<GoLogEntry> entry = DecodeGoLogEntry(bytes);
  if (entry.ok()) RQ_ASSERT(value.ok());
  Result<GoConfiguration> config = DecodeGoConfiguration(bytes);
  if (config.ok()) {
    RQ_ASSERT(value.ok());
    for (const GoServer& s : config->servers) RQ_ASSERT(!s.id.empty());
  }
  (void)DecodeGoTime(bytes);
}

void FuzzGoCommand(const uint8_t* data, size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  for (GoCommandDialect dialect : {GoCommandDialect::kV7Plus, GoCommandDialect::kV5V6}) {
    Result<GoCommand> command = DecodeGoCommand(bytes, dialect);
    if (!command.ok()) RQ_ASSERT(command.status().IsCorruption());
  }
  (void)GuessGoCommandDialect({bytes});
  Result<GoSnapshotMeta> meta = ParseGoSnapshotMeta(bytes, "fuzz/meta.json");
  if (meta.ok()) RQ_ASSERT(meta->index > 0 && meta->configuration_index <= meta->index);
}

namespace {

void PutBigEndian32(std::string* out, size_t at, uint32_t v) {
  for (int i = 0; i < 4; ++i) (*out)[at + i] = static_cast<char>(v >> (24 - 8 * i));
}
uint32_t LittleEndian32At(const std::string& b, size_t at) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = v << 8 | static_cast<uint8_t>(b[at + i]);
  return v;
}

}  // namespace

std::string UpgradeSampleSqliteWal() {
  constexpr uint32_t kPage = 512;
  std::string wal(32, '\0');
  PutBigEndian32(&wal, 0, 0x377f0682);  // little-endian checksum words
  PutBigEndian32(&wal, 4, 3007000);
  PutBigEndian32(&wal, 8, kPage);
  PutBigEndian32(&wal, 12, 1);
  PutBigEndian32(&wal, 16, 0x11223344);
  PutBigEndian32(&wal, 20, 0x55667788);
  uint32_t s1 = 0, s2 = 0;
  auto sum = [&](const std::string& b, size_t from, size_t size) {
    for (size_t i = from; i < from + size; i += 8) {
      s1 += LittleEndian32At(b, i) + s2;
      s2 += LittleEndian32At(b, i + 4) + s1;
    }
  };
  sum(wal, 0, 24);
  PutBigEndian32(&wal, 24, s1);
  PutBigEndian32(&wal, 28, s2);
  const uint32_t commits[] = {0, 3, 0, 4};  // frames 2 and 4 commit
  for (uint32_t frame = 0; frame < 4; ++frame) {
    const size_t at = wal.size();
    wal.append(24 + kPage, '\0');
    PutBigEndian32(&wal, at, frame + 1);
    PutBigEndian32(&wal, at + 4, commits[frame]);
    PutBigEndian32(&wal, at + 8, 0x11223344);
    PutBigEndian32(&wal, at + 12, 0x55667788);
    for (uint32_t i = 0; i < kPage; ++i) wal[at + 24 + i] = static_cast<char>(frame * 31 + i);
    sum(wal, at, 8);
    sum(wal, at + 24, kPage);
    PutBigEndian32(&wal, at + 16, s1);
    PutBigEndian32(&wal, at + 20, s2);
  }
  return wal;
}

void FuzzSqliteWal(const uint8_t* data, size_t size) {
  std::string file;
  if (size > 0 && (data[0] & 1) != 0) {
    static const std::string sample = UpgradeSampleSqliteWal();
    file = sample;
    for (size_t i = 1; i + 2 < size; i += 3) {
      size_t offset = ((size_t{data[i]} << 8 | data[i + 1]) * 7) % file.size();
      file[offset] = static_cast<char>(file[offset] ^ data[i + 2]);
    }
    if (size % 5 == 0) file.resize(file.size() - (size % file.size()));  // cut short too
  } else {
    file.assign(reinterpret_cast<const char*>(data), size);
  }
  Result<SqliteWalSummary> summary = CheckSqliteWal(file, "fuzz.wal");
  if (!summary.ok()) {
    RQ_ASSERT(summary.status().IsCorruption());
    return;
  }
  if (file.empty()) return;
  RQ_ASSERT(summary->page_size >= 512 && summary->page_size <= 65536);
  RQ_ASSERT(file.size() == 32 + summary->frames * (24 + summary->page_size));
  RQ_ASSERT((summary->frames == 0) == (summary->database_pages == 0));
}

}  // namespace rq::fuzz
