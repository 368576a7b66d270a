// libFuzzer target: what a client sends on the wire, read by the server's
// own head parser and limits and answered by the handler over a fake
// backend (rq::http::FuzzHttpWire). The gtest twin is WireFuzzTest in
// src/http/server_test.cc.
#include <cstddef>
#include <cstdint>

#include "http/header_parser.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  rq::http::FuzzHttpWire(data, size);
  return 0;
}
