#include "wal/segment.h"

#include <algorithm>
#include <cstdio>

#include "base/coding.h"
#include "base/crc32c.h"
#include "wal/wal_format.h"

namespace rq::wal {

namespace {

using format::kRecordHeaderBytes;
using format::kSegmentHeaderBytes;

uint32_t RecordCrc(std::string_view header, std::string_view payload) {
  uint32_t crc = crc32c::Value(header.data() + format::kRecordTypeOffset,
                               kRecordHeaderBytes - format::kRecordTypeOffset);
  return crc32c::Mask(crc32c::Extend(crc, payload.data(), payload.size()));
}

// Reads a file front to back through a window, so that many small records
// cost few preads.
class WindowReader {
 public:
  WindowReader(const env::RandomAccessFile& file, uint64_t file_bytes) : file_(file), file_bytes_(file_bytes) {}

  // *out views [offset, offset + n). REQUIRES: offset + n <= file size.
  Status Fetch(uint64_t offset, size_t n, std::string_view* out) {
    RQ_ASSERT(offset + n <= file_bytes_);
    if (offset < window_offset_ || offset + n > window_offset_ + window_.size()) {
      size_t want = std::max<size_t>(n, kWindowBytes);
      want = static_cast<size_t>(std::min<uint64_t>(want, file_bytes_ - offset));
      RQ_RETURN_IF_ERROR(file_.Read(offset, want, &window_));
      window_offset_ = offset;
      if (window_.size() < n) return Status::IOError("segment shrank while being scanned");
    }
    *out = std::string_view(window_).substr(offset - window_offset_, n);
    return Status::OK();
  }

