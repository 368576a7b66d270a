// Request-body parsing for /db/execute, /db/query, /db/request and /db/sql
// (API.md 2.3): a JSON array of SQL strings and [sql, params...] arrays, or
// one text/plain statement, into a command::Request. Pure functions over
// their input; thread-safe.
#pragma once

#include <string_view>

#include "base/status.h"
#include "command/types.h"

namespace rq::http {

// rqlite's error texts (400 bodies).
inline constexpr std::string_view kErrInvalidJson = "invalid JSON body";
inline constexpr std::string_view kErrInvalidRequest = "invalid request";
inline constexpr std::string_view kErrNoStatements = "no statements";
inline constexpr std::string_view kErrUnsupportedType = "unsupported type";

// Parses a JSON body. Each statement's parameters follow API.md 2.3: integers
// exactly as int64 (a double when out of range), floats, bools, null, text,
// x'HEX' text and arrays of 0-255 as BLOBs, an object as named parameters.
// Errors are InvalidArgument with one of the texts above.
Result<command::Request> ParseJsonRequest(std::string_view body);

// A text/plain body is one statement; empty is "no statements".
Result<command::Request> ParsePlainRequest(std::string_view body);

// Fuzzing entry point shared by the libFuzzer target and its gtest twin:
// bytes up to the first '\n' are a query string, the rest a body; every
// parser and the renderer run on them. Must never crash or leak.
void FuzzHttpRequestParsers(const uint8_t* data, size_t size);

}  // namespace rq::http
