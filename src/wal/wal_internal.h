// Private to wal*.cc: the in-memory view of one segment file, shared by
// recovery (wal.cc), appends (wal_append.cc) and truncation (wal_trim.cc).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/assert.h"
#include "env/file_system.h"
#include "wal/segment.h"
#include "wal/wal.h"

namespace rq::wal {

struct Wal::Segment {
  LogIndex first;
  std::string path;
  std::shared_ptr<env::WritableFile> writer;  // the last segment only
  std::unique_ptr<env::RandomAccessFile> reader;
  std::vector<RecordLocation> records;        // records[i] holds index first + i
  uint64_t size_bytes = 0;                    // bytes written, header included (the logical size)
  // The file's size: bytes in [size_bytes, capacity) are zeros (preallocated).
  uint64_t capacity = 0;

  LogIndex last() const {
    RQ_ASSERT(!records.empty());
    return first + (records.size() - 1);
  }
};

}  // namespace rq::wal