 private:
  static constexpr size_t kWindowBytes = 1 << 20;
  const env::RandomAccessFile& file_;
  const uint64_t file_bytes_;
  std::string window_;
  uint64_t window_offset_ = 0;
};

bool AllZero(std::string_view bytes) {
  return std::all_of(bytes.begin(), bytes.end(), [](char c) { return c == 0; });
}

HeaderState CheckHeader(std::string_view bytes, SegmentHeader* header, std::string* problem) {
  if (bytes.size() < kSegmentHeaderBytes) {
    *problem = "short header (" + std::to_string(bytes.size()) + " bytes)";
    return HeaderState::kTorn;
  }
  if (AllZero(bytes)) {
    *problem = "zero-filled header";
    return HeaderState::kTorn;
  }
  if (bytes.substr(0, 8) != format::kSegmentMagic) {
    *problem = "bad magic";
    return HeaderState::kCorrupt;
  }
  uint32_t stored = coding::DecodeFixed32(bytes.data() + format::kSegmentHeaderCrcOffset);
  if (crc32c::Unmask(stored) != crc32c::Value(bytes.data(), format::kSegmentHeaderCrcOffset)) {
    *problem = "header crc mismatch";
    return HeaderState::kCorrupt;
  }
  if (coding::DecodeFixed32(bytes.data() + format::kSegmentHeaderCrcOffset + 4) != 0) {
    *problem = "nonzero reserved header bytes";  // outside the CRC, so checked by value
    return HeaderState::kCorrupt;
  }
  uint32_t version = coding::DecodeFixed32(bytes.data() + 8);
  if (version != format::kFormatVersion) {
    *problem = "unsupported format version " + std::to_string(version);
    return HeaderState::kCorrupt;
  }
  header->epoch = coding::DecodeFixed64(bytes.data() + 16);
  header->first_index = LogIndex(coding::DecodeFixed64(bytes.data() + 24));
  if (header->first_index == LogIndex(0)) {
    *problem = "first index 0";
    return HeaderState::kCorrupt;
  }
  return HeaderState::kValid;
}

// End of the last nonzero byte in [from, file_bytes), or from if all are zero.
Status NonZeroEnd(WindowReader* reader, uint64_t from, uint64_t file_bytes, uint64_t* end) {
  constexpr uint64_t kChunk = 1 << 20;
  *end = from;
  for (uint64_t offset = from; offset < file_bytes; offset += kChunk) {
    std::string_view chunk;
    RQ_RETURN_IF_ERROR(reader->Fetch(offset, static_cast<size_t>(std::min(kChunk, file_bytes - offset)), &chunk));
    auto last = std::find_if(chunk.rbegin(), chunk.rend(), [](char c) { return c != 0; });
    if (last != chunk.rend()) *end = offset + static_cast<uint64_t>(chunk.rend() - last);
  }
  return Status::OK();
}

// A candidate record at offset in tail (bytes from offset base): plausible
// index and a matching CRC.
bool ValidRecordAt(std::string_view tail, size_t at, LogIndex low, LogIndex high) {
  if (tail.size() - at < kRecordHeaderBytes) return false;
  const char* p = tail.data() + at;
  LogIndex index(coding::DecodeFixed64(p + format::kRecordIndexOffset));
  if (index < low || index > high) return false;
  uint32_t length = coding::DecodeFixed32(p);
  if (length > format::kRecordPayloadBytesMax || length > tail.size() - at - kRecordHeaderBytes) return false;
  std::string_view header(p, kRecordHeaderBytes);
  std::string_view payload(p + kRecordHeaderBytes, length);
  return coding::DecodeFixed32(p + format::kRecordCrcOffset) == RecordCrc(header, payload);
}

// After damage at scan->valid_bytes: decides whether the rest can be a torn
// tail. A torn tail never holds a complete valid record for the next index
// (or the one after, if the damaged record was whole) further on.
Status ClassifyDamage(const env::RandomAccessFile& file, LogIndex next_index, SegmentScan* scan) {
  std::string tail;
  RQ_RETURN_IF_ERROR(file.Read(scan->valid_bytes, scan->file_bytes - scan->valid_bytes, &tail));
  // A record starting in the zero tail would have index 0: only look before.
  const size_t candidates_end = static_cast<size_t>(scan->nonzero_end - scan->valid_bytes);
  for (size_t at = 1; at < candidates_end; ++at) {
    if (ValidRecordAt(tail, at, next_index, next_index + 1)) {
      scan->damage_is_corruption = true;
      scan->damage += "; a valid record follows at offset " + std::to_string(scan->valid_bytes + at);
      return Status::OK();
    }
  }
  return Status::OK();
}

// Scans records after the header. Returns on the first damage.
Status ScanRecords(WindowReader* reader, SegmentScan* scan) {
  LogIndex next = scan->header.first_index;
  uint64_t offset = kSegmentHeaderBytes;
  while (offset < scan->file_bytes) {
    uint64_t left = scan->file_bytes - offset;
    if (left < kRecordHeaderBytes) {
      scan->damage = "truncated record header at offset " + std::to_string(offset);
      return Status::OK();
    }
    std::string_view header;
    RQ_RETURN_IF_ERROR(reader->Fetch(offset, kRecordHeaderBytes, &header));
    if (AllZero(header)) {
      // Never a record (index 0, and the CRC of a zero header is not 0): the
      // records end here. A clean end if only zeros follow.
      scan->damage = "zero record header at offset " + std::to_string(offset) + " followed by nonzero bytes";
      return Status::OK();
    }
    uint32_t length = coding::DecodeFixed32(header.data());
    if (length > format::kRecordPayloadBytesMax || length > left - kRecordHeaderBytes) {
      scan->damage = "truncated or oversized record at offset " + std::to_string(offset);
      return Status::OK();
    }
    std::string_view whole;
    RQ_RETURN_IF_ERROR(reader->Fetch(offset, kRecordHeaderBytes + length, &whole));
    header = whole.substr(0, kRecordHeaderBytes);
    if (coding::DecodeFixed32(header.data() + format::kRecordCrcOffset) !=
        RecordCrc(header, whole.substr(kRecordHeaderBytes))) {
      scan->damage = "crc mismatch at offset " + std::to_string(offset);
      return Status::OK();
    }
    LogIndex index(coding::DecodeFixed64(header.data() + format::kRecordIndexOffset));
    if (index != next) {
      scan->damage = "record at offset " + std::to_string(offset) + " has index " +
                     std::to_string(index.value()) + ", expected " + std::to_string(next.value());
      scan->damage_is_corruption = true;
      return Status::OK();
    }
    RecordLocation location;
    location.offset = offset;
    location.payload_bytes = length;
    location.type = static_cast<uint8_t>(header[format::kRecordTypeOffset]);
    location.term = Term(coding::DecodeFixed64(header.data() + format::kRecordTermOffset));
    scan->records.push_back(location);
    offset += kRecordHeaderBytes + length;
    scan->valid_bytes = offset;
    ++next;
  }
  return Status::OK();
}

}  // namespace

std::string SegmentFileName(LogIndex first_index) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020llu", static_cast<unsigned long long>(first_index.value()));
  return std::string(buf) + std::string(format::kSegmentSuffix);
}

