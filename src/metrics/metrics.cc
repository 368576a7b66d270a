#include "metrics/metrics.h"

namespace rq::metrics {

Registry& Registry::Default() {
  // Never destroyed: threads still counting during exit must not touch a
  // destroyed map.
  static Registry* registry = new Registry();
  return *registry;
}

Counter& Registry::Find(std::string_view group, std::string_view key) {
  std::lock_guard lock(mutex_);
  auto group_it = groups_.find(group);
  if (group_it == groups_.end()) group_it = groups_.emplace(std::string(group), decltype(groups_)::mapped_type()).first;
  auto& counters = group_it->second;
  auto it = counters.find(key);
  if (it == counters.end()) it = counters.emplace(std::string(key), std::make_unique<Counter>()).first;
  return *it->second;
}

Values Registry::Read() const {
  Values values;
  std::lock_guard lock(mutex_);
  for (const auto& [group, counters] : groups_) {
    auto& out = values[group];
    for (const auto& [key, counter] : counters) out.emplace(key, counter->value());
  }
  return values;
}

void Registry::Reset() {
  std::lock_guard lock(mutex_);
  for (auto& [group, counters] : groups_) {
    for (auto& [key, counter] : counters) counter->Set(0);
  }
}

}  // namespace rq::metrics
