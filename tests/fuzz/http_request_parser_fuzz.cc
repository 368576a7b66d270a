// libFuzzer target: the HTTP API's query-string and body parsers plus the
// JSON renderer (rq::http::FuzzHttpRequestParsers). Input: query string, a
// newline, then the body. The gtest twin is RequestParserFuzzTest in
// src/http/request_parser_test.cc.
#include <cstddef>
#include <cstdint>

#include "http/request_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::http::FuzzHttpRequestParsers(data, size);
  return 0;
}
