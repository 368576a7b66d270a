#include "cluster/frame.h"

#include <gtest/gtest.h>

#include "base/coding.h"
#include "base/random.h"

namespace rq::cluster {
namespace {

std::vector<Frame> DrainAll(FrameDecoder* decoder) {
  std::vector<Frame> out;
  for (int i = 0; i < 100000; ++i) {
    auto next = decoder->Next();
    EXPECT_TRUE(next.ok()) << next.status().ToString();
    if (!next.ok() || !next->has_value()) break;
    out.push_back(std::move(**next));
  }
  return out;
}

TEST(FrameTest, HeaderLayoutIsLengthCrcTypePayload) {
  std::string frame = EncodeFrame(FrameType::kRpcRequest, "abc");
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 3);
  EXPECT_EQ(coding::DecodeFixed32(frame.data()), 3u);
  EXPECT_EQ(coding::DecodeFixed32(frame.data() + 4), FrameCrc(FrameType::kRpcRequest, "abc"));
  EXPECT_EQ(static_cast<uint8_t>(frame[8]), 2);
  EXPECT_EQ(frame.substr(9), "abc");
}

TEST(FrameTest, CrcCoversTheTypeByte) {
  EXPECT_NE(FrameCrc(FrameType::kRaftMessage, "x"), FrameCrc(FrameType::kRpcRequest, "x"));
}

TEST(FrameDecoderTest, DecodesFramesFedOneByteAtATime) {
  std::string stream = EncodeFrame(FrameType::kHello, "hello") + EncodeFrame(FrameType::kSnapshotChunk, "") +
                       EncodeFrame(FrameType::kRaftMessage, std::string(1000, 'x'));
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (char c : stream) {
    decoder.Feed(std::string_view(&c, 1));
    auto more = DrainAll(&decoder);
    for (auto& f : more) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].type, FrameType::kHello);
  EXPECT_EQ(frames[0].payload, "hello");
  EXPECT_EQ(frames[1].type, FrameType::kSnapshotChunk);
  EXPECT_EQ(frames[1].payload, "");
  EXPECT_EQ(frames[2].payload, std::string(1000, 'x'));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoderTest, RandomSplitsGiveTheSameFrames) {
  Random random(7);
  std::string stream;
  std::vector<std::string> payloads;
  for (int i = 0; i < 200; ++i) {
    std::string payload(random.Uniform(3000), '\0');
    for (char& c : payload) c = static_cast<char>(random.Next());
    payloads.push_back(payload);
    stream += EncodeFrame(FrameType::kRaftMessage, payload);
  }
  FrameDecoder decoder;
  std::vector<Frame> frames;
  for (size_t pos = 0; pos < stream.size();) {
    size_t n = std::min<size_t>(stream.size() - pos, random.Range(1, 5000));
    decoder.Feed(std::string_view(stream).substr(pos, n));
    pos += n;
    for (auto& f : DrainAll(&decoder)) frames.push_back(std::move(f));
  }
  ASSERT_EQ(frames.size(), payloads.size());
  for (size_t i = 0; i < frames.size(); ++i) EXPECT_EQ(frames[i].payload, payloads[i]);
}

TEST(FrameDecoderTest, TornFrameWaitsForMoreBytes) {
  std::string frame = EncodeFrame(FrameType::kRpcResponse, "payload");
  FrameDecoder decoder;
  decoder.Feed(std::string_view(frame).substr(0, frame.size() - 1));
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(decoder.buffered_bytes(), frame.size() - 1);
}

TEST(FrameDecoderTest, HasFrameTellsWhetherNextNeedsMoreBytes) {
  std::string frame = EncodeFrame(FrameType::kRaftMessage, "payload");
  FrameDecoder decoder;
  EXPECT_FALSE(decoder.HasFrame());
  decoder.Feed(std::string_view(frame).substr(0, 5));
  EXPECT_FALSE(decoder.HasFrame()) << "a partial header";
  decoder.Feed(std::string_view(frame).substr(5, frame.size() - 6));
  EXPECT_FALSE(decoder.HasFrame()) << "the payload's last byte is missing";
  decoder.Feed(std::string_view(frame).substr(frame.size() - 1));
  decoder.Feed(frame);
  EXPECT_TRUE(decoder.HasFrame());
  ASSERT_TRUE(decoder.Next().value().has_value());
  EXPECT_TRUE(decoder.HasFrame());
  ASSERT_TRUE(decoder.Next().value().has_value());
  EXPECT_FALSE(decoder.HasFrame());
  // An oversized length is an error Next() returns at once.
  FrameDecoder small(16);
  small.Feed(EncodeFrame(FrameType::kRaftMessage, std::string(17, 'x')).substr(0, 12));
  EXPECT_TRUE(small.HasFrame());
  EXPECT_FALSE(small.Next().ok());
}

