#include "db/render.h"

#include <array>
#include <cstdio>

namespace rq::db {
namespace {

struct CivilTime {
  int64_t year = 1;
  int month = 1;
  int day = 1;
  int hour = 0;
  int minute = 0;
  int second = 0;
  int nanos = 0;
  int offset_minutes = 0;  // east of UTC
};

bool IsLeap(int64_t year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

int DaysInMonth(int64_t year, int month) {
  static constexpr std::array<int, 12> kDays = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  RQ_ASSERT(month >= 1 && month <= 12);
  return month == 2 && IsLeap(year) ? 29 : kDays[month - 1];
}

// Howard Hinnant's civil_from_days: days since 1970-01-01 -> y/m/d.
void CivilFromDays(int64_t days, CivilTime& t) {
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  t.day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  t.month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  t.year = yoe + era * 400 + (t.month <= 2 ? 1 : 0);
}

CivilTime FromUnix(int64_t seconds, int nanos) {
  CivilTime t;
  int64_t days = seconds / 86400;
  int64_t rem = seconds % 86400;
  if (rem < 0) {
    rem += 86400;
    days -= 1;
  }
  CivilFromDays(days, t);
  t.hour = static_cast<int>(rem / 3600);
  t.minute = static_cast<int>(rem % 3600 / 60);
  t.second = static_cast<int>(rem % 60);
  t.nanos = nanos;
  return t;
}

// Go's Time.MarshalText (RFC 3339 with trimmed nanoseconds).
Result<std::string> Format(const CivilTime& t) {
  if (t.year < 0 || t.year > 9999) {
    return Status::InvalidArgument("Time.MarshalText: year outside of range [0,9999]");
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d", static_cast<int>(t.year),
                        t.month, t.day, t.hour, t.minute, t.second);
  std::string out(buf, static_cast<size_t>(n));
  if (t.nanos != 0) {
    n = std::snprintf(buf, sizeof(buf), ".%09d", t.nanos);
    std::string frac(buf, static_cast<size_t>(n));
    while (frac.back() == '0') frac.pop_back();
    out += frac;
  }
  if (t.offset_minutes == 0) {
    out += 'Z';
  } else {
    const int abs_minutes = t.offset_minutes < 0 ? -t.offset_minutes : t.offset_minutes;
    n = std::snprintf(buf, sizeof(buf), "%c%02d:%02d", t.offset_minutes < 0 ? '-' : '+',
                      abs_minutes / 60, abs_minutes % 60);
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// A cursor over the text being parsed; each Take* consumes on success only.
class Scanner {
 public:
  explicit Scanner(std::string_view s) : s_(s) {}
  bool Done() const { return pos_ == s_.size(); }
  bool TakeChar(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool TakeOneOf(std::string_view chars, char* got) {
    if (pos_ < s_.size() && chars.find(s_[pos_]) != std::string_view::npos) {
      *got = s_[pos_++];
      return true;
    }
    return false;
  }
  // Exactly `min`..`max` decimal digits.
  bool TakeDigits(size_t min, size_t max, int64_t* value, size_t* count = nullptr) {
    size_t n = 0;
    int64_t v = 0;
    while (n < max && pos_ + n < s_.size() && s_[pos_ + n] >= '0' && s_[pos_ + n] <= '9') {
      v = v * 10 + (s_[pos_ + n] - '0');
      ++n;
    }
    if (n < min) return false;
    pos_ += n;
    *value = v;
    if (count != nullptr) *count = n;
    return true;
  }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

// "-07:00" as Go parses it: sign, two-digit hours, colon, two-digit minutes.
bool ParseOffset(Scanner& in, int* offset_minutes) {
  char sign = 0;
  int64_t hours = 0;
  int64_t minutes = 0;
  if (!in.TakeOneOf("+-", &sign) || !in.TakeDigits(2, 2, &hours) || !in.TakeChar(':') ||
      !in.TakeDigits(2, 2, &minutes)) {
    return false;
  }
  if (hours > 23 || minutes > 59) return false;
  *offset_minutes = static_cast<int>((hours * 60 + minutes) * (sign == '-' ? -1 : 1));
  return true;
}

// Seconds with an optional fraction and offset; the caller consumed HH:MM:.
bool ParseSecondsAndZone(Scanner& in, CivilTime& t) {
  int64_t v = 0;
  if (!in.TakeDigits(2, 2, &v) || v > 59) return false;
  t.second = static_cast<int>(v);
  char sep = 0;
  if (in.TakeOneOf(".,", &sep)) {
    size_t digits = 0;
    if (!in.TakeDigits(1, 9, &v, &digits)) return false;
    for (size_t i = digits; i < 9; ++i) v *= 10;
    t.nanos = static_cast<int>(v);
  }
  if (in.Done()) return true;
  return ParseOffset(in, &t.offset_minutes) && in.Done();
}

// The go-sqlite3 SQLiteTimestampFormats, tried as one grammar:
//   YYYY-MM-DD[( |T)H[H]:MM[:SS[.f{1,9}][±hh:mm]]]
bool ParseTimeText(std::string_view text, CivilTime& t) {
  Scanner in(text);
  int64_t v = 0;
  if (!in.TakeDigits(4, 4, &t.year) || !in.TakeChar('-')) return false;
  if (!in.TakeDigits(2, 2, &v) || v < 1 || v > 12 || !in.TakeChar('-')) return false;
  t.month = static_cast<int>(v);
  if (!in.TakeDigits(2, 2, &v) || v < 1 || v > DaysInMonth(t.year, t.month)) return false;
  t.day = static_cast<int>(v);
  if (in.Done()) return true;
  char sep = 0;
  if (!in.TakeOneOf(" T", &sep)) return false;
  if (!in.TakeDigits(1, 2, &v) || v > 23 || !in.TakeChar(':')) return false;
  t.hour = static_cast<int>(v);
  if (!in.TakeDigits(2, 2, &v) || v > 59) return false;
  t.minute = static_cast<int>(v);
  if (in.Done()) return true;
  if (!in.TakeChar(':')) return false;
  return ParseSecondsAndZone(in, t);
}

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

}  // namespace

bool IsTimeDeclType(std::string_view t) { return t == "date" || t == "datetime" || t == "timestamp"; }

// rqlite db.go isTextType: SQLite's text-affinity spellings, plus "" and json.
bool IsTextDeclType(std::string_view t) {
  return t == "text" || t == "json" || t.empty() || StartsWith(t, "varchar") ||
         StartsWith(t, "varying character") || StartsWith(t, "nchar") ||
         StartsWith(t, "native character") || StartsWith(t, "nvarchar") || StartsWith(t, "clob");
}

Result<std::string> RenderTimeText(std::string_view text) {
  if (!text.empty() && text.back() == 'Z') text.remove_suffix(1);
  CivilTime t;
  if (!ParseTimeText(text, t)) return std::string(kZeroTime);
  return Format(t);
}

Result<std::string> RenderTimeInteger(int64_t value) {
  constexpr int64_t kMillisThreshold = 1'000'000'000'000;
  if (value > kMillisThreshold || value < -kMillisThreshold) {
    int64_t seconds = value / 1000;
    int64_t millis = value % 1000;
    if (millis < 0) {
      millis += 1000;
      seconds -= 1;
    }
    return Format(FromUnix(seconds, static_cast<int>(millis * 1'000'000)));
  }
  return Format(FromUnix(value, 0));
}

Result<command::Value> ReadColumn(sqlite3_stmt* stmt, int index, std::string_view decltype_lower) {
  switch (sqlite3_column_type(stmt, index)) {
    case SQLITE_INTEGER: {
      const int64_t v = sqlite3_column_int64(stmt, index);
      if (IsTimeDeclType(decltype_lower)) {
        Result<std::string> s = RenderTimeInteger(v);
        if (!s.ok()) return s.status();
        return command::Value(std::move(s).value());
      }
      if (decltype_lower == "boolean") return command::Value(v > 0);
      return command::Value(v);
    }
    case SQLITE_FLOAT:
      return command::Value(sqlite3_column_double(stmt, index));
    case SQLITE_TEXT: {
      const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt, index));
      std::string_view text(p == nullptr ? "" : p, static_cast<size_t>(sqlite3_column_bytes(stmt, index)));
      if (IsTimeDeclType(decltype_lower)) {
        Result<std::string> s = RenderTimeText(text);
        if (!s.ok()) return s.status();
        return command::Value(std::move(s).value());
      }
      return command::Value(std::string(text));
    }
    case SQLITE_BLOB: {
      const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt, index));
      std::string bytes(p == nullptr ? "" : p, p == nullptr ? 0 : static_cast<size_t>(sqlite3_column_bytes(stmt, index)));
      if (IsTextDeclType(decltype_lower)) return command::Value(std::move(bytes));
      return command::Value(command::Blob{std::move(bytes)});
    }
    default:
      return command::Value(std::monostate{});
  }
}

void FillEmptyTypesFromRow(std::vector<std::string>& types, const std::vector<command::Value>& row) {
  RQ_ASSERT(types.size() == row.size());
  for (size_t i = 0; i < types.size(); ++i) {
    if (!types[i].empty()) continue;
    const command::Value& v = row[i];
    if (std::holds_alternative<int64_t>(v)) {
      types[i] = "integer";
    } else if (std::holds_alternative<double>(v)) {
      types[i] = "real";
    } else if (std::holds_alternative<bool>(v)) {
      types[i] = "boolean";
    } else if (std::holds_alternative<command::Blob>(v)) {
      types[i] = "blob";
    } else if (std::holds_alternative<std::string>(v)) {
      types[i] = "text";
    } else {
      return;  // NULL: rqlite gives up here and leaves the rest empty.
    }
  }
}

}  // namespace rq::db
