// Prometheus metrics: counters and histograms with labels, grouped into
// families by name, and the text exposition format (version 0.0.4) that
// GET /metrics answers. Names follow Prometheus's conventions: an
// "rqlite_" prefix, base units in the name (_seconds, _bytes), "_total" on
// counters. Values known only at scrape time (the Raft term, file sizes)
// are written by the caller straight into the TextWriter as gauges.
//
// Hot path: look a series up once (a static local or a struct member) and
// keep the reference; Counter::Add and Histogram::Observe are relaxed
// atomics. Series never move and live as long as their Exposition.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "metrics/metrics.h"

namespace rq::metrics {

// Label pairs in the order they are written, e.g. {{"endpoint", "execute"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

// Buckets for request and I/O latencies, in seconds: 100 us to 10 s.
const std::vector<double>& LatencyBuckets();

// A cumulative histogram over fixed upper bounds, plus the +Inf bucket.
class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  void Observe(double value);
  void Clear();  // tests

  struct Reading {
    std::vector<double> upper_bounds;
    std::vector<uint64_t> cumulative;  // one per bound, then +Inf (== count)
    uint64_t count = 0;
    double sum = 0;
  };
  // Buckets, count and sum read one after the other: a reading taken while
  // others observe is off by the observations in flight, never torn.
  Reading Read() const;

 private:
  std::vector<double> upper_bounds_;
  std::unique_ptr<std::atomic<uint64_t>[]> buckets_;  // per bound, then +Inf
  std::atomic<uint64_t> count_{0};
  std::atomic<double> sum_{0};
};

// Where a scrape's values go: the Prometheus text (TextWriter) or an OTLP
// request (node/otlp_exporter.h). A family's samples arrive one after another.
class Sink {
 public:
  virtual ~Sink() = default;
  virtual void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
  virtual void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) = 0;
  virtual void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                         const Histogram::Reading& reading) = 0;
};

// Writes the text format. Each family's HELP and TYPE lines come once,
// before its first sample.
class TextWriter final : public Sink {
 public:
  void Counter(std::string_view name, std::string_view help, const Labels& labels, double value) override;
  void Gauge(std::string_view name, std::string_view help, const Labels& labels, double value) override;
  void Histogram(std::string_view name, std::string_view help, const Labels& labels,
                 const Histogram::Reading& reading) override;
  const std::string& text() const { return out_; }

 private:
  void Family(std::string_view name, std::string_view help, std::string_view type);
  void Sample(std::string_view name, std::string_view suffix, const Labels& labels, double value,
              const std::pair<std::string, std::string>* extra = nullptr);

  std::string out_;
  std::string last_family_;
};

// The registered families. One process-wide instance serves /metrics.
class Exposition {
 public:
  Exposition() = default;
  Exposition(const Exposition&) = delete;
  Exposition& operator=(const Exposition&) = delete;

  static Exposition& Default();

  // The series of family `name` with these labels, created at 0. A family
  // keeps the help text and kind of its first registration.
  // REQUIRES: `name` and the label names match [a-zA-Z_][a-zA-Z0-9_]*, and
  // a name is used for one kind only.
  metrics::Counter& Counter(std::string_view name, std::string_view help, const Labels& labels = {});
  // A value that goes up and down (Set, or Add with a negative delta).
  metrics::Counter& Gauge(std::string_view name, std::string_view help, const Labels& labels = {});
  metrics::Histogram& Histogram(std::string_view name, std::string_view help, const Labels& labels = {},
                                const std::vector<double>& upper_bounds = LatencyBuckets());

  // Every family, sorted by name, its series sorted by labels.
  void WriteTo(Sink& writer) const;
  // Counters and histograms back to empty, series kept (tests).
  void Reset();

 private:
  enum class Kind { kCounter, kGauge, kHistogram };
  struct Family {
    std::string help;
    Kind kind = Kind::kCounter;
    std::map<Labels, std::unique_ptr<metrics::Counter>> values;  // counters and gauges
    std::map<Labels, std::unique_ptr<metrics::Histogram>> histograms;
  };
  Family& FamilyFor(std::string_view name, std::string_view help, Kind kind);
  metrics::Counter& Value(std::string_view name, std::string_view help, const Labels& labels, Kind kind);

  mutable std::mutex mutex_;
  std::map<std::string, Family, std::less<>> families_;  // GUARDED_BY(mutex_)
};

// Whether `name` is a valid metric or label name.
bool IsValidName(std::string_view name);

}  // namespace rq::metrics
