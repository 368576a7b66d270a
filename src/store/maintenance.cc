#include "store/maintenance.h"

#include <sstream>

namespace rq::store {
namespace {

int64_t ToMillis(MaintenanceSchedule::Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

MaintenanceSchedule::Clock::time_point FromMillis(int64_t ms) {
  return MaintenanceSchedule::Clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

const char* MaintenanceSql(MaintenanceTask task) {
  return task == MaintenanceTask::kVacuum ? "VACUUM" : "PRAGMA optimize";
}

Result<MaintenanceSchedule> MaintenanceSchedule::Load(env::FileSystem* fs, std::string path,
                                                      std::chrono::milliseconds vacuum_interval,
                                                      std::chrono::milliseconds optimize_interval,
                                                      Clock::time_point now) {
  MaintenanceSchedule schedule;
  schedule.fs_ = fs;
  schedule.path_ = std::move(path);
  schedule.vacuum_.interval = vacuum_interval;
  schedule.optimize_.interval = optimize_interval;
  bool have_vacuum = false;
  bool have_optimize = false;
  Result<std::string> text = fs->ReadFile(schedule.path_);
  if (text.ok()) {
    std::istringstream lines(*text);
    std::string name;
    int64_t ms = 0;
    while (lines >> name >> ms) {
      if (name == "vacuum") {
        schedule.vacuum_.last = FromMillis(ms);
        have_vacuum = true;
      } else if (name == "optimize") {
        schedule.optimize_.last = FromMillis(ms);
        have_optimize = true;
      }
    }
  } else if (!text.status().IsNotFound()) {
    return text.status();
  }
  if (have_vacuum && have_optimize) return schedule;
  if (!have_vacuum) schedule.vacuum_.last = now;
  if (!have_optimize) schedule.optimize_.last = now;
  RQ_RETURN_IF_ERROR(schedule.Save());
  return schedule;
}

std::vector<MaintenanceTask> MaintenanceSchedule::Due(Clock::time_point now) const {
  std::vector<MaintenanceTask> due;
  const auto is_due = [&](const Entry& e) { return e.interval.count() > 0 && now - e.last >= e.interval; };
  if (is_due(vacuum_)) due.push_back(MaintenanceTask::kVacuum);
  if (is_due(optimize_)) due.push_back(MaintenanceTask::kOptimize);
  return due;
}

Status MaintenanceSchedule::Record(MaintenanceTask task, Clock::time_point when) {
  (task == MaintenanceTask::kVacuum ? vacuum_ : optimize_).last = when;
  return Save();
}

std::optional<MaintenanceSchedule::Clock::time_point> MaintenanceSchedule::last(MaintenanceTask task) const {
  return (task == MaintenanceTask::kVacuum ? vacuum_ : optimize_).last;
}

Status MaintenanceSchedule::Save() const {
  std::ostringstream text;
  text << "vacuum " << ToMillis(vacuum_.last) << "\noptimize " << ToMillis(optimize_.last) << "\n";
  return fs_->WriteFileAtomic(path_, text.str());
}

}  // namespace rq::store
