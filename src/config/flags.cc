#include "config/flags.h"

#include <algorithm>
#include <cstdio>
#include <limits>

namespace rq::config {
namespace {

char Lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Go's underscoreOK: '_' may only separate digits (or follow a base prefix).
bool UnderscoresWellPlaced(std::string_view s) {
  char saw = '^';  // ^ start, 0 digit or prefix, _ underscore, ! other
  size_t i = 0;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  bool hex = false;
  if (s.size() >= 2 && s[0] == '0' &&
      (Lower(s[1]) == 'b' || Lower(s[1]) == 'o' || Lower(s[1]) == 'x')) {
    i = 2;
    saw = '0';
    hex = Lower(s[1]) == 'x';
  }
  for (; i < s.size(); ++i) {
    const char c = s[i];
    if (IsDigit(c) || (hex && Lower(c) >= 'a' && Lower(c) <= 'f')) {
      saw = '0';
      continue;
    }
    if (c == '_') {
      if (saw != '0') return false;
      saw = '_';
      continue;
    }
    if (saw == '_') return false;
    saw = '!';
  }
  return saw != '_';
}

int DigitValue(char c) {
  if (IsDigit(c)) return c - '0';
  const char l = Lower(c);
  if (l >= 'a' && l <= 'z') return l - 'a' + 10;
  return 99;
}

}  // namespace

std::optional<bool> ParseGoBool(std::string_view t) {
  if (t == "1" || t == "t" || t == "T" || t == "TRUE" || t == "true" || t == "True") return true;
  if (t == "0" || t == "f" || t == "F" || t == "FALSE" || t == "false" || t == "False") return false;
  return std::nullopt;
}

UintParse ParseGoUint(std::string_view text) {
  UintParse out;
  std::string_view s = text;
  if (s.empty()) return {0, NumberError::kSyntax};
  uint64_t base = 10;
  if (s[0] == '0') {
    if (s.size() >= 3 && Lower(s[1]) == 'b') {
      base = 2, s.remove_prefix(2);
    } else if (s.size() >= 3 && Lower(s[1]) == 'o') {
      base = 8, s.remove_prefix(2);
    } else if (s.size() >= 3 && Lower(s[1]) == 'x') {
      base = 16, s.remove_prefix(2);
    } else {
      base = 8, s.remove_prefix(1);
    }
  }
  bool underscores = false;
  uint64_t n = 0;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  for (const char c : s) {
    if (c == '_') {
      underscores = true;
      continue;
    }
    const int digit = DigitValue(c);
    if (static_cast<uint64_t>(digit) >= base) return {0, NumberError::kSyntax};
    if (n > (kMax - static_cast<uint64_t>(digit)) / base) return {kMax, NumberError::kRange};
    n = n * base + static_cast<uint64_t>(digit);
  }
  if (underscores && !UnderscoresWellPlaced(text)) return {0, NumberError::kSyntax};
  out.value = n;
  return out;
}

IntParse ParseGoInt(std::string_view text) {
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  // Signs were removed above, so a second one is a syntax error below.
  if (!s.empty() && (s[0] == '+' || s[0] == '-')) return {0, NumberError::kSyntax};
  const UintParse magnitude = ParseGoUint(s);
  if (magnitude.error == NumberError::kSyntax) return {0, NumberError::kSyntax};
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  if (magnitude.error == NumberError::kRange) return {0, NumberError::kRange};
  if (!negative && magnitude.value >= kLimit) return {0, NumberError::kRange};
  if (negative && magnitude.value > kLimit) return {0, NumberError::kRange};
  if (negative) return {static_cast<int64_t>(0 - magnitude.value), NumberError::kNone};
  return {static_cast<int64_t>(magnitude.value), NumberError::kNone};
}

namespace {

std::optional<uint64_t> DurationUnit(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return uint64_t{1000} * 1000 * 1000;
  if (unit == "m") return uint64_t{60} * 1000 * 1000 * 1000;
  if (unit == "h") return uint64_t{3600} * 1000 * 1000 * 1000;
  return std::nullopt;
}

// One "<digits>[.<digits>]<unit>" term of a duration, in nanoseconds.
std::optional<uint64_t> DurationTerm(std::string_view* s) {
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t whole = 0;
  size_t i = 0;
  for (; i < s->size() && IsDigit((*s)[i]); ++i) {  // Go's leadingInt
    if (whole > kLimit / 10) return std::nullopt;
    whole = whole * 10 + static_cast<uint64_t>((*s)[i] - '0');
    if (whole > kLimit) return std::nullopt;
  }
  const bool has_whole = i > 0;
  uint64_t fraction = 0;
  double scale = 1;
  bool has_fraction = false;
  if (i < s->size() && (*s)[i] == '.') {
    ++i;
    bool overflowed = false;
    for (; i < s->size() && IsDigit((*s)[i]); ++i) {  // Go's leadingFraction
      has_fraction = true;
      // Past 63 bits of precision Go keeps reading digits but ignores them.
      if (overflowed || fraction > (kLimit - 1) / 10) {
        overflowed = true;
        continue;
      }
      const uint64_t next = fraction * 10 + static_cast<uint64_t>((*s)[i] - '0');
      if (next > kLimit) {
        overflowed = true;
        continue;
      }
      fraction = next;
      scale *= 10;
    }
  }
  if (!has_whole && !has_fraction) return std::nullopt;
  size_t unit_end = i;
  while (unit_end < s->size() && (*s)[unit_end] != '.' && !IsDigit((*s)[unit_end])) ++unit_end;
  const std::optional<uint64_t> unit = DurationUnit(s->substr(i, unit_end - i));
  if (!unit) return std::nullopt;
  s->remove_prefix(unit_end);
  if (whole > kLimit / *unit) return std::nullopt;
  uint64_t total = whole * *unit;
  if (fraction > 0) {
    total += static_cast<uint64_t>(static_cast<double>(fraction) *
                                   (static_cast<double>(*unit) / scale));
    if (total > kLimit) return std::nullopt;
  }
  return total;
}

}  // namespace

std::optional<GoDuration> ParseGoDuration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return GoDuration{0};
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t total = 0;
  while (!s.empty()) {
    if (s[0] != '.' && !IsDigit(s[0])) return std::nullopt;
    const std::optional<uint64_t> term = DurationTerm(&s);
    if (!term) return std::nullopt;
    total += *term;
    if (total > kLimit) return std::nullopt;
  }
  if (negative) return GoDuration{static_cast<int64_t>(0 - total)};
  if (total > kLimit - 1) return std::nullopt;
  return GoDuration{static_cast<int64_t>(total)};
}

