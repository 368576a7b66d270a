#include "http/query_params.h"

#include <algorithm>
#include <limits>

namespace rq::http {
namespace {

using Nanos = std::chrono::nanoseconds;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Value of one unit in nanoseconds, 0 when unknown.
uint64_t UnitNanos(std::string_view unit) {
  if (unit == "ns") return 1;
  if (unit == "us" || unit == "\xC2\xB5s" || unit == "\xCE\xBCs") return 1000;  // us, µs, μs
  if (unit == "ms") return 1000 * 1000;
  if (unit == "s") return 1000ULL * 1000 * 1000;
  if (unit == "m") return 60ULL * 1000 * 1000 * 1000;
  if (unit == "h") return 3600ULL * 1000 * 1000 * 1000;
  return 0;
}

// One "<digits>[.<digits>]<unit>" term, added to *total. False on error.
bool ParseDurationTerm(std::string_view& s, uint64_t* total) {
  constexpr uint64_t kMax = uint64_t{1} << 63;  // |min int64|
  uint64_t whole = 0;
  size_t i = 0;
  bool overflow = false;
  for (; i < s.size() && IsDigit(s[i]); i++) {
    if (overflow || whole > kMax / 10) {
      overflow = true;
      continue;
    }
    whole = whole * 10 + static_cast<uint64_t>(s[i] - '0');
    if (whole > kMax) overflow = true;
  }
  const bool had_whole = i > 0;
  if (overflow) return false;
  uint64_t fraction = 0;
  double scale = 1;
  bool had_fraction = false;
  if (i < s.size() && s[i] == '.') {
    i++;
    const size_t start = i;
    for (; i < s.size() && IsDigit(s[i]); i++) {
      // Like Go, digits beyond what fits are dropped, not an error.
      if (fraction <= (kMax - 9) / 10) {
        fraction = fraction * 10 + static_cast<uint64_t>(s[i] - '0');
        scale *= 10;
      }
    }
    had_fraction = i > start;
  }
  if (!had_whole && !had_fraction) return false;
  const size_t unit_start = i;
  for (; i < s.size() && s[i] != '.' && !IsDigit(s[i]); i++) {
  }
  const uint64_t unit = UnitNanos(s.substr(unit_start, i - unit_start));
  if (unit == 0) return false;
  if (whole > kMax / unit) return false;
  whole *= unit;
  if (fraction > 0) {
    whole += static_cast<uint64_t>(static_cast<double>(fraction) * (static_cast<double>(unit) / scale));
    if (whole > kMax) return false;
  }
  *total += whole;
  if (*total > kMax) return false;
  s.remove_prefix(i);
  return true;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::optional<Nanos> ParseGoDuration(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s == "0") return Nanos(0);
  if (s.empty()) return std::nullopt;
  uint64_t total = 0;
  // Each term consumes at least two bytes, so this loop is bounded by s.size().
  while (!s.empty()) {
    if (!ParseDurationTerm(s, &total)) return std::nullopt;
  }
  constexpr uint64_t kMaxPositive = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  if (negative) {
    if (total > kMaxPositive) return Nanos(std::numeric_limits<int64_t>::min());
    return Nanos(-static_cast<int64_t>(total));
  }
  if (total > kMaxPositive) return std::nullopt;
  return Nanos(static_cast<int64_t>(total));
}

std::optional<int64_t> ParseGoInt(std::string_view s) {
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  if (s.empty()) return std::nullopt;
  constexpr uint64_t kLimit = uint64_t{1} << 63;
  uint64_t value = 0;
  for (char c : s) {
    if (!IsDigit(c)) return std::nullopt;
    if (value > (kLimit - static_cast<uint64_t>(c - '0')) / 10) return std::nullopt;
    value = value * 10 + static_cast<uint64_t>(c - '0');
  }
  if (negative) return value == kLimit ? std::numeric_limits<int64_t>::min() : -static_cast<int64_t>(value);
  if (value == kLimit) return std::nullopt;
  return static_cast<int64_t>(value);
}

std::optional<std::string> QueryUnescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); i++) {
    const char c = text[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      if (i + 2 >= text.size()) return std::nullopt;
      const int high = HexValue(text[i + 1]);
      const int low = HexValue(text[i + 2]);
      if (high < 0 || low < 0) return std::nullopt;
      out.push_back(static_cast<char>(high * 16 + low));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

QueryParams QueryParams::Parse(std::string_view raw) {
  QueryParams params;
  while (!raw.empty()) {
    const size_t amp = raw.find('&');
    std::string_view pair = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    // Go refuses a pair holding ';' (since 1.17) and skips it.
    if (pair.empty() || pair.find(';') != std::string_view::npos) continue;
    const size_t eq = pair.find('=');
    auto key = QueryUnescape(pair.substr(0, eq));
    auto value = QueryUnescape(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
    if (!key || !value) continue;
    params.pairs_.emplace_back(std::move(*key), std::move(*value));
  }
  return params;
}

bool QueryParams::Has(std::string_view key) const {
  for (const auto& [k, v] : pairs_) {
    if (k == key) return true;
  }
  return false;
}

std::string QueryParams::Get(std::string_view key) const {
  for (const auto& [k, v] : pairs_) {
    if (k == key) return v;
  }
  return "";
}

Status QueryParams::Validate() const {
  for (const char* key : {"timeout", "freshness", "db_timeout", "linearizable_timeout"}) {
    if (!Has(key)) continue;
    std::optional<Nanos> value = ParseGoDuration(Get(key));
    if (!value) return Status::InvalidArgument(std::string(key) + " is not a valid duration");
    // Checked here, on the node the client reached: a follower would
    // otherwise forward it and report the leader's refusal as its own fault.
    if (value->count() < 0) return Status::InvalidArgument(std::string(key) + " must not be negative");
  }
  for (const char* key : {"retries", "trailing_logs", "sync_index"}) {
    if (!Has(key)) continue;
    std::optional<int64_t> value = ParseGoInt(Get(key));
    if (!value) return Status::InvalidArgument(std::string(key) + " is not a valid integer");
    if (*value < 0) return Status::InvalidArgument(std::string(key) + " must not be negative");
  }
  if (Has("freshness_strict") && Duration("freshness", Nanos(0)) == Nanos(0)) {
    return Status::InvalidArgument("freshness_strict requires freshness");
  }
  if (Has("q") && Get("q").empty()) return Status::InvalidArgument("query parameter not set");
  return Status::OK();
}

Nanos QueryParams::Duration(std::string_view key, Nanos fallback) const {
  if (!Has(key)) return fallback;
  return ParseGoDuration(Get(key)).value_or(fallback);
}

Nanos QueryParams::Timeout(Nanos fallback) const {
  const Nanos timeout = Duration("timeout", fallback);
  return timeout.count() == 0 ? fallback : timeout;
}

int64_t QueryParams::Int(std::string_view key, int64_t fallback) const {
  if (!Has(key)) return fallback;
  return ParseGoInt(Get(key)).value_or(fallback);
}

command::Consistency QueryParams::Level() const {
  std::string level = Get("level");
  for (char& c : level) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (level == "none") return command::Consistency::kNone;
  if (level == "linearizable") return command::Consistency::kLinearizable;
  if (level == "strong") return command::Consistency::kStrong;
  if (level == "auto") return command::Consistency::kAuto;
  return command::Consistency::kWeak;
}

CallOptions QueryParams::ToCallOptions() const {
  CallOptions options;
  options.level = Level();
  options.freshness = Duration("freshness", Nanos(0));
  options.freshness_strict = Has("freshness_strict");
  options.timeout = Timeout(options.timeout);
  options.linearizable_timeout = Duration("linearizable_timeout", options.linearizable_timeout);
  options.redirect = Has("redirect");
  const int64_t retries = Int("retries", 0);
  options.retries = static_cast<int>(std::clamp<int64_t>(retries, 0, 1000));
  options.noleader = Has("noleader");
  options.noparse = Has("noparse");
  options.norwrandom = Has("norwrandom");
  options.norwtime = Has("norwtime");
  options.timings = Has("timings");
  options.queue_noleader = Has("queue") && Has("noleader");
  options.sync_index = static_cast<uint64_t>(Int("sync_index", 0));
  return options;
}

}  // namespace rq::http
