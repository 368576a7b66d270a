// Fuzz entry point of the cluster frame decoder and payload codec, shared by
// the libFuzzer target (cluster_frame_fuzz.cc) and a gtest that feeds it
// seeded random inputs on every build. Violations RQ_ASSERT, i.e. crash like
// a fuzzer finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rq::fuzz {

// Treats the input as a cluster connection's byte stream (when the first byte
// is odd, the rest is wrapped in one valid frame so the payload codecs get
// explored), fed to a FrameDecoder in input-chosen pieces. Every frame that
// comes out must re-encode to the bytes it came from and respect the size
// cap; every payload that decodes must survive encode -> decode unchanged.
void FuzzClusterStream(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