namespace {

// Go's fmtFrac: ".<digits>" of v / 10^precision without trailing zeros.
std::string FractionDigits(uint64_t* v, int precision) {
  std::string digits;
  bool printing = false;
  for (int i = 0; i < precision; ++i) {
    const uint64_t digit = *v % 10;
    printing = printing || digit != 0;
    if (printing) digits.insert(digits.begin(), static_cast<char>('0' + digit));
    *v /= 10;
  }
  return printing ? "." + digits : "";
}

}  // namespace

std::string FormatGoDuration(GoDuration d) {
  const int64_t ns = d.count();
  const bool negative = ns < 0;
  uint64_t u = negative ? 0 - static_cast<uint64_t>(ns) : static_cast<uint64_t>(ns);
  std::string out;
  if (u < 1000000000) {
    if (u == 0) return "0s";
    std::string unit;
    int precision = 0;
    if (u < 1000) {
      unit = "ns";
    } else if (u < 1000000) {
      unit = "\xC2\xB5s", precision = 3;
    } else {
      unit = "ms", precision = 6;
    }
    const std::string fraction = FractionDigits(&u, precision);
    out = std::to_string(u) + fraction + unit;
  } else {
    const std::string fraction = FractionDigits(&u, 9);
    out = std::to_string(u % 60) + fraction + "s";
    u /= 60;
    if (u > 0) {
      out = std::to_string(u % 60) + "m" + out;
      u /= 60;
      if (u > 0) out = std::to_string(u) + "h" + out;
    }
  }
  return negative ? "-" + out : out;
}

