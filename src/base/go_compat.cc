// Go's os.Expand and time.Duration parsing and printing (see go_compat.h).
#include "base/go_compat.h"

#include <cstdint>
#include <cstdlib>

namespace rq {
namespace {

bool IsShellSpecial(char c) {
  switch (c) {
    case '*': case '#': case '$': case '@': case '!': case '?': case '-':
      return true;
    default:
      return c >= '0' && c <= '9';
  }
}

bool IsNameChar(char c) {
  return c == '_' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

// The name after a '$' and how many bytes it spans (Go's getShellName).
// An empty name with width > 0 is bad syntax that is dropped.
std::pair<std::string_view, size_t> ShellName(std::string_view s) {
  if (s[0] == '{') {
    if (s.size() > 2 && IsShellSpecial(s[1]) && s[2] == '}') return {s.substr(1, 1), 3};
    for (size_t i = 1; i < s.size(); ++i) {
      if (s[i] == '}') {
        if (i == 1) return {{}, 2};  // "${}"
        return {s.substr(1, i - 1), i + 1};
      }
    }
    return {{}, 1};  // "${" never closed
  }
  if (IsShellSpecial(s[0])) return {s.substr(0, 1), 1};
  size_t i = 0;
  while (i < s.size() && IsNameChar(s[i])) ++i;
  return {s.substr(0, i), i};
}

Status InvalidDuration(std::string_view original) {
  return Status::InvalidArgument("time: invalid duration \"" + std::string(original) + "\"");
}

constexpr uint64_t kMaxDuration = uint64_t{1} << 63;

// Go's unitMap, in nanoseconds.
std::optional<uint64_t> UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;  // us, µs, μs
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return uint64_t{1000} * 1000 * 1000;
  if (unit == "m") return uint64_t{60} * 1000 * 1000 * 1000;
  if (unit == "h") return uint64_t{3600} * 1000 * 1000 * 1000;
  return std::nullopt;
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// One "<number><unit>" term of a duration, in nanoseconds.
Result<uint64_t> ParseTerm(std::string_view& s, std::string_view original) {
  if (!(s[0] == '.' || IsDigit(s[0]))) return InvalidDuration(original);
  uint64_t whole = 0;
  size_t i = 0;
  for (; i < s.size() && IsDigit(s[i]); ++i) {
    if (whole > (kMaxDuration - 1) / 10) return InvalidDuration(original);
    whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    if (whole > kMaxDuration) return InvalidDuration(original);
  }
  bool has_whole = i > 0;
  s.remove_prefix(i);
  uint64_t fraction = 0;
  double scale = 1;
  bool has_fraction = false;
  if (!s.empty() && s[0] == '.') {
    s.remove_prefix(1);
    bool overflow = false;
    for (i = 0; i < s.size() && IsDigit(s[i]); ++i) {
      if (overflow) continue;
      if (fraction > (kMaxDuration - 1) / 10) { overflow = true; continue; }
      fraction = fraction * 10 + static_cast<uint64_t>(s[i] - '0');
      scale *= 10;
    }
    has_fraction = i > 0;
    s.remove_prefix(i);
  }
  if (!has_whole && !has_fraction) return InvalidDuration(original);
  for (i = 0; i < s.size() && s[i] != '.' && !IsDigit(s[i]); ++i) {
  }
  if (i == 0) {
    return Status::InvalidArgument("time: missing unit in duration \"" + std::string(original) + "\"");
  }
  std::string_view unit_text = s.substr(0, i);
  s.remove_prefix(i);
  std::optional<uint64_t> unit = UnitNanos(unit_text);
  if (!unit) {
    return Status::InvalidArgument("time: unknown unit \"" + std::string(unit_text) + "\" in duration \"" +
                                   std::string(original) + "\"");
  }
  if (whole > kMaxDuration / *unit) return InvalidDuration(original);
  uint64_t value = whole * *unit;
  if (fraction > 0) {
    value += static_cast<uint64_t>(static_cast<double>(fraction) * (static_cast<double>(*unit) / scale));
    if (value > kMaxDuration) return InvalidDuration(original);
  }
  return value;
}

// Appends v's last `digits` decimal digits as a fraction, trailing zeros
// dropped, with the point only when something is left (Go's fmtFrac).
std::string Fraction(uint64_t& v, int digits) {
  std::string text;
  bool printing = false;
  for (int i = 0; i < digits; ++i) {
    char digit = static_cast<char>('0' + v % 10);
    printing = printing || digit != '0';
    if (printing) text.insert(text.begin(), digit);
    v /= 10;
  }
  if (printing) text.insert(text.begin(), '.');
  return text;
}

}  // namespace

EnvLookup ProcessEnv() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

std::string ExpandEnv(std::string_view text, const EnvLookup& lookup) {
  std::string out;
  out.reserve(text.size());
  size_t copied_to = 0;
  for (size_t j = 0; j < text.size(); ++j) {
    if (text[j] != '$' || j + 1 >= text.size()) continue;
    out.append(text.substr(copied_to, j - copied_to));
    auto [name, width] = ShellName(text.substr(j + 1));
    if (name.empty() && width == 0) {
      out.push_back('$');  // "$" before something that is not a name
    } else if (!name.empty()) {
      out.append(lookup(std::string(name)).value_or(""));
    }
    j += width;
    copied_to = j + 1;
  }
  if (copied_to < text.size()) out.append(text.substr(copied_to));
  return out;
}

Result<std::chrono::nanoseconds> ParseGoDuration(std::string_view text) {
  std::string_view original = text;
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return std::chrono::nanoseconds(0);
  if (s.empty()) return InvalidDuration(original);
  uint64_t total = 0;
  for (int terms = 0; !s.empty(); ++terms) {
    RQ_ASSERT(terms <= static_cast<int>(original.size()));  // each term eats at least two bytes
    Result<uint64_t> term = ParseTerm(s, original);
    if (!term.ok()) return term.status();
    total += *term;
    if (total > kMaxDuration) return InvalidDuration(original);
  }
  if (negative) return std::chrono::nanoseconds(static_cast<int64_t>(0 - total));
  if (total > kMaxDuration - 1) return InvalidDuration(original);
  return std::chrono::nanoseconds(static_cast<int64_t>(total));
}

std::string FormatGoDuration(std::chrono::nanoseconds duration) {
  int64_t d = duration.count();
  if (d == 0) return "0s";
  bool negative = d < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(d) : static_cast<uint64_t>(d);
  std::string text;
  if (u < 1000ULL * 1000 * 1000) {
    std::string unit;
    int digits = 0;
    if (u < 1000) {
      unit = "ns";
    } else if (u < 1000ULL * 1000) {
      unit = "\xC2\xB5s";  // µs, as Go prints it
      digits = 3;
    } else {
      unit = "ms";
      digits = 6;
    }
    std::string fraction = Fraction(u, digits);
    text = std::to_string(u) + fraction + unit;
  } else {
    std::string fraction = Fraction(u, 9);
    text = std::to_string(u % 60) + fraction + "s";
    u /= 60;
    if (u > 0) {
      text = std::to_string(u % 60) + "m" + text;
      u /= 60;
      if (u > 0) text = std::to_string(u) + "h" + text;
    }
  }
  return negative ? "-" + text : text;
}

}  // namespace rq
