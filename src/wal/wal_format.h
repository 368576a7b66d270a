// On-disk format constants of the WAL: segment files, the hard-state file and
// the log meta file. The prose description, byte by byte, is
// docs/wal_format.md; the two must change together. All integers are little
// endian. DO NOT CHANGE any value here without bumping kFormatVersion.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rq::wal::format {

inline constexpr uint32_t kFormatVersion = 1;

// Segment file "<20-digit first index>.wal":
//   header:  magic[8] | version u32 | reserved u32 (0) | epoch u64 |
//            first_index u64 | masked crc32c u32 of the 32 bytes before | reserved u32 (0)
//   records: length u32 | masked crc32c u32 | type u8 | index u64 | term u64 | payload[length]
//            (the CRC covers type, index, term and payload)
inline constexpr std::string_view kSegmentMagic{"RQWALSEG", 8};
inline constexpr size_t kSegmentHeaderBytes = 40;
inline constexpr size_t kSegmentHeaderCrcOffset = 32;
inline constexpr size_t kRecordHeaderBytes = 25;
inline constexpr size_t kRecordCrcOffset = 4;      // crc covers [kRecordTypeOffset, end of payload)
inline constexpr size_t kRecordTypeOffset = 8;
inline constexpr size_t kRecordIndexOffset = 9;
inline constexpr size_t kRecordTermOffset = 17;
// One record's payload may not exceed this: bounds what recovery allocates
// for a corrupt length field. A LOAD entry (a whole database) must fit.
inline constexpr uint32_t kRecordPayloadBytesMax = 1u << 30;
inline constexpr std::string_view kSegmentSuffix{".wal"};
inline constexpr size_t kSegmentNameDigits = 20;

static_assert(kSegmentMagic.size() == 8);
static_assert(kSegmentHeaderBytes == 8 + 4 + 4 + 8 + 8 + 4 + 4);
static_assert(kSegmentHeaderCrcOffset + 8 == kSegmentHeaderBytes);
static_assert(kRecordHeaderBytes == 4 + 4 + 1 + 8 + 8);
static_assert(kRecordTermOffset + 8 == kRecordHeaderBytes);
static_assert(kRecordPayloadBytesMax < UINT32_MAX - kRecordHeaderBytes);

// Hard state file "hardstate" (replaced atomically):
//   magic[8] | version u32 | masked crc32c u32 of everything after it |
//   term u64 | commit u64 | vote_length u32 | vote[vote_length]
inline constexpr std::string_view kHardStateMagic{"RQHARDST", 8};
inline constexpr std::string_view kHardStateFileName{"hardstate"};
inline constexpr size_t kHardStateFixedBytes = 8 + 4 + 4 + 8 + 8 + 4;
inline constexpr uint32_t kVoteBytesMax = 4096;
static_assert(kHardStateFixedBytes == 36);

// Log meta file "wal.meta" (replaced atomically): where the log starts and
// which generation of segments is live.
//   magic[8] | version u32 | masked crc32c u32 of everything after it |
//   epoch u64 | floor_index u64 | floor_term u64
inline constexpr std::string_view kMetaMagic{"RQWALMET", 8};
inline constexpr std::string_view kMetaFileName{"wal.meta"};
inline constexpr size_t kMetaBytes = 8 + 4 + 4 + 8 + 8 + 8;
static_assert(kMetaBytes == 40);

// Temporary files left by an interrupted atomic replace end with this.
inline constexpr std::string_view kTempSuffix{".tmp"};

// A zero-filled, synced file of segment_bytes_max bytes made ahead of time;
// a rollover writes the next segment's header into it and renames it to the
// segment's name (preallocation). Not a segment until renamed.
inline constexpr std::string_view kSpareFileName{"prealloc.spare"};

}  // namespace rq::wal::format
