// Fuzz entry point of what a discovery service (Consul, etcd) answers, shared
// by the libFuzzer target (disco_answer_fuzz.cc) and a gtest that feeds it
// seeded random inputs on every build. Violations RQ_ASSERT, i.e. crash like
// a fuzzer finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rq::fuzz {

// The first byte picks the parser (Consul GET or PUT with an HTTP status
// taken from it, etcd range or txn, the leader record, an endpoint), the rest
// is the body. A leader record that decodes must have a Raft address and
// survive encode -> decode unchanged; an endpoint that parses must have a
// host and an all-digit port.
void FuzzDiscoAnswer(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
