// env::Clock: where time comes from, so that tests and the simulator can
// drive it by hand. Monotonic time (steady) measures intervals and deadlines;
// wall time (system) is only for timestamps shown to people.
//
// RealClock reads the OS clocks. ManualClock only moves when told to.
// Thread-safety: both implementations are safe to use from any thread.
#pragma once

#include <chrono>
#include <mutex>

namespace rq::env {

class Clock {
 public:
  virtual ~Clock() = default;
  virtual std::chrono::steady_clock::time_point Now() const = 0;
  virtual std::chrono::system_clock::time_point WallNow() const = 0;
};

class RealClock final : public Clock {
 public:
  std::chrono::steady_clock::time_point Now() const override { return std::chrono::steady_clock::now(); }
  std::chrono::system_clock::time_point WallNow() const override { return std::chrono::system_clock::now(); }
};

// The process-wide real clock.
Clock* DefaultClock();

// Starts at the given points (by default the clocks' epochs) and moves only
// through Advance / SetWall.
class ManualClock final : public Clock {
 public:
  ManualClock() = default;
  ManualClock(std::chrono::steady_clock::time_point now, std::chrono::system_clock::time_point wall)
      : now_(now), wall_(wall) {}

  std::chrono::steady_clock::time_point Now() const override {
    std::lock_guard lock(mu_);
    return now_;
  }
  std::chrono::system_clock::time_point WallNow() const override {
    std::lock_guard lock(mu_);
    return wall_;
  }
  // Moves both clocks forward. REQUIRES: delta >= 0 (monotonic time never goes back).
  void Advance(std::chrono::nanoseconds delta);
  // Wall time may jump either way, like an NTP step.
  void SetWall(std::chrono::system_clock::time_point wall) {
    std::lock_guard lock(mu_);
    wall_ = wall;
  }

 private:
  mutable std::mutex mu_;
  std::chrono::steady_clock::time_point now_{};
  std::chrono::system_clock::time_point wall_{};
};

}  // namespace rq::env
