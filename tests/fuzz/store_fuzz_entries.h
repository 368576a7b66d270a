// Fuzz entry points of the store's own decoders of outside input, shared by
// the libFuzzer targets (snapshot_record_fuzz.cc, peers_file_fuzz.cc) and a
// gtest that feeds them seeded random inputs on every build. Violations
// RQ_ASSERT, i.e. crash like a fuzzer finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rq::fuzz {

// The input as a snapshot record (raft/snapshot.meta, an install intent, or
// the header of a peer's snapshot stream). When the first byte is odd, the
// rest is given a valid magic and CRC so the body's decoding is explored. A
// record that decodes must hold raft::Membership's invariants (non-empty,
// sorted, unique, disjoint ids) and survive encode -> decode unchanged.
void FuzzSnapshotRecord(const uint8_t* data, size_t size);

// The input as an operator's peers.json. A file that parses must list at
// least one voter, unique non-empty ids with non-empty addresses, and give a
// membership holding raft::Membership's invariants.
void FuzzPeersFile(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
