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

}  // namespace rq::fuzz