TEST(FrameDecoderTest, OversizedLengthFailsBeforeBufferingThePayload) {
  FrameDecoder decoder(1024);
  std::string header;
  coding::PutFixed32(&header, 0xfffffff0u);
  coding::PutFixed32(&header, 0);
  header.push_back(static_cast<char>(FrameType::kRaftMessage));
  decoder.Feed(header);
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_TRUE(next.status().IsCorruption());
  EXPECT_NE(next.status().message().find("exceeds the limit"), std::string::npos);
  decoder.Feed(std::string(4096, 'x'));
  EXPECT_EQ(decoder.buffered_bytes(), 0u);
}

TEST(FrameDecoderTest, FrameAtExactlyTheLimitIsAccepted) {
  FrameDecoder decoder(16);
  decoder.Feed(EncodeFrame(FrameType::kSnapshotChunk, std::string(16, 'a')));
  auto next = decoder.Next();
  ASSERT_TRUE(next.ok());
  ASSERT_TRUE(next->has_value());
  EXPECT_EQ((*next)->payload.size(), 16u);
  decoder.Feed(EncodeFrame(FrameType::kSnapshotChunk, std::string(17, 'a')));
  EXPECT_TRUE(decoder.Next().status().IsCorruption());
}

TEST(FrameDecoderTest, FlippedPayloadBitIsCorruption) {
  std::string frame = EncodeFrame(FrameType::kRaftMessage, "some raft bytes");
  frame[12] ^= 0x01;
  FrameDecoder decoder;
  decoder.Feed(frame);
  auto next = decoder.Next();
  ASSERT_FALSE(next.ok());
  EXPECT_NE(next.status().message().find("crc mismatch"), std::string::npos);
}

TEST(FrameDecoderTest, ChangedTypeByteIsCorruption) {
  std::string frame = EncodeFrame(FrameType::kRaftMessage, "x");
  frame[8] = static_cast<char>(FrameType::kRpcRequest);
  FrameDecoder decoder;
  decoder.Feed(frame);
  EXPECT_TRUE(decoder.Next().status().IsCorruption());
}

TEST(FrameDecoderTest, UnknownTypeIsCorruption) {
  for (uint8_t type : {uint8_t{0}, uint8_t{kFrameTypeMax + 1}, uint8_t{255}}) {
    std::string frame = EncodeFrame(FrameType::kRaftMessage, "x");
    frame[8] = static_cast<char>(type);
    FrameDecoder decoder;
    decoder.Feed(frame);
    EXPECT_TRUE(decoder.Next().status().IsCorruption()) << int{type};
  }
}

TEST(FrameDecoderTest, ErrorIsSticky) {
  std::string bad = EncodeFrame(FrameType::kRaftMessage, "x");
  bad[9] ^= 0x40;
  FrameDecoder decoder;
  decoder.Feed(bad + EncodeFrame(FrameType::kHello, "fine"));
  EXPECT_FALSE(decoder.Next().ok());
  decoder.Feed(EncodeFrame(FrameType::kHello, "fine"));
  EXPECT_FALSE(decoder.Next().ok());
  EXPECT_TRUE(decoder.failed());
}

TEST(FrameDecoderTest, RandomGarbageNeverCrashesAndNeverBuffersBeyondTheCap) {
  Random random(99);
  for (int round = 0; round < 2000; ++round) {
    FrameDecoder decoder(4096);
    std::string garbage(random.Uniform(200), '\0');
    for (char& c : garbage) c = static_cast<char>(random.Next());
    decoder.Feed(garbage);
    for (int i = 0; i < 10; ++i) {
      auto next = decoder.Next();
      if (!next.ok() || !next->has_value()) break;
    }
    EXPECT_LE(decoder.buffered_bytes(), garbage.size());
  }
}

}  // namespace
}  // namespace rq::cluster