std::string GoQuote(std::string_view text) {
  std::string out = "\"";
  for (const char c : text) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          char buffer[8];
          std::snprintf(buffer, sizeof(buffer), "\\x%02x", static_cast<unsigned char>(c));
          out += buffer;
        } else {
          out += c;
        }
    }
  }
  return out + "\"";
}

std::string UndefinedFlagMessage(std::string_view name) {
  return "flag provided but not defined: -" + std::string(name);
}

namespace {

template <typename... F>
struct Overloaded : F... {
  using F::operator()...;
};
template <typename... F>
Overloaded(F...) -> Overloaded<F...>;

std::string NumberErrorText(NumberError error) {
  return error == NumberError::kRange ? "value out of range" : "parse error";
}

bool IsBool(const FlagSet::Target& target) { return std::holds_alternative<bool*>(target); }

// Go's UnquoteUsage: a `quoted` word in the usage names the argument;
// otherwise the type does.
std::pair<std::string, std::string> UnquoteUsage(const FlagSet::Target& target,
                                                 const std::string& usage) {
  const size_t open = usage.find('`');
  if (open != std::string::npos) {
    const size_t close = usage.find('`', open + 1);
    if (close != std::string::npos) {
      std::string name = usage.substr(open + 1, close - open - 1);
      std::string plain = usage.substr(0, open) + name + usage.substr(close + 1);
      return {name, plain};
    }
  }
  const std::string type = std::visit(
      Overloaded{[](bool*) { return std::string(); },
                 [](int64_t*) { return std::string("int"); },
                 [](uint64_t*) { return std::string("uint"); },
                 [](GoDuration*) { return std::string("duration"); },
                 [](std::string*) { return std::string("string"); },
                 [](std::vector<std::string>*) { return std::string("value"); }},
      target);
  return {type, usage};
}

// Go prints no "(default ...)" when the default is the type's zero value.
bool IsZeroDefault(const FlagSet::Target& target, const std::string& text) {
  return std::visit(Overloaded{[&](bool*) { return text == "false"; },
                               [&](int64_t*) { return text == "0"; },
                               [&](uint64_t*) { return text == "0"; },
                               [&](GoDuration*) { return text == "0s"; },
                               [&](std::string*) { return text.empty(); },
                               [&](std::vector<std::string>*) { return text == "[]"; }},
                    target);
}

std::string ReplaceNewlines(const std::string& usage) {
  std::string out;
  for (const char c : usage) {
    out += c;
    if (c == '\n') out += "    \t";
  }
  return out;
}

}  // namespace

void FlagSet::Define(std::string_view name, Target target, std::string_view usage,
                     FlagVisibility visibility) {
  RQ_ASSERT(!name.empty());
  RQ_ASSERT(!IsDefined(name));
  RQ_ASSERT(std::visit([](auto* p) { return p != nullptr; }, target));
  Flag flag{std::string(name), target, std::string(usage), FormatValue(target), visibility};
  flags_.emplace(std::string(name), std::move(flag));
}

bool FlagSet::IsDefined(std::string_view name) const { return flags_.find(name) != flags_.end(); }

bool FlagSet::WasSet(std::string_view name) const {
  return std::find(set_order_.begin(), set_order_.end(), name) != set_order_.end();
}

std::string FlagSet::FormatValue(const Target& target) {
  return std::visit(
      Overloaded{[](bool* v) { return std::string(*v ? "true" : "false"); },
                 [](int64_t* v) { return std::to_string(*v); },
                 [](uint64_t* v) { return std::to_string(*v); },
                 [](GoDuration* v) { return FormatGoDuration(*v); },
                 [](std::string* v) { return *v; },
                 [](std::vector<std::string>* v) {
                   std::string out = "[";
                   for (size_t i = 0; i < v->size(); ++i) out += (i ? " " : "") + (*v)[i];
                   return out + "]";
                 }},
      target);
}

