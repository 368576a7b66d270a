// metrics: named counters grouped into maps, rqlite's expvar maps ("store",
// "db", "http", ...) that /debug/vars shows. Anyone may count; this module
// depends on base/ only (DESIGN.md 2).
//
// A counter lives as long as its registry and never moves, so the hot path
// caches a reference once (a module's metrics struct, or a static local) and
// then pays one relaxed atomic add per event. Modules declare their keys in
// one struct built from a Group (see store/store_metrics.h): building the
// struct registers every key at 0, as rqlite's ResetStats does, so the keys
// appear before anything happened.
//
// Thread-safety: everything is safe from any thread. Counter operations are
// relaxed atomics: a Read() taken while others count sees each counter at
// some recent value, not one instant across counters.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

namespace rq::metrics {

// A counter (Add) or a gauge holding the latest value (Set), like one key of
// a Go expvar.Map.
class Counter {
 public:
  void Add(int64_t delta = 1) { value_.fetch_add(delta, std::memory_order_relaxed); }
  void Set(int64_t value) { value_.store(value, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

// Every group's counters, by group then key (sorted, as Go's JSON is).
using Values = std::map<std::string, std::map<std::string, int64_t>, std::less<>>;

class Registry {
 public:
  Registry() = default;
  Registry(const Registry&) = delete;
  Registry& operator=(const Registry&) = delete;

  // The process-wide registry that /debug/vars shows (rqlite's expvar maps
  // are process-wide too).
  static Registry& Default();
  // Default().Find(group, key).
  static Counter& Get(std::string_view group, std::string_view key) { return Default().Find(group, key); }

  // The counter `key` of map `group`, created at 0 on first use. The
  // reference stays valid as long as the registry.
  Counter& Find(std::string_view group, std::string_view key);
  // Every counter's current value.
  Values Read() const;
  // Every counter back to 0, keys kept (tests).
  void Reset();

 private:
  mutable std::mutex mutex_;
  // unique_ptr: a counter's address survives the map growing.
  std::map<std::string, std::map<std::string, std::unique_ptr<Counter>, std::less<>>, std::less<>>
      groups_;  // GUARDED_BY(mutex_)
};

// One map of a registry, for declaring a module's keys:
//   struct QueueMetrics {
//     metrics::Group group{"queue"};
//     metrics::Counter& objects_rx = group.Key("objects_rx");
//   };
class Group {
 public:
  explicit Group(std::string name, Registry& registry = Registry::Default())
      : name_(std::move(name)), registry_(&registry) {}
  Counter& Key(std::string_view key) { return registry_->Find(name_, key); }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
  Registry* registry_;
};

}  // namespace rq::metrics
