// Fuzz entry points of the command module, shared by the libFuzzer targets
// (command_codec_fuzz.cc, sql_processor_fuzz.cc) and by a gtest that feeds
// them random inputs so CI exercises them without clang. Each one RQ_ASSERTs
// the properties it checks, so a violation crashes like a fuzzer finding.
//
// Thread-safety: stateless; safe from any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace rq::fuzz {

// DecodeCommand never crashes; whatever decodes re-encodes and decodes to
// the same command.
void FuzzCommandCodec(const uint8_t* data, size_t size);

// Lex and ProcessSql never crash; tokens tile the input; unrewritten SQL is
// returned byte for byte; rewriting keeps lexability and is idempotent.
void FuzzSqlProcessor(const uint8_t* data, size_t size);

}  // namespace rq::fuzz
