// CheckSqliteWal: SQLite's WAL recovery rules, applied to the whole file.
#include "upgrade/sqlite_wal.h"

#include <string>

namespace rq::upgrade {

namespace {

constexpr uint32_t kMagic = 0x377f0682;  // | 1: big-endian checksum words
constexpr uint32_t kVersion = 3007000;
constexpr size_t kHeaderSize = 32;
constexpr size_t kFrameHeaderSize = 24;

uint32_t BigEndian32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) << 24 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3]));
}

uint32_t LittleEndian32(std::string_view b, size_t at) {
  return static_cast<uint32_t>(static_cast<uint8_t>(b[at])) |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 1])) << 8 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 2])) << 16 |
         static_cast<uint32_t>(static_cast<uint8_t>(b[at + 3])) << 24;
}

struct Checksum {
  uint32_t s1 = 0;
  uint32_t s2 = 0;
};

// SQLite's walChecksumBytes: pairs of 32-bit words, `size` a multiple of 8.
Checksum Extend(Checksum sum, std::string_view bytes, bool big_endian_words) {
  for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
    const uint32_t a = big_endian_words ? BigEndian32(bytes, i) : LittleEndian32(bytes, i);
    const uint32_t b = big_endian_words ? BigEndian32(bytes, i + 4) : LittleEndian32(bytes, i + 4);
    sum.s1 += a + sum.s2;
    sum.s2 += b + sum.s1;
  }
  return sum;
}

Status Bad(std::string_view path, const std::string& why) {
  return Status::Corruption("WAL " + std::string(path) + ": " + why);
}

}  // namespace

Result<SqliteWalSummary> CheckSqliteWal(std::string_view bytes, std::string_view path) {
  SqliteWalSummary out;
  // What SQLite leaves after a TRUNCATE checkpoint, or a reader opening a
  // snapshot file: no WAL at all.
  if (bytes.empty()) return out;
  if (bytes.size() < kHeaderSize) return Bad(path, "shorter than a WAL header (" + std::to_string(bytes.size()) + " bytes)");
  const uint32_t magic = BigEndian32(bytes, 0);
  if ((magic & ~1u) != kMagic) return Bad(path, "not a SQLite WAL (bad magic)");
  const bool big_endian_words = (magic & 1u) != 0;
  if (BigEndian32(bytes, 4) != kVersion) return Bad(path, "unknown WAL version " + std::to_string(BigEndian32(bytes, 4)));
  out.page_size = BigEndian32(bytes, 8);
  if (out.page_size < 512 || out.page_size > 65536 || (out.page_size & (out.page_size - 1)) != 0) {
    return Bad(path, "bad page size " + std::to_string(out.page_size));
  }
  Checksum sum = Extend({}, bytes.substr(0, 24), big_endian_words);
  if (sum.s1 != BigEndian32(bytes, 24) || sum.s2 != BigEndian32(bytes, 28)) return Bad(path, "header checksum mismatch");
  const uint32_t salt1 = BigEndian32(bytes, 16);
  const uint32_t salt2 = BigEndian32(bytes, 20);

  const size_t frame_size = kFrameHeaderSize + out.page_size;
  const size_t body = bytes.size() - kHeaderSize;
  if (body % frame_size != 0) {
    return Bad(path, "ends inside a frame (" + std::to_string(body % frame_size) + " bytes past the last whole one)");
  }
  uint32_t last_commit_size = 0;
  for (size_t at = kHeaderSize; at < bytes.size(); at += frame_size) {
    const uint64_t frame = out.frames + 1;
    const std::string_view header = bytes.substr(at, kFrameHeaderSize);
    if (BigEndian32(header, 0) == 0) return Bad(path, "frame " + std::to_string(frame) + " names page 0");
    if (BigEndian32(header, 8) != salt1 || BigEndian32(header, 12) != salt2) {
      return Bad(path, "frame " + std::to_string(frame) + " is not of this WAL (salt mismatch)");
    }
    sum = Extend(sum, header.substr(0, 8), big_endian_words);
    sum = Extend(sum, bytes.substr(at + kFrameHeaderSize, out.page_size), big_endian_words);
    if (sum.s1 != BigEndian32(header, 16) || sum.s2 != BigEndian32(header, 20)) {
      return Bad(path, "frame " + std::to_string(frame) + " checksum mismatch");
    }
    last_commit_size = BigEndian32(header, 4);
    ++out.frames;
  }
  if (out.frames > 0 && last_commit_size == 0) {
    return Bad(path, "the last frame does not commit (a transaction cut short)");
  }
  out.database_pages = last_commit_size;
  return out;
}

}  // namespace rq::upgrade
