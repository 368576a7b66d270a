// Helpers shared by the WAL tests (not part of rq_wal).
#pragma once

#include <string>
#include <vector>

#include "env/mem_file_system.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace rq::wal::testing {

inline Record MakeRecord(uint64_t index, uint64_t term, size_t payload_bytes = 20) {
  Record record;
  record.index = LogIndex(index);
  record.term = Term(term);
  record.type = static_cast<uint8_t>(index % 3);
  std::string tag = "r" + std::to_string(index) + "t" + std::to_string(term) + ";";
  while (record.payload.size() < payload_bytes) record.payload += tag;
  record.payload.resize(payload_bytes);
  return record;
}

inline std::vector<Record> MakeRecords(uint64_t first, uint64_t last, uint64_t term, size_t payload_bytes = 20) {
  std::vector<Record> records;
  for (uint64_t i = first; i <= last; ++i) records.push_back(MakeRecord(i, term, payload_bytes));
  return records;
}

inline std::unique_ptr<Wal> MustOpen(env::FileSystem* fs, const std::string& dir, Options options = {}) {
  auto wal = Wal::Open(fs, dir, options);
  RQ_ASSERT_MSG(wal.ok(), wal.status().ToString().c_str());
  return std::move(*wal);
}

inline std::vector<std::string> SegmentFiles(env::FileSystem* fs, const std::string& dir) {
  std::vector<std::string> out;
  auto names = fs->ListDir(dir);
  RQ_ASSERT(names.ok());
  for (const auto& name : *names) {
    if (ParseSegmentFileName(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace rq::wal::testing
