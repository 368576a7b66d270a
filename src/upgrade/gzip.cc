// Gunzip over zlib (windowBits 15 + 16 selects the gzip wrapper).
#include "upgrade/gzip.h"

#include <zlib.h>

#include <algorithm>

namespace rq::upgrade {

Result<std::string> Gunzip(std::string_view input, std::string_view what, uint64_t max_bytes) {
  auto fail = [&](std::string_view why) {
    return Status::Corruption(std::string(what) + ": bad gzip stream (" + std::string(why) + ")");
  };
  if (input.size() < 2 || static_cast<uint8_t>(input[0]) != 0x1f || static_cast<uint8_t>(input[1]) != 0x8b) {
    return fail("no gzip header");
  }
  std::string out;
  z_stream stream{};
  if (inflateInit2(&stream, 15 + 16) != Z_OK) return Status::Internal("gzip: inflateInit2 failed");
  stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data()));
  stream.avail_in = static_cast<uInt>(std::min<size_t>(input.size(), UINT32_MAX));
  size_t fed = stream.avail_in;
  char buffer[64 * 1024];
  Status status;
  for (;;) {
    stream.next_out = reinterpret_cast<Bytef*>(buffer);
    stream.avail_out = sizeof buffer;
    int rc = inflate(&stream, Z_NO_FLUSH);
    out.append(buffer, sizeof buffer - stream.avail_out);
    if (out.size() > max_bytes) {
      status = fail("inflates past " + std::to_string(max_bytes) + " bytes");
      break;
    }
    if (stream.avail_in == 0 && fed < input.size()) {  // inputs over 4 GiB: feed the rest
      size_t more = std::min<size_t>(input.size() - fed, UINT32_MAX);
      stream.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(input.data() + fed));
      stream.avail_in = static_cast<uInt>(more);
      fed += more;
    }
    if (rc == Z_STREAM_END) {
      size_t left = stream.avail_in + (input.size() - fed);
      if (left == 0) break;
      // Another gzip member follows (Go reads concatenated members).
      if (inflateReset(&stream) != Z_OK) {
        status = fail("reset failed");
        break;
      }
      continue;
    }
    if (rc == Z_BUF_ERROR && stream.avail_in == 0) {
      status = fail("truncated");
      break;
    }
    if (rc != Z_OK) {
      status = fail(stream.msg != nullptr ? stream.msg : "inflate error");
      break;
    }
  }
  inflateEnd(&stream);
  if (!status.ok()) return status;
  return out;
}

}  // namespace rq::upgrade
