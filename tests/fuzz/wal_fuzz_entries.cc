#include "wal_fuzz_entries.h"

#include <string>

#include "env/mem_file_system.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace rq::fuzz {

namespace {

const std::string kDir = "/wal";
const std::string kSegment = "/wal/00000000000000000001.wal";

void CheckOpenedLog(env::MemFileSystem* fs, wal::Wal* log) {
  const LogIndex first = log->first_index();
  const LogIndex last = log->last_index();
  if (last > LogIndex(0)) {
    RQ_ASSERT(first == LogIndex(1));
    auto records = log->Read(first, last + 1, UINT64_MAX);
    RQ_ASSERT(records.ok());
    RQ_ASSERT(records->size() == last - first + 1);
    for (size_t i = 0; i < records->size(); ++i) RQ_ASSERT((*records)[i].index == first + i);
  }
  // Recovery is idempotent: a second open finds nothing left to repair.
  auto again = wal::Wal::Open(fs, kDir, {});
  RQ_ASSERT(again.ok());
  RQ_ASSERT((*again)->last_index() == last);
  RQ_ASSERT((*again)->recovery_report().tail_bytes_dropped == 0);
  wal::Record next{last + 1, Term(1), 0, "next"};
  RQ_ASSERT((*again)->Append({next}).ok());
  auto read = (*again)->Read(next.index, next.index + 1, UINT64_MAX);
  RQ_ASSERT(read.ok());
  RQ_ASSERT((*read)[0] == next);
}

}  // namespace

void FuzzWalSegment(const uint8_t* data, size_t size) {
  std::string content;
  if (size > 0 && (data[0] & 1) != 0) {
    content = wal::EncodeSegmentHeader({0, LogIndex(1)});
    content.append(reinterpret_cast<const char*>(data) + 1, size - 1);
  } else {
    content.assign(reinterpret_cast<const char*>(data), size);
  }
  env::MemFileSystem fs;
  RQ_ASSERT(fs.CreateDir(kDir).ok());
  RQ_ASSERT(fs.WriteFileAtomic(kSegment, content).ok());
  auto log = wal::Wal::Open(&fs, kDir, {});
  if (!log.ok()) {
    RQ_ASSERT_MSG(log.status().IsCorruption(), log.status().ToString().c_str());
    return;
  }
  CheckOpenedLog(&fs, log->get());
}

}  // namespace rq::fuzz
