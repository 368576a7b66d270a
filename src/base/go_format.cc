#include "base/go_format.h"

#include <cmath>
#include <cstdio>
#include <ctime>

namespace rq {

std::string HumanizeBytes(uint64_t bytes) {
  static constexpr const char* kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  char out[32];
  if (bytes < 10) {
    std::snprintf(out, sizeof out, "%llu B", static_cast<unsigned long long>(bytes));
    return out;
  }
  // The exponent by integer division, not floor(log(n)/log(1000)) as Go
  // computes it: the same for every size, without a logarithm landing just
  // under an exact power (1000000 is "1.0 MB" in go-humanize's own tests).
  int exponent = 0;
  double unit = 1;
  for (uint64_t rest = bytes; rest >= 1000 && exponent < 6; rest /= 1000) {
    ++exponent;
    unit *= 1000;
  }
  const double value = std::floor(static_cast<double>(bytes) / unit * 10 + 0.5) / 10;
  std::snprintf(out, sizeof out, value < 10 ? "%.1f %s" : "%.0f %s", value, kUnits[exponent]);
  return out;
}

std::string FormatRfc3339Nano(std::chrono::system_clock::time_point time) {
  using namespace std::chrono;
  const auto since_epoch = duration_cast<nanoseconds>(time.time_since_epoch());
  auto seconds = duration_cast<std::chrono::seconds>(since_epoch);
  auto nanos = (since_epoch - seconds).count();
  if (nanos < 0) {  // before 1970: the fraction still counts forward
    nanos += 1'000'000'000;
    seconds -= std::chrono::seconds(1);
  }
  const std::time_t whole = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&whole, &utc);
  char date[32];
  std::strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &utc);
  std::string out = date;
  if (nanos != 0) {
    char fraction[24];  // room for any long long, so no compiler sees truncation
    std::snprintf(fraction, sizeof fraction, ".%09lld", static_cast<long long>(nanos));
    std::string digits = fraction;
    digits.erase(digits.find_last_not_of('0') + 1);
    out += digits;
  }
  return out + "Z";
}

}  // namespace rq
