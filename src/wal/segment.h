// Segment files: encoding of headers and records, and the recovery scan that
// validates one segment file (docs/wal_format.md).
//
// Everything here is a pure function of bytes plus reads through an
// env::RandomAccessFile; the Wal decides what a damaged segment means.
// Thread-safety: free functions; safe from any thread on distinct files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/strong_types.h"
#include "env/file_system.h"

namespace rq::wal {

// One log record. `type` is opaque to the WAL (the store keeps the Raft entry
// type there).
struct Record {
  LogIndex index;
  Term term;
  uint8_t type = 0;
  std::string payload;
  bool operator==(const Record&) const = default;
};

struct SegmentHeader {
  uint64_t epoch = 0;
  LogIndex first_index;
};

// Where a validated record lives in its segment.
struct RecordLocation {
  uint64_t offset = 0;  // of the record header
  uint32_t payload_bytes = 0;
  uint8_t type = 0;
  Term term;
};

std::string SegmentFileName(LogIndex first_index);
// nullopt unless name is exactly 20 digits + ".wal".
std::optional<LogIndex> ParseSegmentFileName(std::string_view name);

std::string EncodeSegmentHeader(const SegmentHeader& header);
// Appends the encoded record to *dst. REQUIRES: payload fits kRecordPayloadBytesMax.
void EncodeRecord(const Record& record, std::string* dst);
uint64_t EncodedRecordBytes(size_t payload_bytes);

// Decodes and checks the record whose encoded bytes are exactly `bytes`.
// Corruption when the CRC, the length or expected_index does not match.
Result<Record> DecodeRecord(std::string_view bytes, LogIndex expected_index);

enum class HeaderState : uint8_t {
  kValid,
  kTorn,     // shorter than a header, or all zero: an interrupted creation
  kCorrupt,  // bad magic, version or CRC
};

// What the recovery scan found in one segment.
struct SegmentScan {
  HeaderState header_state = HeaderState::kValid;
  std::string header_problem;  // set unless kValid
  SegmentHeader header;
  std::vector<RecordLocation> records;  // the valid prefix, contiguous from header.first_index
  uint64_t valid_bytes = 0;             // end of the last valid record (or of the header)
  uint64_t file_bytes = 0;
  // End of the last nonzero byte at or after valid_bytes; valid_bytes when
  // only zeros follow the records (a clean end: the unwritten part of a
  // preallocated file).
  uint64_t nonzero_end = 0;
  // Set when damaged(): why the scan stopped at valid_bytes.
  std::string damage;
  // True when the damage cannot be a torn tail: a well-formed record with the
  // wrong index, or a valid record found after the damaged one.
  bool damage_is_corruption = false;

  bool damaged() const { return nonzero_end > valid_bytes; }
};

// Reads the whole segment through file. IOError only for read failures;
// damage is described in the result, not as an error.
Result<SegmentScan> ScanSegment(const env::RandomAccessFile& file);

}  // namespace rq::wal
