#include "cluster/frame.h"

#include <limits>

#include "base/coding.h"
#include "base/crc32c.h"

namespace rq::cluster {

const char* FrameTypeName(FrameType type) {
  switch (type) {
    case FrameType::kRaftMessage: return "RAFT_MESSAGE";
    case FrameType::kRpcRequest: return "RPC_REQUEST";
    case FrameType::kRpcResponse: return "RPC_RESPONSE";
    case FrameType::kSnapshotBegin: return "SNAPSHOT_BEGIN";
    case FrameType::kSnapshotChunk: return "SNAPSHOT_CHUNK";
    case FrameType::kSnapshotEnd: return "SNAPSHOT_END";
    case FrameType::kSnapshotAck: return "SNAPSHOT_ACK";
    case FrameType::kHello: return "HELLO";
    case FrameType::kSnapshotChunkZlib: return "SNAPSHOT_CHUNK_ZLIB";
  }
  return "UNKNOWN";
}

uint32_t FrameCrc(FrameType type, std::string_view payload) {
  const char type_byte = static_cast<char>(type);
  uint32_t crc = crc32c::Extend(0, &type_byte, 1);
  crc = crc32c::Extend(crc, payload.data(), payload.size());
  return crc32c::Mask(crc);
}

std::string EncodeFrame(FrameType type, std::string_view payload) {
  RQ_ASSERT(payload.size() <= std::numeric_limits<uint32_t>::max());
  std::string out;
  out.reserve(kFrameHeaderBytes + payload.size());
  coding::PutFixed32(&out, static_cast<uint32_t>(payload.size()));
  coding::PutFixed32(&out, FrameCrc(type, payload));
  out.push_back(static_cast<char>(type));
  out.append(payload);
  RQ_ASSERT(out.size() == kFrameHeaderBytes + payload.size());
  return out;
}

FrameDecoder::FrameDecoder(size_t max_payload_bytes) : max_payload_bytes_(max_payload_bytes) {
  RQ_ASSERT(max_payload_bytes_ > 0);
}

void FrameDecoder::Feed(std::string_view bytes) {
  if (failed()) return;
  // Compact before growing so the buffer holds at most one frame plus one read.
  if (offset_ > 0 && offset_ * 2 >= buffer_.size()) {
    buffer_.erase(0, offset_);
    offset_ = 0;
  }
  buffer_.append(bytes);
}

Status FrameDecoder::Fail(Status status) {
  error_ = std::move(status);
  buffer_.clear();
  buffer_.shrink_to_fit();
  offset_ = 0;
  return error_;
}

bool FrameDecoder::HasFrame() const {
  if (failed()) return true;
  std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
  if (rest.size() < kFrameHeaderBytes) return false;
  const uint32_t length = coding::DecodeFixed32(rest.data());
  return length > max_payload_bytes_ || rest.size() - kFrameHeaderBytes >= length;
}

Result<std::optional<Frame>> FrameDecoder::Next() {
  if (failed()) return error_;
  std::string_view rest(buffer_.data() + offset_, buffer_.size() - offset_);
  if (rest.size() < kFrameHeaderBytes) return std::optional<Frame>();
  const uint32_t length = coding::DecodeFixed32(rest.data());
  const uint32_t stored_crc = coding::DecodeFixed32(rest.data() + 4);
  const uint8_t type_byte = static_cast<uint8_t>(rest[8]);
  // Validate the header before waiting for (and buffering) the payload.
  if (length > max_payload_bytes_) {
    return Fail(Status::Corruption("frame payload of " + std::to_string(length) +
                                   " bytes exceeds the limit of " +
                                   std::to_string(max_payload_bytes_)));
  }
  if (type_byte == 0 || type_byte > kFrameTypeMax) {
    return Fail(Status::Corruption("unknown frame type " + std::to_string(type_byte)));
  }
  if (rest.size() - kFrameHeaderBytes < length) return std::optional<Frame>();
  Frame frame;
  frame.type = static_cast<FrameType>(type_byte);
  frame.payload.assign(rest.data() + kFrameHeaderBytes, length);
  if (FrameCrc(frame.type, frame.payload) != stored_crc) {
    return Fail(Status::Corruption(std::string("crc mismatch in ") + FrameTypeName(frame.type) +
                                   " frame of " + std::to_string(length) + " bytes"));
  }
  offset_ += kFrameHeaderBytes + length;
  RQ_ASSERT(offset_ <= buffer_.size());
  if (offset_ == buffer_.size()) {
    buffer_.clear();
    offset_ = 0;
  }
  return std::optional<Frame>(std::move(frame));
}

}  // namespace rq::cluster
