// Runs the cluster fuzz entry point over seeded random inputs on every build:
// pure noise, and valid frame streams (raft messages, RPCs) with damage.
#include <gtest/gtest.h>

#include <string>

#include "base/random.h"
#include "cluster/codec.h"
#include "cluster/frame.h"
#include "cluster_fuzz_entries.h"

namespace rq::fuzz {
namespace {

void FeedStream(const std::string& input) {
  FuzzClusterStream(reinterpret_cast<const uint8_t*>(input.data()), input.size());
}

std::string ValidStream(Random* random) {
  std::string stream("\x00", 1);
  stream.push_back(static_cast<char>(random->Next()));  // read split size
  for (uint64_t i = random->Range(1, 4); i > 0; --i) {
    raft::AppendRequest append{LogIndex(random->Uniform(100)), Term(random->Uniform(5)), {}, LogIndex(3), 0};
    append.entries.push_back({Term(1), LogIndex(4), raft::EntryType::kNormal, std::string(random->Uniform(40), 'e')});
    raft::Message message{NodeId("a"), NodeId("b"), Term(random->Uniform(9)), append};
    stream += cluster::EncodeFrame(cluster::FrameType::kRaftMessage, cluster::EncodeRaftMessage(message));
    cluster::ForwardRequest forward;
    forward.request.statements.push_back({"SELECT ?", {{"", int64_t{7}}}, false});
    stream += cluster::EncodeFrame(cluster::FrameType::kRpcRequest, cluster::EncodeRpcCall({i, forward}));
  }
  return stream;
}

void Damage(Random* random, std::string* bytes) {
  switch (random->Uniform(4)) {
    case 0:
      for (uint64_t n = random->Range(1, 3); n > 0; --n) {
        size_t at = random->Range(2, bytes->size() - 1);
        (*bytes)[at] = static_cast<char>((*bytes)[at] ^ (1 << random->Uniform(8)));
      }
      break;
    case 1:
      bytes->resize(random->Range(2, bytes->size()));
      break;
    case 2:
      bytes->append(random->Range(1, 64), static_cast<char>(random->Next()));
      break;
    default:
      break;
  }
}

TEST(ClusterFuzzEntriesTest, RandomNoiseNeverCrashesTheDecoder) {
  Random random(31);
  for (int i = 0; i < 3000; ++i) {
    std::string input(random.Uniform(400), '\0');
    for (char& c : input) c = static_cast<char>(random.Next());
    FeedStream(input);
  }
}

TEST(ClusterFuzzEntriesTest, DamagedValidStreamsDecodeOrFailCleanly) {
  Random random(32);
  for (int i = 0; i < 3000; ++i) {
    std::string input = ValidStream(&random);
    Damage(&random, &input);
    FeedStream(input);
  }
}

TEST(ClusterFuzzEntriesTest, WrappedRandomPayloadsExerciseEveryCodec) {
  Random random(33);
  for (int i = 0; i < 3000; ++i) {
    std::string input(random.Range(2, 200), '\0');
    for (char& c : input) c = static_cast<char>(random.Next());
    input[0] = static_cast<char>(input[0] | 1);  // wrap in one valid frame
    FeedStream(input);
  }
}

}  // namespace
}  // namespace rq::fuzz
