// Fuzz entry points of the Go rqlite readers (src/upgrade/), shared by the
// libFuzzer targets (bolt_reader_fuzz.cc, go_msgpack_fuzz.cc,
// go_command_fuzz.cc, sqlite_wal_fuzz.cc) and a gtest that feeds them seeded random inputs so
// CI exercises them without clang. Every input must be refused with a
// Status or read consistently; a crash, hang or RQ_ASSERT is a finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace rq::fuzz {

// A valid raft.db (conf + logs across several leaves under a branch) that
// the bolt entry point damages; exposed for the gtest's seeds.
std::string UpgradeSampleRaftDb();

// Bytes as a BoltDB file. When the first byte is odd, the rest patches the
// sample raft.db instead: each 3-byte group (offset high, offset low,
// xor mask) flips bytes of it, so the deep paths (branch pages, inline
// buckets, msgpack records) get explored. Walks every bucket, then reads
// the file as raft-boltdb's store; a log that reads must be consecutive.
void FuzzBoltFile(const uint8_t* data, size_t size);

// Bytes as msgpack, then as a raft.Log record and a raft.Configuration.
void FuzzGoMsgpack(const uint8_t* data, size_t size);

// Bytes as a Go rqlite command under both numberings, and as snapshot
// meta.json.
void FuzzGoCommand(const uint8_t* data, size_t size);

// A valid SQLite WAL (4 frames of 512-byte pages, two transactions), built
// by hand with SQLite's checksums; exposed for the gtest's seeds.
std::string UpgradeSampleSqliteWal();

// Bytes as a SQLite WAL (v10 incremental snapshots). When the first byte
// is odd, the rest patches the sample WAL as FuzzBoltFile patches its
// sample. A WAL that passes must be whole frames, ending in a commit.
void FuzzSqliteWal(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