std::optional<LogIndex> ParseSegmentFileName(std::string_view name) {
  if (name.size() != format::kSegmentNameDigits + format::kSegmentSuffix.size()) return std::nullopt;
  if (name.substr(format::kSegmentNameDigits) != format::kSegmentSuffix) return std::nullopt;
  uint64_t value = 0;
  for (size_t i = 0; i < format::kSegmentNameDigits; ++i) {
    char c = name[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return std::nullopt;
    value = value * 10 + digit;
  }
  return LogIndex(value);
}

std::string EncodeSegmentHeader(const SegmentHeader& header) {
  std::string out(format::kSegmentMagic);
  coding::PutFixed32(&out, format::kFormatVersion);
  coding::PutFixed32(&out, 0);
  coding::PutFixed64(&out, header.epoch);
  coding::PutFixed64(&out, header.first_index.value());
  RQ_ASSERT(out.size() == format::kSegmentHeaderCrcOffset);
  coding::PutFixed32(&out, crc32c::Mask(crc32c::Value(out)));
  coding::PutFixed32(&out, 0);
  RQ_ASSERT(out.size() == kSegmentHeaderBytes);
  return out;
}

uint64_t EncodedRecordBytes(size_t payload_bytes) { return kRecordHeaderBytes + payload_bytes; }

void EncodeRecord(const Record& record, std::string* dst) {
  RQ_ASSERT(record.payload.size() <= format::kRecordPayloadBytesMax);
  size_t start = dst->size();
  dst->resize(start + kRecordHeaderBytes);
  char* p = dst->data() + start;
  coding::EncodeFixed32(p, static_cast<uint32_t>(record.payload.size()));
  p[format::kRecordTypeOffset] = static_cast<char>(record.type);
  coding::EncodeFixed64(p + format::kRecordIndexOffset, record.index.value());
  coding::EncodeFixed64(p + format::kRecordTermOffset, record.term.value());
  uint32_t crc = RecordCrc(std::string_view(p, kRecordHeaderBytes), record.payload);
  coding::EncodeFixed32(p + format::kRecordCrcOffset, crc);
  dst->append(record.payload);
}

Result<Record> DecodeRecord(std::string_view bytes, LogIndex expected_index) {
  if (bytes.size() < kRecordHeaderBytes) return Status::Corruption("record shorter than its header");
  std::string_view header = bytes.substr(0, kRecordHeaderBytes);
  std::string_view payload = bytes.substr(kRecordHeaderBytes);
  if (coding::DecodeFixed32(header.data()) != payload.size()) return Status::Corruption("record length mismatch");
  if (coding::DecodeFixed32(header.data() + format::kRecordCrcOffset) != RecordCrc(header, payload)) {
    return Status::Corruption("record crc mismatch");
  }
  Record record;
  record.index = LogIndex(coding::DecodeFixed64(header.data() + format::kRecordIndexOffset));
  record.term = Term(coding::DecodeFixed64(header.data() + format::kRecordTermOffset));
  record.type = static_cast<uint8_t>(header[format::kRecordTypeOffset]);
  if (record.index != expected_index) return Status::Corruption("record index mismatch");
  record.payload.assign(payload);
  return record;
}

Result<SegmentScan> ScanSegment(const env::RandomAccessFile& file) {
  SegmentScan scan;
  auto size = file.Size();
  if (!size.ok()) return size.status();
  scan.file_bytes = *size;
  WindowReader reader(file, scan.file_bytes);
  std::string_view header;
  size_t header_bytes = static_cast<size_t>(std::min<uint64_t>(scan.file_bytes, kSegmentHeaderBytes));
  RQ_RETURN_IF_ERROR(reader.Fetch(0, header_bytes, &header));
  scan.header_state = CheckHeader(header, &scan.header, &scan.header_problem);
  if (scan.header_state != HeaderState::kValid) return scan;
  scan.valid_bytes = kSegmentHeaderBytes;
  RQ_RETURN_IF_ERROR(ScanRecords(&reader, &scan));
  RQ_RETURN_IF_ERROR(NonZeroEnd(&reader, scan.valid_bytes, scan.file_bytes, &scan.nonzero_end));
  if (!scan.damaged()) {
    scan.damage.clear();  // zeros after the records: a clean end
    return scan;
  }
  if (scan.damage.empty()) scan.damage = "nonzero bytes after the records at offset " + std::to_string(scan.valid_bytes);
  if (!scan.damage_is_corruption) {
    LogIndex next = scan.header.first_index + scan.records.size();
    RQ_RETURN_IF_ERROR(ClassifyDamage(file, next, &scan));
  }
  return scan;
}

}  // namespace rq::wal
