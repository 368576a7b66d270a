// Gunzip: the gzip streams Go rqlite writes (compress/gzip) for compressed
// commands, LOAD images and v7 snapshots. Streams the inflate so a small
// hostile input cannot claim an unbounded output.
//
// Thread-safety: stateless.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rq::upgrade {

namespace gzip_limits {
// A single command or snapshot database larger than this is refused.
inline constexpr uint64_t kInflatedBytesMax = uint64_t{1} << 32;
}  // namespace gzip_limits

// Decompresses one or more concatenated gzip members (as Go's gzip.Reader
// does). Corruption names `what` when the stream is damaged, truncated, or
// inflates past max_bytes.
Result<std::string> Gunzip(std::string_view input, std::string_view what,
                           uint64_t max_bytes = gzip_limits::kInflatedBytesMax);

}  // namespace rq::upgrade