std::optional<std::string> FlagSet::SetValue(Flag& flag, const std::string& value) {
  const std::string prefix = "invalid value " + GoQuote(value) + " for flag -" + flag.name + ": ";
  std::optional<std::string> error = std::visit(
      Overloaded{
          [&](bool* v) -> std::optional<std::string> {
            const std::optional<bool> parsed = ParseGoBool(value);
            if (!parsed) {
              return "invalid boolean value " + GoQuote(value) + " for -" + flag.name +
                     ": parse error";
            }
            *v = *parsed;
            return std::nullopt;
          },
          [&](int64_t* v) -> std::optional<std::string> {
            const IntParse parsed = ParseGoInt(value);
            if (parsed.error != NumberError::kNone) return prefix + NumberErrorText(parsed.error);
            *v = parsed.value;
            return std::nullopt;
          },
          [&](uint64_t* v) -> std::optional<std::string> {
            const UintParse parsed = ParseGoUint(value);
            if (parsed.error != NumberError::kNone) return prefix + NumberErrorText(parsed.error);
            *v = parsed.value;
            return std::nullopt;
          },
          [&](GoDuration* v) -> std::optional<std::string> {
            const std::optional<GoDuration> parsed = ParseGoDuration(value);
            if (!parsed) return prefix + "parse error";
            *v = *parsed;
            return std::nullopt;
          },
          [&](std::string* v) -> std::optional<std::string> {
            *v = value;
            return std::nullopt;
          },
          [&](std::vector<std::string>* v) -> std::optional<std::string> {
            // rqlite's list flags split on commas and drop empty items.
            v->clear();
            size_t start = 0;
            while (start <= value.size()) {
              size_t comma = value.find(',', start);
              if (comma == std::string::npos) comma = value.size();
              if (comma > start) v->push_back(value.substr(start, comma - start));
              start = comma + 1;
            }
            return std::nullopt;
          }},
      flag.target);
  if (!error && !WasSet(flag.name)) set_order_.push_back(flag.name);
  return error;
}

std::optional<std::string> FlagSet::ParseOne(const std::vector<std::string>& args, size_t* index,
                                             bool* help) {
  const std::string& arg = args[*index];
  const size_t minuses = (arg.size() >= 2 && arg[1] == '-') ? 2 : 1;
  std::string name = arg.substr(minuses);
  if (name.empty() || name[0] == '-' || name[0] == '=') return "bad flag syntax: " + arg;
  std::optional<std::string> value;
  const size_t equals = name.find('=');
  if (equals != std::string::npos) {
    value = name.substr(equals + 1);
    name.resize(equals);
  }
  const auto it = flags_.find(name);
  if (it == flags_.end()) {
    if (name == "help" || name == "h") {
      *help = true;
      return std::nullopt;
    }
    return UndefinedFlagMessage(name);
  }
  Flag& flag = it->second;
  if (IsBool(flag.target)) return SetValue(flag, value.value_or("true"));
  if (!value) {
    // Like Go, the next argument is the value even when it starts with '-'.
    if (*index + 1 >= args.size()) return "flag needs an argument: -" + name;
    ++*index;
    value = args[*index];
  }
  return SetValue(flag, *value);
}

FlagSet::Outcome FlagSet::Parse(const std::vector<std::string>& args) {
  Outcome outcome;
  set_order_.clear();
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    const bool looks_like_flag = arg.size() >= 2 && arg[0] == '-';
    if (flags_ended || !looks_like_flag) {
      outcome.positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    outcome.error = ParseOne(args, &i, &outcome.help_requested);
    if (outcome.error || outcome.help_requested) return outcome;
  }
  return outcome;
}

std::string FlagSet::Defaults() const {
  std::string out;
  for (const auto& [name, flag] : flags_) {  // std::map: sorted like Go's VisitAll
    if (flag.visibility == FlagVisibility::kHidden) continue;
    std::string line = "  -" + name;
    const auto [type_name, usage] = UnquoteUsage(flag.target, flag.usage);
    if (!type_name.empty()) line += " " + type_name;
    line += line.size() <= 4 ? "\t" : "\n    \t";
    line += ReplaceNewlines(usage);
    if (!IsZeroDefault(flag.target, flag.default_value)) {
      const bool quoted = std::holds_alternative<std::string*>(flag.target);
      line += " (default " + (quoted ? GoQuote(flag.default_value) : flag.default_value) + ")";
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace rq::config
