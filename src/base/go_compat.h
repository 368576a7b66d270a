// Go behaviours rqlite's backup config files depend on, redone here because
// backup/ may include only base/ and metrics/: os.ExpandEnv (applied to the
// whole file text before JSON parsing) and time.Duration's text forms.
//
// Thread-safety: pure functions.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace rq {

// Looks an environment variable up; nullopt when unset. Unset and empty both
// expand to "", as in Go.
using EnvLookup = std::function<std::optional<std::string>(const std::string& name)>;
// The process environment (getenv).
EnvLookup ProcessEnv();

// Go's os.Expand: "$NAME" (NAME = [A-Za-z0-9_]+) and "${NAME}" become the
// variable's value; "$" followed by one shell-special character
// (* # $ @ ! ? - 0-9) is that one-character name; "${}" and an unclosed "${"
// are removed; a "$" followed by anything else, or last, stays.
std::string ExpandEnv(std::string_view text, const EnvLookup& lookup);

// Go's time.ParseDuration: an optional sign, then one or more decimal numbers
// each with a unit (ns, us, µs, μs, ms, s, m, h): "300ms", "1.5h", "2h45m".
// "0" alone needs no unit. Errors use Go's words: `time: invalid duration
// "x"`, `time: missing unit in duration "1"`, `time: unknown unit "d" in
// duration "1d"`.
Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text);

// Go's Duration.String(): "0s", "1.5ms", "1m30s", "1h0m0s".
std::string FormatGoDuration(std::chrono::nanoseconds duration);

}  // namespace rq
