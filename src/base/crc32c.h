// CRC32C (Castagnoli), as used by every on-disk record and peer frame.
// Uses SSE4.2 when the CPU has it, a table otherwise; both give equal results.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace rq::crc32c {

// Extends `crc` (the CRC of earlier bytes, 0 for none) over data[0, size).
uint32_t Extend(uint32_t crc, const void* data, size_t size);

inline uint32_t Value(const void* data, size_t size) { return Extend(0, data, size); }
inline uint32_t Value(std::string_view data) { return Extend(0, data.data(), data.size()); }

// A stored CRC is masked so a CRC of data that itself embeds CRCs stays strong
// (LevelDB's reason, util/crc32c.h).
inline uint32_t Mask(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }
inline uint32_t Unmask(uint32_t masked) {
  uint32_t rot = masked - 0xa282ead8u;
  return (rot >> 17) | (rot << 15);
}

}  // namespace rq::crc32c
