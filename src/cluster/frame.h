// Peer-connection framing (docs/wire_format.md section 1): every byte on a
// cluster connection belongs to a frame
//
//   u32 LE payload length | u32 LE masked crc32c(type byte + payload) |
//   u8 frame type | payload
//
// EncodeFrame builds one; FrameDecoder cuts a byte stream (as it arrives from
// socket reads, in pieces of any size) back into frames, checking the size
// cap before buffering a payload so a hostile length never allocates, and the
// CRC before handing a frame out. Any error is final: the connection must be
// closed, since the stream can no longer be trusted to be in sync.
//
// Thread-safety: FrameDecoder is not thread-safe (one per connection); the
// free functions are.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rq::cluster {

// Wire format: never renumber. 0 is never valid.
enum class FrameType : uint8_t {
  kRaftMessage = 1,    // proto RaftMessage, one way
  kRpcRequest = 2,     // proto RpcRequest
  kRpcResponse = 3,    // proto RpcResponse
  kSnapshotBegin = 4,  // proto SnapshotBegin
  kSnapshotChunk = 5,  // raw snapshot bytes
  kSnapshotEnd = 6,    // proto SnapshotEnd
  kSnapshotAck = 7,    // proto SnapshotAck
  kHello = 8,          // proto Hello; first frame on every connection
  kSnapshotChunkZlib = 9,  // one snapshot chunk as a complete zlib stream
};
inline constexpr uint8_t kFrameTypeMax = 9;
const char* FrameTypeName(FrameType type);

inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr size_t kFrameHeaderBytes = 9;  // length(4) + crc(4) + type(1)
static_assert(kFrameHeaderBytes == 4 + 4 + 1);

namespace frame_config {
// Default cap on one frame's payload: big enough for a 1 MiB snapshot chunk
// or a large AppendRequest batch, small enough that a lying length field
// cannot make a node allocate much.
inline constexpr size_t kMaxPayloadBytesDefault = size_t{16} << 20;
}  // namespace frame_config

struct Frame {
  FrameType type = FrameType::kHello;
  std::string payload;
};

// REQUIRES: payload.size() <= UINT32_MAX.
std::string EncodeFrame(FrameType type, std::string_view payload);
// The masked CRC stored in a frame header for this type and payload.
uint32_t FrameCrc(FrameType type, std::string_view payload);

class FrameDecoder {
 public:
  // REQUIRES: max_payload_bytes > 0.
  explicit FrameDecoder(size_t max_payload_bytes = frame_config::kMaxPayloadBytesDefault);

  // Adds bytes read from the stream. Ignored once the decoder has failed.
  void Feed(std::string_view bytes);

  // The next complete frame, nullopt when more bytes are needed, or
  // Corruption (oversized length, bad CRC, unknown type). After an error
  // every call returns the same error.
  Result<std::optional<Frame>> Next();

  // Whether Next() returns without more bytes (a frame or an error).
  bool HasFrame() const;

  // Bytes fed but not yet returned as frames.
  size_t buffered_bytes() const { return buffer_.size() - offset_; }
  bool failed() const { return !error_.ok(); }

 private:
  Status Fail(Status status);

  size_t max_payload_bytes_;
  std::string buffer_;
  size_t offset_ = 0;  // start of the first unconsumed byte in buffer_
  Status error_;
};

}  // namespace rq::cluster
