// The text forms rqlite's JSON carries for some values, as Go prints them:
// go-humanize's Bytes ("1.2 MB") and time.Time's RFC3339Nano. /status shows
// both; clients parse them.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rq {

// github.com/dustin/go-humanize Bytes: SI units (base 1000: B, kB, MB, GB,
// TB, PB, EB); "%d B" under 10 bytes; otherwise the value rounded to one
// decimal, shown with that decimal below 10 ("1.5 kB") and without it from
// 10 up ("15 kB", "999 kB", "1000 kB" for 999999 bytes, as Go's does).
std::string HumanizeBytes(uint64_t bytes);

// time.Time's JSON form, RFC3339 with nanoseconds and the trailing zeros of
// the fraction dropped ("2024-05-01T10:20:30.5Z"), here always in UTC. The
// zero time_point is not Go's zero time: pass nothing to get that
// ("0001-01-01T00:00:00Z").
std::string FormatRfc3339Nano(std::chrono::system_clock::time_point time);
inline constexpr const char* kGoZeroTime = "0001-01-01T00:00:00Z";

}  // namespace rq
