#include "cluster_fuzz_entries.h"

#include <string>
#include <string_view>

#include "base/assert.h"
#include "cluster/codec.h"
#include "cluster/frame.h"

namespace rq::fuzz {
namespace {

constexpr size_t kMaxPayloadBytes = 64 * 1024;

void CheckPayload(const cluster::Frame& frame) {
  using cluster::FrameType;
  // Every decoder sees every payload: none may crash; the matching one must
  // round-trip what it accepts.
  auto message = cluster::DecodeRaftMessage(frame.payload);
  if (message.ok()) {
    auto again = cluster::DecodeRaftMessage(cluster::EncodeRaftMessage(*message));
    RQ_ASSERT(again.ok());
    RQ_ASSERT(*again == *message);
  }
  auto call = cluster::DecodeRpcCall(frame.payload);
  if (call.ok()) {
    auto again = cluster::DecodeRpcCall(cluster::EncodeRpcCall(*call));
    RQ_ASSERT(again.ok());
    RQ_ASSERT(again->correlation_id == call->correlation_id);
    RQ_ASSERT(again->body == call->body);
  }
  auto reply = cluster::DecodeRpcReply(frame.payload);
  if (reply.ok()) {
    auto again = cluster::DecodeRpcReply(cluster::EncodeRpcReply(*reply));
    RQ_ASSERT(again.ok());
    RQ_ASSERT(again->status.code() == reply->status.code());
    RQ_ASSERT(again->response.results.size() == reply->response.results.size());
  }
  auto hello = cluster::DecodeHello(frame.payload);
  if (hello.ok()) RQ_ASSERT(cluster::DecodeHello(cluster::EncodeHello(*hello)).value() == *hello);
  auto begin = cluster::DecodeSnapshotBegin(frame.payload);
  if (begin.ok()) {
    RQ_ASSERT(std::holds_alternative<raft::InstallSnapshotRequest>(begin->message.body));
    RQ_ASSERT(cluster::DecodeSnapshotBegin(cluster::EncodeSnapshotBegin(*begin)).value().message == begin->message);
  }
  (void)cluster::DecodeSnapshotEnd(frame.payload);
  (void)cluster::DecodeSnapshotAck(frame.payload);
}

}  // namespace

void FuzzClusterStream(const uint8_t* data, size_t size) {
  if (size < 2) return;
  std::string stream(reinterpret_cast<const char*>(data) + 2, size - 2);
  if (data[0] & 1) {
    auto type = static_cast<cluster::FrameType>(data[1] % cluster::kFrameTypeMax + 1);
    stream = cluster::EncodeFrame(type, stream);
  }
  const size_t piece_bytes = (data[1] & 0x3f) + 1;  // the input picks how reads split
  cluster::FrameDecoder decoder(kMaxPayloadBytes);
  size_t consumed = 0;
  for (size_t at = 0; at < stream.size(); at += piece_bytes) {
    decoder.Feed(std::string_view(stream).substr(at, piece_bytes));
    for (;;) {
      auto next = decoder.Next();
      if (!next.ok()) {
        RQ_ASSERT(next.status().IsCorruption());
        RQ_ASSERT(decoder.buffered_bytes() == 0);
        return;
      }
      if (!next->has_value()) break;
      const cluster::Frame& frame = **next;
      RQ_ASSERT(frame.payload.size() <= kMaxPayloadBytes);
      const std::string encoded = cluster::EncodeFrame(frame.type, frame.payload);
      RQ_ASSERT(std::string_view(stream).substr(consumed, encoded.size()) == encoded);
      consumed += encoded.size();
      CheckPayload(frame);
    }
    RQ_ASSERT(decoder.buffered_bytes() <= kMaxPayloadBytes + cluster::kFrameHeaderBytes + piece_bytes);
  }
}

}  // namespace rq::fuzz
