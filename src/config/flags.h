// FlagSet: a command-line parser that behaves like Go's `flag` package, so
// that every rqlited command line written for rqlite parses the same way here.
//
// Syntax accepted (Go's rules): `-f v`, `-f=v`, `--f`, `--f=v`; a boolean is
// `-f` or `-f=<bool>` and never takes the next argument; `--` ends the flags.
// One deliberate difference (API.md "Our decisions" 2): flags may also come
// after positional arguments; Parse collects positionals and keeps going.
// Value syntax is Go's: strconv.ParseBool, ParseInt/ParseUint with base 0,
// time.ParseDuration. Error texts are Go's, word for word, because scripts
// and users compare them with rqlite's.
//
// Ownership: a FlagSet stores raw pointers to the variables it fills; they
// must outlive every call to Parse. Thread-safety: none; build, parse and read
// on one thread (startup only).
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "base/status.h"

namespace rq::config {

// Go's time.Duration: a signed count of nanoseconds.
using GoDuration = std::chrono::nanoseconds;

// ---- Go value syntax (pure functions, exposed for tests and for config.cc).

// strconv.ParseBool: 1 t T TRUE true True 0 f F FALSE false False.
std::optional<bool> ParseGoBool(std::string_view text);

// Why a number failed to parse, spelled as Go's flag package reports it.
enum class NumberError { kNone, kSyntax, kRange };
struct IntParse {
  int64_t value = 0;
  NumberError error = NumberError::kNone;
};
struct UintParse {
  uint64_t value = 0;
  NumberError error = NumberError::kNone;
};
// strconv.ParseInt(text, 0, 64): optional sign, 0x/0o/0b/0 prefixes, '_'
// between digits.
IntParse ParseGoInt(std::string_view text);
// strconv.ParseUint(text, 0, 64): as ParseGoInt but no sign.
UintParse ParseGoUint(std::string_view text);

// time.ParseDuration: "300ms", "-1.5h", "2h45m", "0"; units ns us µs ms s m h.
std::optional<GoDuration> ParseGoDuration(std::string_view text);
// time.Duration.String: "1h2m3s", "1.5s", "50ms", "0s".
std::string FormatGoDuration(GoDuration d);

// Go's %q for a plain string: double quotes, with \" \\ and control bytes
// escaped.
std::string GoQuote(std::string_view text);

// ---- The flag set.

enum class FlagVisibility {
  kListed,  // printed by Defaults()
  kHidden,  // parsed but not printed (legacy spellings)
};

class FlagSet {
 public:
  // What one Parse call produced. When `error` is set the caller prints it and
  // the usage text, then exits with status 2 (Go's ExitOnError). When
  // `help_requested` is set the caller prints the usage text and exits 0.
  struct Outcome {
    std::optional<std::string> error;
    bool help_requested = false;
    std::vector<std::string> positional;
  };

  using Target = std::variant<bool*, int64_t*, uint64_t*, GoDuration*, std::string*,
                              std::vector<std::string>*>;

  // REQUIRES: name is not yet defined; target is non-null and outlives *this.
  // The value the target holds now is the flag's default, as Defaults() shows.
  void Define(std::string_view name, Target target, std::string_view usage,
              FlagVisibility visibility = FlagVisibility::kListed);

  Outcome Parse(const std::vector<std::string>& args);

  // Names of flags set by the last Parse, first setting first, no repeats.
  const std::vector<std::string>& set_order() const { return set_order_; }
  bool WasSet(std::string_view name) const;
  bool IsDefined(std::string_view name) const;

  // Go's flag.PrintDefaults for the listed flags, sorted by name, using the
  // values the targets held when Define was called as the defaults.
  std::string Defaults() const;

  // Formats a value the way Go's flag.Value.String does.
  static std::string FormatValue(const Target& target);

 private:
  struct Flag {
    std::string name;
    Target target;
    std::string usage;
    std::string default_value;  // FormatValue(target) at Define time
    FlagVisibility visibility;
  };

  // Handles the argument at args[*index] (a flag); may consume the next one.
  // Returns an error text, or "help", or nothing on success.
  std::optional<std::string> ParseOne(const std::vector<std::string>& args, size_t* index,
                                      bool* help);
  std::optional<std::string> SetValue(Flag& flag, const std::string& value);

  std::map<std::string, Flag, std::less<>> flags_;
  std::vector<std::string> set_order_;
};

// The strings that Go's flag package writes; shared with tests.
std::string UndefinedFlagMessage(std::string_view name);

}  // namespace rq::config
