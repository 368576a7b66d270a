#include "metrics/prometheus.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "base/assert.h"

namespace rq::metrics {

namespace {

// Prometheus's float format: integers without a fraction, +Inf/-Inf/NaN by
// name, everything else with enough digits to read back the same double.
std::string FormatValue(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  if (value == std::floor(value) && std::fabs(value) < 1e15) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.0f", value);
    return buf;
  }
  char buf[40];
  // The shortest text that reads back as the same double, as Go's 'g' -1.
  const auto [end, error] = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general);
  return error == std::errc() ? std::string(buf, end) : "NaN";
}

// In HELP: backslash and newline escaped. In label values: also '"'.
void AppendEscaped(std::string& out, std::string_view text, bool quote) {
  for (char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (quote && c == '"') {
      out += "\\\"";
    } else {
      out += c;
    }
  }
}

}  // namespace

bool IsValidName(std::string_view name) {
  if (name.empty()) return false;
  for (size_t i = 0; i < name.size(); i++) {
    const char c = name[i];
    const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!letter && !(digit && i > 0)) return false;
  }
  return true;
}

const std::vector<double>& LatencyBuckets() {
  static const std::vector<double> buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                           0.025,  0.05,    0.1,    0.25,  0.5,    1,     2.5,
                                           5,      10};
  return buckets;
}

Histogram::Histogram(std::vector<double> upper_bounds)
    : upper_bounds_(std::move(upper_bounds)),
      buckets_(std::make_unique<std::atomic<uint64_t>[]>(upper_bounds_.size() + 1)) {
  RQ_ASSERT(std::is_sorted(upper_bounds_.begin(), upper_bounds_.end()));
}

void Histogram::Observe(double value) {
  const size_t bucket =
      std::lower_bound(upper_bounds_.begin(), upper_bounds_.end(), value) - upper_bounds_.begin();
  buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(value, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
}

void Histogram::Clear() {
  for (size_t i = 0; i <= upper_bounds_.size(); i++) buckets_[i].store(0, std::memory_order_relaxed);
  count_.store(0, std::memory_order_relaxed);
  sum_.store(0, std::memory_order_relaxed);
}

Histogram::Reading Histogram::Read() const {
  Reading reading;
  reading.upper_bounds = upper_bounds_;
  uint64_t running = 0;
  for (size_t i = 0; i <= upper_bounds_.size(); i++) {
    running += buckets_[i].load(std::memory_order_relaxed);
    reading.cumulative.push_back(running);
  }
  // The buckets are the truth: count is their total, so a reading never
  // shows a +Inf bucket that differs from _count.
  reading.count = running;
  reading.sum = sum_.load(std::memory_order_relaxed);
  return reading;
}

void TextWriter::Family(std::string_view name, std::string_view help, std::string_view type) {
  if (name == last_family_) return;
  last_family_ = std::string(name);
  out_ += "# HELP ";
  out_ += name;
  out_ += ' ';
  AppendEscaped(out_, help, false);
  out_ += "\n# TYPE ";
  out_ += name;
  out_ += ' ';
  out_ += type;
  out_ += '\n';
}

void TextWriter::Sample(std::string_view name, std::string_view suffix, const Labels& labels, double value,
                        const std::pair<std::string, std::string>* extra) {
  out_ += name;
  out_ += suffix;
  if (!labels.empty() || extra != nullptr) {
    out_ += '{';
    bool first = true;
    const auto add = [&](const std::pair<std::string, std::string>& label) {
      if (!first) out_ += ',';
      first = false;
      out_ += label.first;
      out_ += "=\"";
      AppendEscaped(out_, label.second, true);
      out_ += '"';
    };
    for (const auto& label : labels) add(label);
    if (extra != nullptr) add(*extra);
    out_ += '}';
  }
  out_ += ' ';
  out_ += FormatValue(value);
  out_ += '\n';
}

void TextWriter::Counter(std::string_view name, std::string_view help, const Labels& labels, double value) {
  Family(name, help, "counter");
  Sample(name, "", labels, value);
}

void TextWriter::Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) {
  Family(name, help, "gauge");
  Sample(name, "", labels, value);
}

void TextWriter::Histogram(std::string_view name, std::string_view help, const Labels& labels,
                           const Histogram::Reading& reading) {
  Family(name, help, "histogram");
  for (size_t i = 0; i < reading.cumulative.size(); i++) {
    const std::pair<std::string, std::string> le{
        "le", i < reading.upper_bounds.size() ? FormatValue(reading.upper_bounds[i]) : "+Inf"};
    Sample(name, "_bucket", labels, static_cast<double>(reading.cumulative[i]), &le);
  }
  Sample(name, "_sum", labels, reading.sum);
  Sample(name, "_count", labels, static_cast<double>(reading.count));
}

Exposition& Exposition::Default() {
  // Never destroyed: threads still counting during exit must not touch it.
  static Exposition* exposition = new Exposition();
  return *exposition;
}

Exposition::Family& Exposition::FamilyFor(std::string_view name, std::string_view help, Kind kind) {
  RQ_ASSERT(IsValidName(name));
  auto it = families_.find(name);
  if (it == families_.end()) {
    it = families_.emplace(std::string(name), Family{}).first;
    it->second.help = std::string(help);
    it->second.kind = kind;
  }
  RQ_ASSERT(it->second.kind == kind);
  return it->second;
}

metrics::Counter& Exposition::Value(std::string_view name, std::string_view help, const Labels& labels,
                                    Kind kind) {
  for (const auto& label : labels) RQ_ASSERT(IsValidName(label.first));
  std::lock_guard lock(mutex_);
  auto& series = FamilyFor(name, help, kind).values[labels];
  if (series == nullptr) series = std::make_unique<metrics::Counter>();
  return *series;
}

metrics::Counter& Exposition::Counter(std::string_view name, std::string_view help, const Labels& labels) {
  return Value(name, help, labels, Kind::kCounter);
}

metrics::Counter& Exposition::Gauge(std::string_view name, std::string_view help, const Labels& labels) {
  return Value(name, help, labels, Kind::kGauge);
}

metrics::Histogram& Exposition::Histogram(std::string_view name, std::string_view help, const Labels& labels,
                                          const std::vector<double>& upper_bounds) {
  for (const auto& label : labels) RQ_ASSERT(IsValidName(label.first));
  std::lock_guard lock(mutex_);
  auto& series = FamilyFor(name, help, Kind::kHistogram).histograms[labels];
  if (series == nullptr) series = std::make_unique<metrics::Histogram>(upper_bounds);
  return *series;
}

void Exposition::WriteTo(Sink& writer) const {
  std::lock_guard lock(mutex_);
  for (const auto& [name, family] : families_) {
    for (const auto& [labels, value] : family.values) {
      const double v = static_cast<double>(value->value());
      if (family.kind == Kind::kGauge) {
        writer.Gauge(name, family.help, labels, v);
      } else {
        writer.Counter(name, family.help, labels, v);
      }
    }
    for (const auto& [labels, histogram] : family.histograms) {
      writer.Histogram(name, family.help, labels, histogram->Read());
    }
  }
}

void Exposition::Reset() {
  std::lock_guard lock(mutex_);
  for (auto& [name, family] : families_) {
    for (auto& [labels, value] : family.values) value->Set(0);
    for (auto& [labels, histogram] : family.histograms) histogram->Clear();
  }
}

}  // namespace rq::metrics
