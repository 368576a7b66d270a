// Automatic VACUUM and PRAGMA optimize (-auto-vacuum-int, -auto-optimize-int),
// as rqlite runs them: on every node, on its own copy, between entries on the
// apply thread, when the interval has passed since the last run. The times
// survive restarts in raft/maintenance (text: "vacuum <unix ms>" and
// "optimize <unix ms>" lines); a node that has none starts counting now, so
// a new node does not VACUUM at once. Neither changes what the database
// holds, only how it is laid out and what the planner knows, so replicas
// may run them at different moments.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "env/file_system.h"

namespace rq::store {

enum class MaintenanceTask { kVacuum, kOptimize };

class MaintenanceSchedule {
 public:
  using Clock = std::chrono::system_clock;

  // Zero intervals turn a task off. Reads `path` (creating it with `now` as
  // the base time of every task it lacks).
  static Result<MaintenanceSchedule> Load(env::FileSystem* fs, std::string path,
                                          std::chrono::milliseconds vacuum_interval,
                                          std::chrono::milliseconds optimize_interval, Clock::time_point now);

  // The tasks whose interval has passed, VACUUM first.
  std::vector<MaintenanceTask> Due(Clock::time_point now) const;
  // A run finished (or failed: it is not retried before the next interval).
  Status Record(MaintenanceTask task, Clock::time_point when);
  std::optional<Clock::time_point> last(MaintenanceTask task) const;

 private:
  struct Entry {
    std::chrono::milliseconds interval{0};
    Clock::time_point last{};
  };
  Status Save() const;

  env::FileSystem* fs_ = nullptr;
  std::string path_;
  Entry vacuum_;
  Entry optimize_;
};

// "VACUUM" or "PRAGMA optimize".
const char* MaintenanceSql(MaintenanceTask task);

}  // namespace rq::store
